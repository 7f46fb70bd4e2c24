"""The search service: the only entry point for views, the API and tools.

It takes a validated request (``search_request.parse_request``), expands
synonyms, embeds the query, asks the backend for lexical and vector hits
under the viewer's access filter, ranks them as pages by the rules of
``ranking.py`` (calibration, fusion, trust), brings in the successor of old
guidance shown without it (``successors.py``), and builds escaped snippets.
"""

import dataclasses
import functools
import math
import time

from django.core.cache import cache

from knowledge.access import user_tokens

from . import ranking, successors
from .analysis import MARK_START, SynonymMap, highlight, render_marked
from .backends import get_search_backend
from .backends.base import FACET_FIELDS, SITE_NAMESPACE, Filters
from .conf import search_setting
from .embeddings import get_embedder
from .indexing import query_terms
from .ranking import rrf
from .search_request import (  # re-exported: callers import the request rules from here
    CHOICES,
    FILTER_PARAMS,
    MAX_PAGE,
    MAX_QUERY_CHARS,
    MODES,
    PER_PAGE,
    SearchError,
    SearchRequest,
    normalise_query,
    parse_request,
)

CURRENT_STATUSES = ["current", "in_force"]
SYNONYM_CACHE_KEY = "kmsearch:synonyms:v1"
FACET_LABELS_KEY = "kmsearch:facet-labels"


def conf(name):
    return search_setting(name)


@dataclasses.dataclass
class PageResult:
    page_id: int
    title: str
    url: str
    content_type: str
    unit_name: str
    status: str
    freshness: str
    audience: str
    last_reviewed: str | None
    snippet_html: str
    heading: str
    score: float
    successor_id: int | None = None
    successor: dict | None = None
    revision_id: int | None = None
    topics: list = dataclasses.field(default_factory=list)

    def as_dict(self):
        # Shallow, with copies of the two mutable fields: dataclasses.asdict
        # deep-copies every value, which showed in the API's profile.
        out = {f.name: getattr(self, f.name) for f in _RESULT_FIELDS}
        out["topics"] = list(self.topics)
        out["successor"] = dict(self.successor) if self.successor else self.successor
        return out


_RESULT_FIELDS = dataclasses.fields(PageResult)


@functools.lru_cache(maxsize=8192)
def _highlighted(text, terms):
    """The escaped snippet of a passage for a set of query terms. Keyed by
    the passage's text itself, so an edited passage is never served an old
    snippet, and a passage shown again is not highlighted again."""
    return render_marked(highlight(text, terms))


@dataclasses.dataclass
class SearchResponse:
    request: SearchRequest
    results: list
    total: int
    facets: dict
    num_pages: int
    took_ms: float
    notice: str = ""
    backend: str = ""
    best_similarity: float | None = None
    # for the answer card (search/answers.py): the query's vector and the
    # matched passages of the pages shown, all under the viewer's filter
    query_vector: object = None
    passages: list = dataclasses.field(default_factory=list)


_synonym_map = [None, None]  # (groups, SynonymMap built from them) last used in this process


def load_synonyms():
    groups = cache.get(SYNONYM_CACHE_KEY)
    if groups is None:
        from .models import Synonym

        groups = [s.term_list() for s in Synonym.objects.all()]
        cache.set(SYNONYM_CACHE_KEY, groups, 300)
    # Building the map analyses every term; the groups rarely change, so
    # the map built for the same groups is reused (compared by value).
    known, built = _synonym_map
    if built is None or known != groups:
        built = SynonymMap(groups)
        _synonym_map[:] = [groups, built]
    return built


def _page_ranking(hits):
    """Pages in the order of their best chunk; the first chunk seen is kept."""
    best = {}
    for h in hits:
        best.setdefault(h.page_id, h)
    return list(best), best


