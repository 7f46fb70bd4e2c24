"""The backend contract against the embedded backend (tantivy + faiss)."""

import pytest

from search.backends.local import LocalOptions, LocalSearchBackend

from .contract import BackendContract

pytestmark = pytest.mark.django_db


class TestLocalBackend(BackendContract):
    def make_backend(self):
        return LocalSearchBackend("local-test", {})


class TestLocalBackendWithGraphs(BackendContract):
    """The same contract when every vector segment has an HNSW graph and
    every filter goes through the graph search (none exact): each write
    merges the graph-less segments into one with a graph."""

    def make_backend(self):
        return LocalSearchBackend("local-graph", {"HNSW_MIN_ROWS": 1, "EXACT_SEARCH_BELOW": 1, "MAX_SMALL_SEGMENTS": 1})


def test_options_are_typed_and_unknown_keys_refused():
    from django.core.exceptions import ImproperlyConfigured

    backend = LocalSearchBackend("x", {"FIELD_BOOSTS": {"title": 3, "body": 1}, "MIN_SIMILARITY": 0.3})
    assert backend.options.field_boosts["title"] == 3.0 and backend.options.field_boosts["bag"] == 0.0
    assert backend.options.min_similarity == 0.3
    with pytest.raises(ImproperlyConfigured, match="REFRESH_INTERVAL"):
        LocalSearchBackend("x", {"REFRESH_INTERVAL": 0.1})
    with pytest.raises(ImproperlyConfigured, match="FIELD_BOOSTS names unknown field"):
        LocalSearchBackend("x", {"FIELD_BOOSTS": {"abstract": 1}})


def test_default_weights_score_the_title_twice_in_one_bag():
    """The default ranking is the one before tantivy: body, heading, the
    title twice and the summary as one field."""
    assert LocalOptions().field_boosts == {"body": 0.0, "heading": 0.0, "title": 0.0, "summary": 0.0, "bag": 1.0}


def test_a_vector_of_another_dimension_is_refused():
    import dataclasses

    import numpy as np

    from .contract import record

    backend = LocalSearchBackend("dim", {})
    backend.index_page("ns", 1, [record(1, 0, "sixty-four dimensions")])
    short = dataclasses.replace(record(2, 0, "four"), vector=np.ones(4, dtype=np.float32) / 2)
    with pytest.raises(ValueError, match="dimension"):
        backend.index_page("ns", 2, [short])
    assert [h.page_id for h in _search(backend, "dimensions").lexical] == [1]  # the refused write changed nothing


def test_field_boosts_weigh_each_field():
    """Title, heading, summary and body are separate fields: a weight on
    one moves the pages that match there."""
    import dataclasses

    from .contract import record

    in_title = record(1, 0, "general guidance", title="Asbestos")
    in_body = record(2, 0, "asbestos guidance", title="General")
    in_summary = dataclasses.replace(record(3, 0, "general guidance", title="General"), summary="asbestos")
    for boosts, first in (({"title": 5, "body": 1, "summary": 1}, 1), ({"body": 5, "title": 1, "summary": 1}, 2),
                          ({"summary": 5, "title": 1, "body": 1}, 3)):
        backend = LocalSearchBackend("boost", {"FIELD_BOOSTS": boosts})
        backend.drop_namespace("ns")
        backend.index_many("ns", {1: [in_title], 2: [in_body], 3: [in_summary]})
        assert _search(backend, "asbestos").lexical[0].page_id == first, boosts


def test_a_second_process_sees_writes_without_restart():
    """Two backend objects stand for the web process and the worker."""
    from .contract import record

    worker, web = LocalSearchBackend("w", {}), LocalSearchBackend("web", {})
    worker.index_page("ns", 1, [record(1, 0, "first wording")])
    assert web.count("ns") == (1, 1)
    assert [h.page_id for h in _search(web, "wording").lexical] == [1]
    worker.index_page("ns", 2, [record(2, 0, "second wording")])
    worker.delete_page("ns", 1)
    assert [h.page_id for h in _search(web, "wording").lexical] == [2]
    assert web.generation("ns") == worker.generation("ns") == 3


def _search(backend, text, mode="lexical", namespace="ns"):
    from search.analysis import analyse
    from search.backends.base import Filters

    return backend.search(namespace, text=text, terms=analyse(text), vector=None, filters=Filters(access=["public"]),
                          mode=mode, limit=10)


def test_an_index_in_another_format_is_refused_with_a_notice_until_rebuilt(settings):
    """An index written by other code (a later or earlier format) is not
    read as if it were this one: searches say so, health is red, writes
    fail (the task retries) and search_reindex builds a readable one."""
    import json

    from search.backends.local.backend import OUTDATED_NOTICE
    from search.backends.local.store import IndexOutdated

    from .contract import record

    backend = LocalSearchBackend("fmt", {})
    backend.index_page("site", 1, [record(1, 0, "tide tables")])
    manifest_path = backend.store("site").current() / "vectors" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "format": 99}))
    reader = LocalSearchBackend("fmt-reader", {})
    result = _search(reader, "tide", namespace="site")
    assert result.lexical == [] and result.notice == OUTDATED_NOTICE
    assert reader.health()["status"] == "red" and "search_reindex" in reader.health()["detail"]
    with pytest.raises(IndexOutdated):
        backend.index_page("site", 2, [record(2, 0, "tide gauges")])
    handle = backend.start_rebuild("site")
    backend.index_page(handle, 1, [record(1, 0, "tide tables")])
    backend.finish_rebuild("site", handle)
    assert [h.page_id for h in _search(reader, "tide", namespace="site").lexical] == [1]
    assert reader.health()["status"] == "green"


def test_health_is_red_while_the_database_holds_chunks_the_index_lacks():
    """After upgrading from the index kept in the database: nothing built yet."""
    import shutil

    from .contract import record

    backend = LocalSearchBackend("up", {})
    backend.index_page("site", 1, [record(1, 0, "moorings")])
    shutil.rmtree(backend.options.root() / "site")
    fresh = LocalSearchBackend("up2", {})
    assert fresh.health()["status"] == "red" and "search_reindex" in fresh.health()["detail"]


def test_a_segment_left_by_a_writer_killed_before_its_commit_is_replaced(tmp_path):
    """A writer killed after creating its segment's directory but before the
    manifest named it leaves the directory behind; the next writer, which
    takes the same step number, replaces it instead of failing on it (the
    fault test of a worker killed mid-reindex saw FileExistsError)."""
    import numpy as np

    from search.backends.local.vectors import VectorSegment, write_segment

    leftover = tmp_path / "vectors" / "s00000002"
    leftover.mkdir(parents=True)
    (leftover / "vectors.npy").write_bytes(b"half a file")
    vectors = np.eye(3, 4, dtype=np.float32)
    write_segment(leftover, vectors, [1, 2, 3], [10, 10, 11], [{}, {}, {}], LocalOptions())
    segment = VectorSegment(leftover, None)
    assert segment.uids.tolist() == [1, 2, 3]
    assert np.allclose(segment.vectors, vectors)
