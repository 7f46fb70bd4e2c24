"""The embedded backend's options (``KM_SEARCH_BACKENDS[alias]["OPTIONS"]``)."""

import dataclasses
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

#: the lexical fields of a chunk, each analysed by ``search.analysis.analyse``
TEXT_FIELDS = ("body", "heading", "title", "summary")
#: every lexical field: the four, and ``bag`` (all four in one field, the
#: title twice: BM25 as the hand-written index scored before tantivy)
LEXICAL_FIELDS = (*TEXT_FIELDS, "bag")


def _default_boosts():
    # The ranking before tantivy, reproduced exactly on the shipped collection
    # (nDCG@10 lexical 0.6382, hybrid 0.8331 against 0.6382 and 0.8329);
    # the four fields weighted separately (body, heading, title 2, summary)
    # measured hybrid 0.8274, so they are there to be tuned, not yet used
    # (docs/architecture.md, "The embedded engine").
    return {"bag": 1.0}


@dataclasses.dataclass
class LocalOptions:
    #: the directory holding every namespace's index; empty:
    #: ``settings.KM_SEARCH_INDEX_DIR`` (``var/search-index`` by default)
    path: str = ""
    #: BM25 weight of a match in each lexical field (tantivy's BM25, k1 1.2, b 0.75)
    field_boosts: dict = dataclasses.field(default_factory=_default_boosts)
    #: a vector hit below this cosine similarity does not count as a match for facets and totals
    min_similarity: float = 0.25
    #: a vector segment of at least this many chunks gets an HNSW graph;
    #: smaller ones are searched exactly
    hnsw_min_rows: int = 20_000
    #: HNSW graph degree and the candidate lists used to build and search it
    hnsw_m: int = 16
    hnsw_ef_construction: int = 40
    hnsw_ef_search: int = 256
    #: the graph walk returns this many times the candidates asked for (4:
    #: recall@10 0.989 against 0.970 with 2 at 100k, vector search 4.1 ms
    #: CPU against 2.0; README "Search speed"),
    #: scored again exactly from the float32 vectors (the walk compares
    #: 8-bit codes)
    candidate_factor: float = 4.0
    #: a segment in which the viewer's filter allows fewer chunks than this is
    #: searched exactly over those chunks instead of through its graph (as
    #: Lucene does for selective filters)
    exact_search_below: int = 20_000
    #: small (graph-less) vector segments are merged into one when there are
    #: more than this (0: after every write)
    max_small_segments: int = 8
    #: memory the tantivy writer may buffer before it flushes a segment
    writer_heap_mb: int = 64
    #: seconds a writer waits for another process's write to finish
    lock_timeout: float = 120.0

    def __post_init__(self):
        problems = []
        unknown = sorted(set(self.field_boosts) - set(LEXICAL_FIELDS))
        if unknown:
            problems.append(f"FIELD_BOOSTS names unknown field(s) {', '.join(unknown)}; known: {', '.join(LEXICAL_FIELDS)}")
        if any(float(w) < 0 for w in self.field_boosts.values()):
            problems.append("FIELD_BOOSTS weights must not be negative")
        for name in ("hnsw_min_rows", "hnsw_m", "hnsw_ef_construction", "hnsw_ef_search"):
            if int(getattr(self, name)) < 1:
                problems.append(f"{name.upper()} must be at least 1")
        if float(self.candidate_factor) < 1:
            problems.append("CANDIDATE_FACTOR must be at least 1")
        if int(self.max_small_segments) < 0:
            problems.append("MAX_SMALL_SEGMENTS must not be negative")
        if int(self.writer_heap_mb) < 16:
            problems.append("WRITER_HEAP_MB must be at least 16")
        if problems:
            raise ImproperlyConfigured("Embedded search backend: " + "; ".join(problems))
        self.field_boosts = {f: float(self.field_boosts.get(f, 0.0)) for f in LEXICAL_FIELDS}

    def root(self):
        return Path(self.path or settings.KM_SEARCH_INDEX_DIR)
