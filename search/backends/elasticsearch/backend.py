"""The Elasticsearch 8 backend: the collaborators wired together, writes
mirrored to the fallback backend, and searches answered by that fallback
whenever Elasticsearch cannot answer in time."""

import logging
import threading
import time

from django.core.exceptions import ImproperlyConfigured
from elasticsearch import ApiError, TransportError
from elasticsearch.helpers import streaming_bulk

from ..base import BackendResult, PrimaryWriteFailed
from ..base import SearchBackend as BaseSearchBackend
from .indices import ElasticsearchIndexManager
from .mapping import ElasticsearchMapping
from .options import ElasticsearchOptions, build_client
from .queries import ElasticsearchQueryCompiler
from .results import ElasticsearchIndexingError, ElasticsearchResultParser, ElasticsearchSearchFailed

logger = logging.getLogger("govkm.search")

FAILURES = (TransportError, ApiError, ElasticsearchSearchFailed)
NOTICE = "The main search service is not answering, so these results come from the local copy of the index."


class ElasticsearchUnavailable(Exception):
    """Searches are skipping Elasticsearch for a moment after a failure."""


def _status(exc):
    if isinstance(exc, ApiError):
        return exc.status_code
    return getattr(exc, "status", None)


def _describe(exc):
    status = _status(exc)
    return f"{type(exc).__name__}{f' {status}' if status else ''}: {exc}"


def _is_outage(exc):
    """Unreachable, too slow, overloaded or failing - not a request we got wrong."""
    if isinstance(exc, TransportError | ElasticsearchUnavailable):
        return True
    status = _status(exc) or 0
    return status == 429 or status >= 500