class SearchService:
    def __init__(self, backend=None, embedder=None, namespace=SITE_NAMESPACE):
        self.backend = backend or get_search_backend()
        self.embedder = embedder
        self.namespace = namespace

    def _embedder(self):
        if self.embedder is None:
            self.embedder = get_embedder()
        return self.embedder

    def filters_for(self, user, request):
        filters = Filters(access=sorted(user_tokens(user)), **request.filters)
        if request.current_only:
            # current guidance: not superseded, rescinded or draft; stale pages
            # stay (demoted), since they may still be the rule in force
            filters.status = [s for s in (filters.status or CURRENT_STATUSES) if s in CURRENT_STATUSES] or ["none"]
        return filters

    def search(self, request, user=None, *, access=None, limit=None):
        started = time.perf_counter()
        synonyms = load_synonyms()
        terms = query_terms(request.q, synonyms)
        filters = self.filters_for(user, request) if access is None else Filters(access=access, **request.filters)
        candidates = limit or conf("CANDIDATES")
        expanded = synonyms.expand_query(request.q) if request.mode in ("semantic", "hybrid") else ""
        return self._search_afresh(request, filters, terms, expanded, candidates, started)

    def _search_afresh(self, request, filters, terms, expanded, candidates, started):
        """Rank ``request`` against the index."""
        vector = None
        if request.mode in ("semantic", "hybrid"):
            vector = self._embedder().embed_query(expanded)
        result = self.backend.search(
            self.namespace,
            text=request.q,
            terms=terms,
            vector=vector,
            filters=filters,
            mode=request.mode,
            limit=candidates,
        )
        min_sim = conf("MIN_SIMILARITY")
        vector_hits = [h for h in result.vector if h.score >= min_sim]
        entries = self._rank(request.mode, result.lexical, vector_hits, request.q)
        successors.bring_in_successors(entries, filters)
        total = len(entries)
        num_pages = max(1, math.ceil(total / request.per_page))
        if request.page > num_pages and total:
            raise SearchError(f"Page {request.page} is out of range; there are {num_pages}.", "page")
        start = (request.page - 1) * request.per_page
        shown = [
            self._page_result(c.page_id, c.score, c.hit, snippet_html=self._snippet(c.hit, terms))
            for c in entries[start : start + request.per_page]
        ]
        best_similarity = max((h.score for h in result.vector), default=None)
        successors.attach_successor_links(shown, filters.access)
        shown_ids = {r.page_id for r in shown}
        return SearchResponse(
            request=request,
            results=shown,
            total=total,
            facets=result.facets,
            num_pages=num_pages,
            took_ms=(time.perf_counter() - started) * 1000,
            notice=result.notice,
            backend=self.backend.alias,
            best_similarity=best_similarity,
            query_vector=vector,
            passages=[h for h in (*result.lexical, *vector_hits) if h.page_id in shown_ids],
        )

    @staticmethod
    def _snippet(hit, terms):
        marked = hit.highlight
        if marked and MARK_START in marked:
            return render_marked(marked)
        return _highlighted(hit.text, tuple(sorted(set(terms))))

    def _page_result(self, page_id, score, hit, snippet_html=""):
        meta = hit.metadata
        return PageResult(
            page_id=page_id,
            title=hit.title,
            url=meta.get("url", ""),
            content_type=meta.get("content_type", ""),
            unit_name=meta.get("unit_name", ""),
            status=meta.get("status", ""),
            freshness=meta.get("freshness", ""),
            audience=meta.get("audience", ""),
            last_reviewed=meta.get("last_reviewed"),
            snippet_html=snippet_html,
            heading=hit.heading,
            score=score,
            successor_id=meta.get("successor_id"),
            revision_id=meta.get("revision_id"),
            topics=meta.get("topics", []),
        )

    @staticmethod
    def _rank(mode, lexical_hits, vector_hits, query):
        """Pages ranked by the rules of ``search/ranking.py``, as Candidates."""
        decay = conf("AGGREGATE_DECAY")
        lex_scores, lex_best = ranking.page_scores(lexical_hits, decay.get("lexical", 0.0))
        vec_scores, vec_best = ranking.page_scores(vector_hits, decay.get("semantic", 0.0))
        method = conf("CALIBRATION")
        lexical = ranking.calibrated(lex_scores, method.get("lexical", "max"))
        semantic = ranking.calibrated(vec_scores, method.get("semantic", "max"), conf("MIN_SIMILARITY"))
        fused, relevance = ranking.fuse(
            mode, lexical, semantic, fusion=conf("FUSION"),
            weights=(conf("LEXICAL_WEIGHT"), conf("SEMANTIC_WEIGHT")), k=conf("RRF_K"),
            adaptive=conf("ADAPTIVE_WEIGHTS"),
        )
        # the passage shown: the best lexical match (it holds the words
        # asked for), else the closest in meaning
        candidates = [
            ranking.Candidate(page_id, lex_best.get(page_id) or vec_best.get(page_id), relevance=relevance[page_id],
                              score=score)
            for page_id, score in fused.items()
        ]
        return ranking.rank(candidates, conf("TRUST_MARGIN"), conf("OLD_ASKED_WITHIN"), query, conf("TYPE_MARGIN"))

    def related(self, page, user, limit=5):
        """Pages closest in meaning to ``page`` that ``user`` may view."""
        filters = Filters(access=sorted(user_tokens(user)), exclude_pages=[page.pk])
        vector = self.backend.page_vector(self.namespace, page.pk)
        if vector is None:
            return []
        result = self.backend.search(
            self.namespace, text="", terms=[], vector=vector, filters=filters, mode="semantic",
            limit=limit * 8, with_facets=False,
        )
        order, best = _page_ranking(result.vector)
        return [self._page_result(pid, best[pid].score, best[pid]) for pid in order[:limit]]

def facet_labels():
    """Human labels for facet values (topics and units by slug), cached for a minute."""
    labels = cache.get(FACET_LABELS_KEY)
    if labels is None:
        labels = _facet_labels()
        cache.set(FACET_LABELS_KEY, labels, 60)
    return labels


def _facet_labels():
    from knowledge.models import OrgUnit, Topic

    return {
        "topics": dict(Topic.objects.values_list("slug", "name")),
        "units": dict(OrgUnit.objects.values_list("slug", "name")),
        "content_type": {"policy": "Policies", "procedure": "Procedures", "lesson": "Lessons learned"},
        "status": {"current": "Current", "in_force": "In force", "superseded": "Superseded", "rescinded": "Rescinded", "draft": "Draft"},
        "audience": {"public": "Public", "internal": "Internal", "restricted": "Restricted"},
        "freshness": {"fresh": "Up to date", "due_soon": "Review due soon", "overdue": "Overdue for review",
                      "needs_review": "Needs review", "superseded": "Superseded", "rescinded": "Rescinded"},
    }


__all__ = [
    "CHOICES", "FACET_FIELDS", "FILTER_PARAMS", "MAX_PAGE", "MAX_QUERY_CHARS", "MODES", "PER_PAGE", "SearchError",
    "SearchRequest", "SearchService", "normalise_query", "parse_request", "rrf",
]
