"""The backend contract against the embedded backend (database + in-memory)."""

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from search.backends.local import LocalOptions, LocalSearchBackend

from .contract import BackendContract

pytestmark = pytest.mark.django_db


class TestLocalBackend(BackendContract):
    def make_backend(self):
        return LocalSearchBackend("local-test", {})


def test_a_second_process_sees_writes_without_restart():
    """Two backend objects stand for the web process and the worker."""
    from .contract import record

    worker, web = LocalSearchBackend("w", {}), LocalSearchBackend("web", {})
    worker.index_page("ns", 1, [record(1, 0, "first wording")])
    assert web.count("ns") == (1, 1)
    first = web.search("ns", text="wording", terms=["word"], vector=None, filters=_f(), mode="lexical", limit=10)
    assert [h.page_id for h in first.lexical] == [1]
    worker.index_page("ns", 2, [record(2, 0, "second wording")])
    worker.delete_page("ns", 1)
    after = web.search("ns", text="wording", terms=["word"], vector=None, filters=_f(), mode="lexical", limit=10)
    assert [h.page_id for h in after.lexical] == [2]


def test_vector_dimension_mismatch_is_refused():
    import numpy as np

    from search.backends.local import LocalVectorIndex

    index = LocalVectorIndex()
    index.add(np.ones((2, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="dimension"):
        index.add(np.ones((1, 4), dtype=np.float32))


def test_options_are_typed():
    backend = LocalSearchBackend("x", {"BM25_K1": 1.5, "MIN_SIMILARITY": 0.3})
    assert backend.options == LocalOptions(bm25_k1=1.5, min_similarity=0.3)


def _f():
    from search.backends.base import Filters

    return Filters(access=["public"])


@given(
    st.lists(st.tuples(st.integers(1, 6), st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=3),
                       st.sampled_from(["policy", "procedure", "lesson"])), min_size=1, max_size=25),
    st.sets(st.integers(1, 6)), st.data(),
)
@hsettings(max_examples=60, deadline=None)
def test_facet_counts_are_the_distinct_pages_holding_each_value(chunks, removed, data):
    """The in-memory copy counts facet values for all values of a field at
    once; held here to a count made page by page, with pages re-indexed or
    removed (their old rows stay in the arrays, dead) and any set of matching rows."""
    import numpy as np

    from search.backends.base import FACET_FIELDS
    from search.backends.local import LocalNamespaceIndex

    index = LocalNamespaceIndex(LocalOptions())
    for position, (page, topics, content_type) in enumerate(chunks):
        index.remove_page(page) if position % 4 == 3 else None  # now and then a page is indexed again
        index.add_chunk(page, position, "t", "", "x", np.ones(4, dtype=np.float32),
                        {"topics": topics, "content_type": content_type, "access": ["public"]}, ["x"])
    for page in removed:
        index.remove_page(page)
    alive = np.flatnonzero(index.alive[: index.size]).tolist()
    matched = np.zeros(index.size, dtype=bool)
    matched[sorted(data.draw(st.sets(st.sampled_from(alive)) if alive else st.just(set()), label="matched"))] = True
    facets, total = index.facets(matched)

    first_row = {}  # a page's metadata: the first matching row's
    for row in np.flatnonzero(matched).tolist():
        first_row.setdefault(index.page_ids[row], index.rows[row][4])
    assert total == len(first_row)
    for field in FACET_FIELDS:
        expected = {}
        for meta in first_row.values():
            held = meta.get(field)
            for value in held if isinstance(held, list) else ([held] if held is not None else []):
                expected[value] = expected.get(value, 0) + 1
        assert facets[field] == expected
