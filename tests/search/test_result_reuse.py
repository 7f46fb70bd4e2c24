"""A cached result page outlives edits that cannot have touched it.

The embedded backend keeps a log of the chunks each refresh removed or
added; ``still_valid`` reuses a result ranked before them only if none of
those chunks holds a query term or lies as close to the query vector as the
last vector candidate did, and BM25's collection statistics stayed within
the tolerance. These tests build a corpus with chosen vectors, so that
"close in meaning" is exact, and check both directions: what may be reused
is reused and comes out the same as a fresh search, and every kind of
change that could matter is not."""

import dataclasses

import numpy as np
import pytest

from search.analysis import analyse
from search.backends.base import Filters
from search.backends.local import LocalSearchBackend
from search.service import result_cache
from tests import factories as f

from .contract import record

pytestmark = pytest.mark.django_db

NS = "reuse-test"
DIM = 16
WORDS = "budget ledger invoice travel leave pension archive training audit procurement tender contract".split()


def unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def chunk(page_id, text, vector, position=0, **meta):
    return dataclasses.replace(record(page_id, position, text, **meta), vector=unit(vector))


@pytest.fixture
def corpus():
    """30 pages; 'harbour' appears in pages 1-3; the query vector is e0."""
    rng = np.random.default_rng(7)
    backend = LocalSearchBackend("reuse", {"REFRESH_INTERVAL": 0})
    pages = {}
    for pid in range(1, 31):
        words = list(rng.choice(WORDS, 6))
        if pid <= 3:
            words += ["harbour", "dredging"]
        pages[pid] = [chunk(pid, " ".join(words), rng.normal(size=DIM))]
    backend.index_many(NS, pages)
    yield backend
    backend.drop_namespace(NS)


QUERY_VECTOR = unit(np.eye(DIM)[0])


def same_length(backend, page_id, word):
    """A text of as many terms as ``page_id``'s, all ``word``: an edit that
    leaves BM25's statistics where they were."""
    index = backend._index(NS)
    text = index.rows[index.page_rows[page_id][0]][3]
    return " ".join([word] * len(analyse(text)))


def ranked(backend, text="harbour", vector=QUERY_VECTOR, limit=5):
    """A hybrid search with a full list of 5 vector candidates (so there is a floor)."""
    return backend.search(NS, text=text, terms=analyse(text), vector=vector, filters=Filters(access=["public"]),
                          mode="hybrid", limit=limit)


def outcome(result):
    return ([(h.page_id, round(h.score, 6)) for h in result.lexical], [(h.page_id, round(h.score, 6)) for h in result.vector],
            result.facets, result.total_pages)


def test_an_edit_elsewhere_keeps_the_result_and_it_is_what_a_fresh_search_gives(corpus):
    first = ranked(corpus)
    then = corpus.result_version(NS)
    corpus.index_page(NS, 20, [chunk(20, same_length(corpus, 20, "ledger"), -QUERY_VECTOR)])  # no term, far away
    assert corpus.result_version(NS) != then
    assert corpus.still_valid(NS, then, first.reuse)
    again = ranked(corpus)
    assert [h.page_id for h in again.lexical] == [h.page_id for h in first.lexical]
    assert [h.page_id for h in again.vector] == [h.page_id for h in first.vector]
    assert again.facets == first.facets and again.total_pages == first.total_pages


def test_a_page_that_now_holds_a_query_term_is_not_reused(corpus):
    first = ranked(corpus)
    then = corpus.result_version(NS)
    corpus.index_page(NS, 20, [chunk(20, "harbour fees", -QUERY_VECTOR)])
    assert not corpus.still_valid(NS, then, first.reuse)
    assert 20 in [h.page_id for h in ranked(corpus).lexical]


def test_a_page_that_lost_its_query_term_is_not_reused(corpus):
    first = ranked(corpus)
    assert 2 in [h.page_id for h in first.lexical]
    then = corpus.result_version(NS)
    corpus.index_page(NS, 2, [chunk(2, "budget only", -QUERY_VECTOR)])  # its old chunk held the term
    assert not corpus.still_valid(NS, then, first.reuse)


def test_an_edit_to_other_words_of_a_matching_passage_keeps_the_result_unless_it_is_shown(corpus):
    corpus.index_page(NS, 2, [chunk(2, "harbour dredging budget ledger invoice", -QUERY_VECTOR)])
    first = ranked(corpus)
    assert 2 in [h.page_id for h in first.lexical]
    then = corpus.result_version(NS)
    # another word, same length, same count of 'harbour': the BM25 score is unchanged
    corpus.index_page(NS, 2, [chunk(2, "harbour dredging budget ledger pension", -QUERY_VECTOR)])
    assert corpus.still_valid(NS, then, first.reuse)
    assert [(h.page_id, h.score) for h in ranked(corpus).lexical] == [(h.page_id, h.score) for h in first.lexical]
    # but a result showing page 2 shows its passage: not reused
    assert not corpus.still_valid(NS, then, first.reuse, shown={2})
    # and one more 'harbour' changes its score
    corpus.index_page(NS, 2, [chunk(2, "harbour dredging harbour ledger pension", -QUERY_VECTOR)])
    assert not corpus.still_valid(NS, then, first.reuse)


