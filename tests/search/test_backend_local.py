"""The backend contract against the embedded backend (database + in-memory)."""

import pytest

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
