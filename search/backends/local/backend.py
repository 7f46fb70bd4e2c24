"""The embedded backend: tantivy for text, filters and facets, faiss over
memory-mapped vector segments for meaning, one index directory shared by
every process, and the project database as the source of truth.

Every write goes to the ``Chunk`` table (text, metadata and vector of each
chunk) and then to the index; ``search_reindex`` rebuilds the index from
the table without embedding anything again. Namespaces ending in
``~rebuild`` (a rebuild in progress) are written to the table only, and
``finish_rebuild`` builds their index in one pass.
"""

import json
import logging
import threading

import numpy as np
from django.db import transaction

from ...models import Chunk
from ..base import BackendResult, Hit
from ..base import SearchBackend as BaseSearchBackend
from . import lexical
from .build import build_namespace
from .options import LocalOptions
from .store import IndexOutdated, NamespaceReader, NamespaceStore
from .vectors import search_segments

REBUILD_SUFFIX = "~rebuild"
OUTDATED_NOTICE = "The search index is being upgraded, so no results can be shown yet."
logger = logging.getLogger("govkm.search")


class StoredHit(Hit):
    """A hit read from the index, whose stored passage and metadata are
    decoded from JSON when first read: a search ranks hundreds of
    candidates, reads the metadata of each page's best and shows ten."""

    def __init__(self, stored, score):
        self.page_id, self.position = stored["page_id"][0], stored["position"][0]
        self.score, self.highlight = score, None
        self._stored, self._passage, self._metadata = stored, None, None

    def _text(self, i):
        if self._passage is None:
            self._passage = json.loads(self._stored["passage"][0])
        return self._passage[i]

    title = property(lambda self: self._text(0))
    heading = property(lambda self: self._text(1))
    text = property(lambda self: self._text(2))

    @property
    def metadata(self):
        if self._metadata is None:
            self._metadata = json.loads(self._stored["metadata"][0])
        return self._metadata