def test_a_matching_page_whose_access_changed_is_not_reused(corpus):
    """Same words, same vector, but no longer public: it leaves the viewer's
    matches (facets, total), so the result cannot stand."""
    corpus.index_page(NS, 2, [chunk(2, "harbour dredging budget ledger invoice", -QUERY_VECTOR)])
    first = ranked(corpus)
    then = corpus.result_version(NS)
    corpus.index_page(NS, 2, [chunk(2, "harbour dredging budget ledger invoice", -QUERY_VECTOR, access=["group:7"])])
    assert not corpus.still_valid(NS, then, first.reuse)
    assert 2 not in [h.page_id for h in ranked(corpus).lexical]


def test_a_deleted_page_that_was_ranked_is_not_reused(corpus):
    first = ranked(corpus)
    then = corpus.result_version(NS)
    corpus.delete_page(NS, 1)
    assert not corpus.still_valid(NS, then, first.reuse)


def test_a_page_close_in_meaning_is_not_reused_even_without_a_shared_word(corpus):
    first = ranked(corpus)
    floor = first.vector[-1].score
    then = corpus.result_version(NS)
    near = unit(QUERY_VECTOR + 0.05 * np.eye(DIM)[1])  # cosine ~0.999, above the last candidate
    assert float(near @ QUERY_VECTOR) >= floor
    corpus.index_page(NS, 20, [chunk(20, "budget ledger", near)])
    assert not corpus.still_valid(NS, then, first.reuse)
    assert ranked(corpus).vector[0].page_id == 20


def test_a_candidate_list_that_was_not_full_admits_anything(corpus):
    first = ranked(corpus, limit=100)  # all 30 chunks are candidates: no floor
    then = corpus.result_version(NS)
    corpus.index_page(NS, 40, [chunk(40, "budget ledger", -QUERY_VECTOR)])
    assert not corpus.still_valid(NS, then, first.reuse)


def test_moved_collection_statistics_end_reuse(corpus):
    first = ranked(corpus, vector=None)
    then = corpus.result_version(NS)
    # one unrelated page among 30 moves the live chunk count by 3 %, over the 1 % tolerance
    corpus.index_page(NS, 41, [chunk(41, "budget ledger invoice", -QUERY_VECTOR)])
    assert not corpus.still_valid(NS, then, first.reuse)


def test_the_same_chunk_count_and_length_are_within_tolerance(corpus):
    first = ranked(corpus, vector=None)
    then = corpus.result_version(NS)
    corpus.index_page(NS, 20, [chunk(20, same_length(corpus, 20, "pension"), -QUERY_VECTOR)])
    assert corpus.still_valid(NS, then, first.reuse)


def test_tolerance_zero_turns_reuse_off(corpus):
    corpus.options.reuse_stats_tolerance = 0.0
    first = ranked(corpus)
    then = corpus.result_version(NS)
    assert corpus.still_valid(NS, then, first.reuse) is False  # not even unchanged: exact versions only


def test_a_reload_of_the_whole_index_ends_reuse(corpus):
    first = ranked(corpus)
    then = corpus.result_version(NS)
    handle = corpus.start_rebuild(NS)
    corpus.index_many(handle, {pid: [chunk(pid, "budget", np.ones(DIM))] for pid in range(1, 31)})
    corpus.finish_rebuild(NS, handle)
    assert not corpus.still_valid(NS, then, first.reuse)


def test_another_process_writes_are_judged_the_same_way(corpus):
    first = ranked(corpus)
    then = corpus.result_version(NS)
    worker = LocalSearchBackend("worker", {})  # stands in for the Celery worker's process
    worker.index_page(NS, 20, [chunk(20, same_length(corpus, 20, "ledger"), -QUERY_VECTOR)])
    assert corpus.still_valid(NS, then, first.reuse)
    then = corpus.result_version(NS)
    worker.index_page(NS, 21, [chunk(21, "dredging schedule", -QUERY_VECTOR)])
    assert not corpus.still_valid(NS, then, first.reuse)


# --- through the search service and the API --------------------------------

@pytest.fixture
def site_pages(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pages = [f.policy(f"Policy {word}", body=f"Rules about {word} for every unit.") for word in WORDS]
        f.policy("Gifts policy", body="All gifts must be declared, whatever their value.")
    return pages


def test_a_publish_elsewhere_keeps_a_repeated_search_cached(client, site_pages, django_capture_on_commit_callbacks):
    params = {"q": "gifts declared", "mode": "lexical"}
    first = client.get("/api/search/", params).json()
    page = site_pages[0]
    page.title = "Policy budget (revised)"
    with django_capture_on_commit_callbacks(execute=True):
        page.save_revision().publish()
    hits = result_cache().hits
    second = client.get("/api/search/", params).json()
    assert result_cache().hits == hits + 1
    for key in ("results", "total", "facets", "num_pages"):
        assert second[key] == first[key]


def test_a_publish_that_matches_is_searched_afresh(client, site_pages, django_capture_on_commit_callbacks):
    params = {"q": "gifts declared", "mode": "lexical"}
    assert [r["title"] for r in client.get("/api/search/", params).json()["results"]] == ["Gifts policy"]
    with django_capture_on_commit_callbacks(execute=True):
        f.procedure("Declare a gift", steps=("Gifts are declared on form GH-2.",))
    assert {r["title"] for r in client.get("/api/search/", params).json()["results"]} == {"Gifts policy", "Declare a gift"}
