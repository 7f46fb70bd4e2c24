"""Request bodies, built with the DSL that ships inside the client.

Every retrieval carries the same filter clauses: the ``bool.filter`` of the
lexical query and the ``filter`` of the kNN search (pre-filtering, so the
nearest neighbours are searched among permitted chunks only). GovKM fuses
the two rankings itself; no retrievers or server-side RRF are used.
"""

from elasticsearch.dsl import MultiSearch, Q, Search

from ...analysis import MARK_END, MARK_START
from ..base import FACET_FIELDS
from .mapping import TEXT_FIELDS, VECTOR_FIELD

#: below this many distinct pages a cardinality count is exact
PAGE_COUNT_PRECISION = 3000
HIGHLIGHT_CHARS = 300
#: chunks read back to average a page's vector
MAX_CHUNKS_PER_PAGE = 2000


class ElasticsearchQueryCompiler:
    def __init__(self, options):
        self.options = options

    # --- shared pieces -----------------------------------------------------
    @staticmethod
    def filter_clauses(filters):
        """One clause per active restriction, ``access`` always first."""
        clauses = [Q("terms", **{field: list(values)}) for field, values in filters.terms()]
        if filters.exclude_pages:
            clauses.append(Q("bool", must_not=[Q("terms", page_id=[str(p) for p in filters.exclude_pages])]))
        return clauses

    @staticmethod
    def lexical_query(text, clauses):
        fields = [name if boost == 1.0 else f"{name}^{boost:g}" for name, boost in TEXT_FIELDS.items()]
        return Q("bool", must=[Q("multi_match", query=text, fields=fields)], filter=clauses)

    def _knn(self, search, vector, clauses, limit, **extra):
        k = max(1, int(limit))
        return search.knn(
            VECTOR_FIELD,
            k=k,
            num_candidates=min(10_000, max(k, int(self.options.num_candidates))),
            query_vector=[float(x) for x in vector],
            filter=[c.to_dict() for c in clauses],
            **extra,
        )

    # --- the three searches of one query -----------------------------------
    def lexical(self, text, clauses, limit):
        s = Search().query(self.lexical_query(text, clauses))
        s = s.sort("_score", {"page_id": "asc"}, {"position": "asc"})  # ties broken the same way every time
        s = s.highlight_options(
            pre_tags=[MARK_START], post_tags=[MARK_END], number_of_fragments=1, fragment_size=HIGHLIGHT_CHARS
        ).highlight("text")
        return s.source(excludes=[VECTOR_FIELD]).extra(size=int(limit), track_scores=True, track_total_hits=False)

    def vector(self, vector, clauses, limit):
        s = self._knn(Search(), vector, clauses, limit)
        return s.source(excludes=[VECTOR_FIELD]).extra(size=int(limit), track_total_hits=False)

    def facets(self, text, vector, clauses, limit):
        """Distinct pages per facet value over lexical matches plus kNN hits
        (Elasticsearch aggregates over the union of ``query`` and ``knn``)."""
        s = Search().extra(size=0, track_total_hits=False)
        if text:
            s = s.query(self.lexical_query(text, clauses))
        if vector is not None:
            s = self._knn(s, vector, clauses, limit, similarity=float(self.options.min_similarity))
        for field in FACET_FIELDS:
            s.aggs.bucket(field, "terms", field=field, size=int(self.options.facet_size)).metric(
                "pages", "cardinality", field="page_id", precision_threshold=PAGE_COUNT_PRECISION
            )
        s.aggs.metric("pages", "cardinality", field="page_id", precision_threshold=PAGE_COUNT_PRECISION)
        return s

    def msearch(self, *, text, vector, filters, limit, with_facets):
        """(sides, searches) for ``client.msearch``; ``text``/``vector`` is
        None for a side that does not run."""
        clauses = self.filter_clauses(filters)
        ms, sides = MultiSearch(), []
        if text:
            ms, sides = ms.add(self.lexical(text, clauses, limit)), sides + ["lexical"]
        if vector is not None:
            ms, sides = ms.add(self.vector(vector, clauses, limit)), sides + ["vector"]
        if with_facets and sides:
            ms, sides = ms.add(self.facets(text, vector, clauses, limit)), sides + ["facets"]
        return sides, ms.to_dict()

    # --- bookkeeping reads and deletes ---------------------------------------
    @staticmethod
    def page_chunks(page_id):
        s = Search().filter("term", page_id=str(page_id)).source([VECTOR_FIELD])
        return s.extra(size=MAX_CHUNKS_PER_PAGE, track_total_hits=False)

    @staticmethod
    def by_hashes(hashes):
        """One stored chunk per content hash (identical chunks share vectors)."""
        s = Search().filter("terms", content_hash=list(hashes)).source(["content_hash", VECTOR_FIELD])
        return s.extra(size=len(hashes), track_total_hits=False, collapse={"field": "content_hash"})

    @staticmethod
    def count():
        s = Search().extra(size=0, track_total_hits=True)
        s.aggs.metric("pages", "cardinality", field="page_id", precision_threshold=40_000)
        return s

    @staticmethod
    def stale_chunks(page_ids, keep_ids):
        """Chunks of ``page_ids`` other than the ones just written."""
        must_not = [Q("ids", values=list(keep_ids))] if keep_ids else []
        return Q("bool", filter=[Q("terms", page_id=[str(p) for p in page_ids])], must_not=must_not)