class LocalSearchBackend(BaseSearchBackend):
    options_class = LocalOptions

    def __init__(self, alias, options):
        super().__init__(alias, options)
        self._stores, self._readers = {}, {}
        self._lock = threading.Lock()

    def store(self, namespace):
        with self._lock:
            store = self._stores.get(namespace)
            if store is None:
                store = self._stores[namespace] = NamespaceStore(self.options.root(), namespace, self.options)
            return store

    def reader(self, namespace):
        store = self.store(namespace)
        with self._lock:
            reader = self._readers.get(namespace)
            if reader is None:
                reader = self._readers[namespace] = NamespaceReader(store)
            return reader

    @staticmethod
    def staging(namespace):
        return namespace.endswith(REBUILD_SUFFIX)

    # --- writing -----------------------------------------------------------
    def index_page(self, namespace, page_id, chunks):
        self.index_many(namespace, {page_id: chunks})

    def index_many(self, namespace, pages):
        """Replace the chunks of several pages: {page_id: [ChunkRecord]}."""
        with transaction.atomic():
            Chunk.objects.filter(namespace=namespace, page_id__in=list(pages)).delete()
            Chunk.objects.bulk_create(
                [
                    Chunk(
                        namespace=namespace, page_id=page_id, position=c.position, title=c.title,
                        heading=c.heading, text=c.text, content_hash=c.content_hash, model_id=c.model_id,
                        vector=np.asarray(c.vector, dtype=np.float32).tobytes(),
                        metadata={**c.metadata, "summary": c.summary},
                    )
                    for page_id, chunks in pages.items()
                    for c in chunks
                ],
                batch_size=500,
            )
        if not self.staging(namespace):
            self.store(namespace).write(pages=pages)

    def delete_page(self, namespace, page_id):
        Chunk.objects.filter(namespace=namespace, page_id=page_id).delete()
        if not self.staging(namespace):
            self.store(namespace).write(deleted=[page_id])

    def existing_vectors(self, namespace, content_hashes):
        rows = Chunk.objects.filter(content_hash__in=list(content_hashes)).values_list("content_hash", "vector")
        return {h: np.frombuffer(bytes(v), dtype=np.float32) for h, v in rows}

    def page_vector(self, namespace, page_id):
        vectors = [np.frombuffer(bytes(v), dtype=np.float32)
                   for v in Chunk.objects.filter(namespace=namespace, page_id=page_id).values_list("vector", flat=True)]
        if not vectors:
            return None
        v = np.mean(vectors, axis=0)
        norm = np.linalg.norm(v)
        return v / norm if norm else None

    # --- whole-namespace lifecycle ----------------------------------------
    def start_rebuild(self, namespace):
        handle = f"{namespace}{REBUILD_SUFFIX}"
        self.drop_namespace(handle)
        return handle

    def finish_rebuild(self, namespace, handle, progress=None, timings=None):
        """Build the rebuilt copy's index in one pass (searches still read
        the old one), then make it live: the table's rows and the index's
        CURRENT pointer change under the namespace's write lock."""
        store = self.store(namespace)
        generation = build_namespace(store, handle, self.options, progress, timings)
        with store.locked():
            with transaction.atomic():
                Chunk.objects.filter(namespace=namespace).delete()
                Chunk.objects.filter(namespace=handle).update(namespace=namespace)
            store.make_current(generation)

    def rebuild_index(self, namespace, progress=None, timings=None):
        """Build ``namespace``'s index again from its rows in the table as
        they are (nothing chunked or embedded), then make it live."""
        store = self.store(namespace)
        generation = build_namespace(store, namespace, self.options, progress, timings)
        with store.locked():
            store.make_current(generation)

    def drop_namespace(self, namespace):
        Chunk.objects.filter(namespace=namespace).delete()
        self.store(namespace).drop()
        with self._lock:
            self._readers.pop(namespace, None)

    def count(self, namespace):
        qs = Chunk.objects.filter(namespace=namespace)
        return qs.values("page_id").distinct().count(), qs.count()

    # --- reading -----------------------------------------------------------
    def search(self, namespace, *, text, terms, vector, filters, mode, limit, with_facets=True):
        try:
            snapshot = self.reader(namespace).snapshot()
        except IndexOutdated as exc:
            logger.error("%s", exc)
            return BackendResult(lexical=[], vector=[], facets={}, total_pages=0, notice=OUTDATED_NOTICE)
        if snapshot is None:
            return BackendResult(lexical=[], vector=[], facets={}, total_pages=0)
        searcher = snapshot.searcher
        lexical_side = mode in ("lexical", "hybrid") and bool(terms)
        lexical_pairs, vector_pairs = [], []
        if lexical_side:
            query = lexical.lexical_query(terms, filters, self.options.field_boosts)
            if query is not None:
                lexical_pairs = searcher.search(query, limit, count=False).hits
        if mode in ("semantic", "hybrid") and vector is not None:
            found = search_segments(snapshot.segments, vector, filters, limit, self.options)
            vector_pairs = self._resolve(searcher, found)
        documents = self._documents(searcher, [a for _s, a in lexical_pairs] + [a for _s, a in vector_pairs])
        lexical_hits = [self._hit(documents, a, s) for s, a in lexical_pairs]
        vector_hits = [self._hit(documents, a, s) for s, a in vector_pairs]
        facets, total = {}, 0
        if with_facets:
            close = {h.page_id for h in vector_hits if h.score >= self.options.min_similarity}
            facets, total = self._facets(snapshot.pages, terms if lexical_side else [], close, filters)
        return BackendResult(lexical=lexical_hits, vector=vector_hits, facets=facets, total_pages=total)

    @staticmethod
    def _resolve(searcher, found):
        """(score, DocAddress) for each (score, uid) the vector side found,
        in its order; a chunk not in this tantivy commit (deleted since
        the vector commit) is left out."""
        if not found:
            return []
        uids = [u for _s, u in found]
        addresses = [a for _s, a in searcher.search(lexical.chunks_by_uid_query(uids), len(uids), count=False).hits]
        by_uid = dict(zip(searcher.fast_field_values("uid", addresses), addresses))
        return [(s, by_uid[u]) for s, u in found if u in by_uid]

    @staticmethod
    def _documents(searcher, addresses):
        out = {}
        for address in addresses:
            key = (address.segment_ord, address.doc)
            if key not in out:
                out[key] = searcher.doc(address).to_dict()
        return out

    @staticmethod
    def _hit(documents, address, score):
        return StoredHit(documents[(address.segment_ord, address.doc)], float(score))

    @staticmethod
    def _facets(searcher, terms, close_pages, filters):
        query = lexical.matched_pages_query(terms, close_pages, filters)
        if query is None:
            return lexical.facet_counts({})
        return lexical.facet_counts(searcher.aggregate(query, lexical.facet_aggregation()))

    def generation(self, namespace):
        """The commit a search of ``namespace`` reads now (0: nothing written)."""
        snapshot = self.reader(namespace).snapshot()
        return snapshot.generation if snapshot else 0

    def health(self):
        """Red when the site's index is missing or in an older format while
        the database holds chunks (after an upgrade: run search_reindex)."""
        from ..base import SITE_NAMESPACE

        where = self.options.root() / SITE_NAMESPACE
        try:
            built = self.reader(SITE_NAMESPACE).snapshot() is not None
        except IndexOutdated as exc:
            return {"status": "red", "detail": str(exc)}
        if not built and Chunk.objects.filter(namespace=SITE_NAMESPACE).exists():
            return {"status": "red", "detail": f"no search index in {where}: run `manage.py search_reindex`"}
        return {"status": "green", "detail": f"embedded index (tantivy + faiss) in {where}"}
