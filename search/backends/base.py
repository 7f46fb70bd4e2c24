"""The contract every search backend implements.

A backend stores chunks and answers two ranked retrievals, lexical (BM25) and
vector (cosine), each under the same filters, plus facet counts. Fusion,
grouping chunks into pages, snippets and demotion are GovKM's own
(``search/service.py``) so that every backend ranks the same way.
"""

import dataclasses

import numpy as np

from ..embeddings.base import options_dataclass

SITE_NAMESPACE = "site"
FACET_FIELDS = ("content_type", "topics", "units", "status", "audience", "freshness")


class PrimaryWriteFailed(Exception):
    """A backend with a local fallback wrote the fallback copy but not its
    primary engine. The caller commits the fallback write and retries later."""


@dataclasses.dataclass
class ChunkRecord:
    """One chunk as handed to a backend for indexing."""

    page_id: int
    position: int
    title: str
    heading: str
    text: str
    summary: str
    content_hash: str
    model_id: str
    vector: np.ndarray
    metadata: dict  # content_type, topics, units, status, audience, freshness, access, ...

    @property
    def chunk_id(self):
        return f"{self.page_id}:{self.position}"


@dataclasses.dataclass
class Filters:
    """Restrictions applied inside every retrieval. ``access`` is required:
    a chunk matches only if it carries at least one of these tokens."""

    access: list
    content_type: list = dataclasses.field(default_factory=list)
    topics: list = dataclasses.field(default_factory=list)
    units: list = dataclasses.field(default_factory=list)
    status: list = dataclasses.field(default_factory=list)
    audience: list = dataclasses.field(default_factory=list)
    freshness: list = dataclasses.field(default_factory=list)
    exclude_pages: list = dataclasses.field(default_factory=list)

    def terms(self):
        """(field, values) for each active filter, access first."""
        out = [("access", list(self.access))]
        for name in FACET_FIELDS:
            values = getattr(self, name)
            if values:
                out.append((name, list(values)))
        return out


@dataclasses.dataclass
class Hit:
    page_id: int
    position: int
    score: float
    title: str = ""
    heading: str = ""
    text: str = ""
    highlight: str | None = None  # marked with analysis.MARK_START/END
    metadata: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class BackendResult:
    lexical: list
    vector: list
    facets: dict  # field -> {value: distinct page count}
    total_pages: int
    notice: str = ""


class SearchBackend:
    """Base class. Subclasses set ``options_class`` and implement the methods."""

    options_class = None

    def __init__(self, alias, options):
        self.alias = alias
        self.options = (
            options_dataclass(self.options_class, options, f"KM_SEARCH_BACKENDS[{alias!r}] OPTIONS")
            if self.options_class
            else None
        )

    # --- writing -----------------------------------------------------------
    def index_page(self, namespace, page_id, chunks):
        """Replace every chunk of ``page_id`` with ``chunks`` (atomically)."""
        raise NotImplementedError

    def delete_page(self, namespace, page_id):
        raise NotImplementedError

    def existing_vectors(self, namespace, content_hashes):
        """{content_hash: vector} already stored, so unchanged chunks are not re-embedded."""
        return {}

    def page_vector(self, namespace, page_id):
        """The page's mean chunk vector (normalised), or None if not indexed."""
        raise NotImplementedError

    # --- whole-namespace lifecycle ----------------------------------------
    def start_rebuild(self, namespace):
        """Begin building a fresh copy of ``namespace``; returns a handle
        (a namespace name) to write into while searches still read the old."""
        raise NotImplementedError

    def finish_rebuild(self, namespace, handle):
        """Atomically make the rebuilt copy the live one."""
        raise NotImplementedError

    def drop_namespace(self, namespace):
        raise NotImplementedError

    def count(self, namespace):
        """(pages, chunks) in the namespace."""
        raise NotImplementedError

    # --- reading -----------------------------------------------------------
    def search(self, namespace, *, text, terms, vector, filters, mode, limit, with_facets=True):
        """Lexical hits for ``text`` (already synonym-expanded ``terms`` given
        for engines that analyse themselves), vector hits for ``vector``;
        ``mode`` says which sides run. Facets count distinct pages matched."""
        raise NotImplementedError

    def synonyms_changed(self):
        """Called (from a task) after administrators edit synonyms. Engines
        that analyse text themselves reload them; the embedded backend reads
        synonyms per query and needs nothing."""

    def health(self):
        return {"status": "green", "detail": ""}