class ElasticsearchSearchBackend(BaseSearchBackend):
    options_class = ElasticsearchOptions
    mapping_class = ElasticsearchMapping
    index_class = ElasticsearchIndexManager
    query_class = ElasticsearchQueryCompiler
    results_class = ElasticsearchResultParser
    notice = NOTICE

    def __init__(self, alias, options, *, client=None, fallback=None):
        super().__init__(alias, options)
        if self.options.fallback == alias:
            raise ImproperlyConfigured(f"KM_SEARCH_BACKENDS[{alias!r}] cannot be its own FALLBACK")
        self.client = client or build_client(self.options)
        self.mapping = self.mapping_class(self.options)
        self.indices = self.index_class(self.client, self.options, self.mapping)
        self.queries = self.query_class(self.options)
        self.results = self.results_class(self.mapping)
        self._fallback = fallback
        self._skip_until = 0.0
        self._lock = threading.Lock()

    @property
    def fallback(self):
        if self._fallback is None:
            from .. import get_search_backend

            self._fallback = get_search_backend(self.options.fallback)
        return self._fallback

    def _writer(self):
        return self.client.options(request_timeout=float(self.options.write_timeout))

    @staticmethod
    def _dimension(pages):
        for chunks in pages.values():
            for chunk in chunks:
                return len(chunk.vector)
        from ...embeddings import get_embedder

        return get_embedder().dimension

    # --- writing: the fallback first, then Elasticsearch (raising on failure)
    def index_page(self, namespace, page_id, chunks):
        self.index_many(namespace, {page_id: chunks})

    def index_many(self, namespace, pages):
        target = self.indices.target(namespace)
        if hasattr(self.fallback, "index_many"):
            self.fallback.index_many(target.fallback_namespace, pages)
        else:
            for page_id, chunks in pages.items():
                self.fallback.index_page(target.fallback_namespace, page_id, chunks)
        try:
            if not target.rebuilding:
                self.indices.ensure(namespace, self._dimension(pages))
            self._bulk(target, pages)
        except Exception as exc:
            self.indices.forget(namespace)  # check the aliases again on the retry
            raise PrimaryWriteFailed(f"Elasticsearch write failed ({exc}); the local copy is up to date") from exc

    def _bulk(self, target, pages):
        chunks = [c for page_chunks in pages.values() for c in page_chunks]
        failures = []
        for ok, item in streaming_bulk(
            self._writer(),
            (self.mapping.action(target.index, c) for c in chunks),
            chunk_size=int(self.options.bulk_chunk_size),
            raise_on_error=False,
            require_alias=not target.rebuilding,
        ):
            if not ok:
                failures.append(item)
        if failures:
            raise ElasticsearchIndexingError(self.results.bulk_error(failures, len(chunks)))
        # Written first, then the page's other chunks removed, so a page is
        # never missing from results while it is being replaced.
        self._delete(target, self.queries.stale_chunks(list(pages), [c.chunk_id for c in chunks]))

    def _delete(self, target, query):
        response = self._writer().options(ignore_status=404).delete_by_query(
            index=target.index,
            query=query.to_dict(),
            conflicts="proceed",
            # live writes become visible at once, and the next rewrite of the
            # page is sure to see every chunk this one left
            refresh=not target.rebuilding,
        )
        problem = self.results.delete_failures(response.body)
        if problem:
            raise ElasticsearchIndexingError(problem)

    def delete_page(self, namespace, page_id):
        target = self.indices.target(namespace)
        self.fallback.delete_page(target.fallback_namespace, page_id)
        try:
            self._delete(target, self.queries.stale_chunks([page_id], []))
        except Exception as exc:
            raise PrimaryWriteFailed(f"Elasticsearch delete failed ({exc}); the local copy is up to date") from exc

    # --- whole-namespace lifecycle ------------------------------------------
    def start_rebuild(self, namespace):
        fallback_handle = self.fallback.start_rebuild(namespace)
        name = self.indices.start_rebuild(namespace, self._dimension({}))
        return f"{name}|{fallback_handle}"

    def finish_rebuild(self, namespace, handle):
        target = self.indices.target(handle)
        if target.namespace != namespace:
            raise ValueError(f"{handle!r} is not a rebuild of namespace {namespace!r}")
        self.fallback.finish_rebuild(namespace, target.fallback_namespace)
        self.indices.finish_rebuild(namespace, target.index)

    def drop_namespace(self, namespace):
        self.fallback.drop_namespace(namespace)
        self.indices.drop(namespace)

    def refresh(self, namespace):
        self.indices.refresh(namespace)

    def update_synonyms(self):
        """Apply the current ``Synonym`` rows to every index; returns the indices changed."""
        return self.indices.update_synonyms()

    def synonyms_changed(self):
        return self.update_synonyms()

    def count(self, namespace):
        response = self.client.options(ignore_status=404).search(
            index=self.indices.target(namespace).read, **self.queries.count().to_dict()
        )
        if response.meta.status == 404:
            return 0, 0
        body = response.body
        return int(body["aggregations"]["pages"]["value"]), int(body["hits"]["total"]["value"])

    # --- reading (the fallback answers when Elasticsearch cannot) -----------
    def _read(self, what, fallback_call):
        """Run ``what()``; on an outage or error answer ``fallback_call()`` instead."""
        try:
            with self._lock:
                if time.monotonic() < self._skip_until:
                    raise ElasticsearchUnavailable("skipping Elasticsearch after a recent failure")
            result = what()
        except (*FAILURES, ElasticsearchUnavailable) as exc:
            if _is_outage(exc):
                if not isinstance(exc, ElasticsearchUnavailable):
                    with self._lock:
                        self._skip_until = time.monotonic() + float(self.options.cool_off)
                    logger.warning("Elasticsearch unavailable, answering from %r: %s", self.options.fallback, _describe(exc))
            else:
                logger.error("Elasticsearch refused a request, answering from %r: %s", self.options.fallback, _describe(exc))
            return fallback_call(), True
        return result, False

    def search(self, namespace, *, text, terms, vector, filters, mode, limit, with_facets=True):
        lexical_text = text.strip() if mode in ("lexical", "hybrid") and text and text.strip() else None
        query_vector = vector if mode in ("semantic", "hybrid") and vector is not None else None

        def from_elasticsearch():
            sides, searches = self.queries.msearch(
                text=lexical_text, vector=query_vector, filters=filters, limit=limit, with_facets=with_facets
            )
            if not sides:
                return BackendResult(lexical=[], vector=[], facets={}, total_pages=0)
            body = self.client.msearch(index=self.indices.read_alias(namespace), searches=searches).body
            found = self.results.responses(body, sides)
            facets, total = self.results.facets(found["facets"]) if "facets" in found else ({}, 0)
            return BackendResult(
                lexical=self.results.hits(found["lexical"], "lexical") if "lexical" in found else [],
                vector=self.results.hits(found["vector"], "vector") if "vector" in found else [],
                facets=facets,
                total_pages=total,
            )

        def from_fallback():
            return self.fallback.search(
                namespace, text=text, terms=terms, vector=vector, filters=filters, mode=mode, limit=limit,
                with_facets=with_facets,
            )

        result, degraded = self._read(from_elasticsearch, from_fallback)
        if degraded:
            result.notice = self.notice
        return result

    def page_vector(self, namespace, page_id):
        def from_elasticsearch():
            response = self.client.search(
                index=self.indices.read_alias(namespace), **self.queries.page_chunks(page_id).to_dict()
            )
            return self.results.mean_vector(self.results.vectors(response.body))

        return self._read(from_elasticsearch, lambda: self.fallback.page_vector(namespace, page_id))[0]

    def existing_vectors(self, namespace, content_hashes):
        hashes = sorted(content_hashes)
        target = self.indices.target(namespace)
        if not hashes:
            return {}

        def from_elasticsearch():
            found = {}
            for start in range(0, len(hashes), 1000):
                s = self.queries.by_hashes(hashes[start : start + 1000])
                response = self.client.search(index=target.read, ignore_unavailable=True, **s.to_dict())
                found.update(self.results.hashed_vectors(response.body))
            return found

        fallback = lambda: self.fallback.existing_vectors(target.fallback_namespace, content_hashes)  # noqa: E731
        return self._read(from_elasticsearch, fallback)[0]

    def health(self):
        """Cluster health; never raises (an unreachable cluster is a status)."""
        try:
            h = self.client.cluster.health().body
        except Exception as exc:  # reported, never raised: health pages must render
            error = _describe(exc)
            return {
                "status": "unreachable",
                "nodes": 0,
                "error": error,
                "detail": f"{error}; searches are answered by the {self.options.fallback!r} backend",
            }
        return {
            "status": h.get("status", "unknown"),
            "nodes": h.get("number_of_nodes", 0),
            "error": "",
            "detail": (
                f"cluster {h.get('cluster_name', '?')}: {h.get('active_shards_percent_as_number', 0):g}% shards "
                f"active, {h.get('unassigned_shards', 0)} unassigned, {h.get('number_of_pending_tasks', 0)} pending tasks"
            ),
        }
