"""The per-process cache of ranked result pages: repeated searches are
answered from it, and nothing it returns is ever stale or another viewer's."""

import pytest

from search.backends import get_search_backend
from search.backends.base import SITE_NAMESPACE
from search.backends.local import LocalSearchBackend
from search.service import result_cache
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        public = f.policy("Gifts policy", body="All gifts must be declared, whatever their value.")
        internal = f.policy("Supplier gift register", body="The gift register is kept by procurement.", audience="internal")
    return {"public": public, "internal": internal}


def titles(client, **params):
    response = client.get("/api/search/", {"mode": "lexical", **params})
    assert response.status_code == 200
    return [r["title"] for r in response.json()["results"]]


def test_a_repeated_search_is_answered_from_the_cache(client, pages):
    first = client.get("/api/search/", {"q": "gift register"}).json()
    hits = result_cache().hits
    second = client.get("/api/search/", {"q": "gift register"}).json()
    assert result_cache().hits == hits + 1
    for key in ("results", "total", "facets", "num_pages"):
        assert second[key] == first[key]


def test_a_publish_is_seen_by_the_next_search(client, pages, django_capture_on_commit_callbacks):
    assert titles(client, q="gift") == ["Gifts policy"]
    with django_capture_on_commit_callbacks(execute=True):
        f.procedure("Declare a gift", steps=("Declare every gift on form GH-2.",))
    assert set(titles(client, q="gift")) == {"Gifts policy", "Declare a gift"}

    page = pages["public"]
    page.title = "Gifts and hospitality policy"
    with django_capture_on_commit_callbacks(execute=True):
        page.save_revision().publish()
    assert "Gifts and hospitality policy" in titles(client, q="gift")
    assert "Gifts policy" not in titles(client, q="gift")


def test_a_write_by_another_process_is_seen(client, pages):
    """The worker indexes in its own process: stand it in with a second
    backend object writing to the same database."""
    from .contract import record

    assert titles(client, q="gift") == ["Gifts policy"]
    worker = LocalSearchBackend("worker", {})
    worker.delete_page(SITE_NAMESPACE, pages["public"].pk)
    assert titles(client, q="gift") == []
    rec = record(pages["public"].pk, 0, "gift rules rewritten")
    rec.metadata.update(access=["public"], url="/x/")
    worker.index_page(SITE_NAMESPACE, pages["public"].pk, [rec])
    assert titles(client, q="gift") != []


@pytest.mark.parametrize("civil_first", [True, False])
def test_cached_results_never_cross_viewers(client, pages, civil_first):
    civil = f.user("cache-civil", "civil_servant")

    def as_civil():
        client.force_login(civil)
        found = titles(client, q="gift register")
        client.logout()
        return found

    if civil_first:
        assert "Supplier gift register" in as_civil()
    assert "Supplier gift register" not in titles(client, q="gift register")
    assert "Supplier gift register" in as_civil()
    assert "Supplier gift register" not in titles(client, q="gift register")


def test_a_synonym_added_applies_to_the_next_search(client, pages, django_capture_on_commit_callbacks):
    from search.models import Synonym

    assert titles(client, q="present") == []
    with django_capture_on_commit_callbacks(execute=True):
        Synonym.objects.create(terms="gift, present")
    assert "Gifts policy" in titles(client, q="present")


def test_changed_ranking_settings_are_applied(client, pages, settings):
    first = client.get("/api/search/", {"q": "gift", "mode": "lexical"}).json()["results"][0]["score"]
    settings.KM_SEARCH = {**settings.KM_SEARCH, "DEMOTION": {"fresh": 0.5}}
    second = client.get("/api/search/", {"q": "gift", "mode": "lexical"}).json()["results"][0]["score"]
    assert second == pytest.approx(first * 0.5)


def test_the_cache_can_be_turned_off(client, pages, settings):
    settings.KM_SEARCH = {**settings.KM_SEARCH, "RESULT_CACHE_SIZE": 0}
    assert result_cache() is None
    assert titles(client, q="gift") == titles(client, q="gift") == ["Gifts policy"]


def test_related_guidance_is_cached_per_viewer(pages):
    from django.contrib.auth.models import AnonymousUser

    from search.service import SearchService

    service = SearchService(get_search_backend())
    anonymous = [r.title for r in service.related(pages["public"], AnonymousUser())]
    civil = [r.title for r in service.related(pages["public"], f.user("rel-civil", "civil_servant"))]
    assert "Supplier gift register" not in anonymous
    assert "Supplier gift register" in civil
    assert [r.title for r in service.related(pages["public"], AnonymousUser())] == anonymous


def test_an_unknown_search_setting_is_an_error(settings):
    from django.core.checks import run_checks

    assert not [e for e in run_checks() if e.id.startswith("kmsearch.")]
    settings.KM_SEARCH = {**settings.KM_SEARCH, "RESULT_CACHE_SIZ": 10}
    settings.KM_ANALYTICS = {**settings.KM_ANALYTICS, "RETENTON_DAYS": 5}
    errors = [e for e in run_checks() if e.id == "kmsearch.E002"]
    assert len(errors) == 2
    assert "RESULT_CACHE_SIZ" in errors[0].msg and "RESULT_CACHE_SIZE" in errors[0].hint
    assert "RETENTON_DAYS" in errors[1].msg


@pytest.fixture
def foreign_writes(monkeypatch):
    """Writes as another process makes them: this process is not told."""
    from search.backends import local

    monkeypatch.setattr(local, "_note_write", lambda: None)
    return LocalSearchBackend("other-process", {})


def test_another_process_write_is_seen_within_the_refresh_interval(client, pages, settings, foreign_writes, monkeypatch):
    """Between two looks at the database (at most refresh_interval apart)
    a web process answers from its in-memory copy; after it, the write shows."""
    import time as real_time

    from search.backends import local

    settings.KM_SEARCH_BACKENDS = {"default": {"BACKEND": "search.backends.local",
                                               "OPTIONS": {"REFRESH_INTERVAL": 30}}}
    from search.backends import reset_backends

    reset_backends()
    clock = [real_time.monotonic()]
    monkeypatch.setattr(local.time, "monotonic", lambda: clock[0])
    assert titles(client, q="gift") == ["Gifts policy"]
    foreign_writes.delete_page(SITE_NAMESPACE, pages["public"].pk)
    assert titles(client, q="gift") == ["Gifts policy"]  # not looked yet
    clock[0] += 31
    assert titles(client, q="gift") == []


def test_with_no_refresh_interval_every_read_looks(client, pages, settings, foreign_writes):
    settings.KM_SEARCH_BACKENDS = {"default": {"BACKEND": "search.backends.local",
                                               "OPTIONS": {"REFRESH_INTERVAL": 0}}}
    from search.backends import reset_backends

    reset_backends()
    assert titles(client, q="gift") == ["Gifts policy"]
    foreign_writes.delete_page(SITE_NAMESPACE, pages["public"].pk)
    assert titles(client, q="gift") == []


def test_this_process_writes_are_seen_at_once_whatever_the_interval(client, pages, settings):
    settings.KM_SEARCH_BACKENDS = {"default": {"BACKEND": "search.backends.local",
                                               "OPTIONS": {"REFRESH_INTERVAL": 3600}}}
    from search.backends import reset_backends

    reset_backends()
    assert titles(client, q="gift") == ["Gifts policy"]
    LocalSearchBackend("another-object", {}).delete_page(SITE_NAMESPACE, pages["public"].pk)
    assert titles(client, q="gift") == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # threads read committed rows
def test_a_search_asked_by_many_at_once_is_ranked_once(monkeypatch):
    """Requests that miss the cache for the same search while it is being
    ranked wait for that ranking and are answered from the cache; a
    different search does not wait for it."""
    import threading
    import time

    from django.db import connections

    from search import service as search_service
    from search.service import SearchService, parse_request

    f.policy("Gifts policy", body="All gifts must be declared, whatever their value.")
    f.policy("Leave policy", body="Annual leave is booked a month ahead.")
    backend = get_search_backend()
    ranked, lock = [], threading.Lock()
    ranking = {}  # search -> (started, ended)
    real_search = type(backend).search

    def slow_search(self, namespace, **kwargs):
        started = time.monotonic()
        with lock:
            ranked.append(kwargs["text"])
        time.sleep(0.3)  # long enough for the other requests to arrive meanwhile
        try:
            return real_search(self, namespace, **kwargs)
        finally:
            ranking[kwargs["text"]] = (started, time.monotonic())

    service = SearchService(backend)
    service.search(parse_request({"q": "travel"}), access=["public"])  # the index loaded, as a worker's warm-up does
    monkeypatch.setattr(type(backend), "search", slow_search)
    monkeypatch.setattr(search_service._rankings, "wait_seconds", 60)  # a loaded machine must not give up
    answers = {}

    def ask(i, q):
        try:
            answers[i] = [r.title for r in service.search(parse_request({"q": q}), access=["public"]).results]
        finally:
            connections.close_all()

    queries = ["gifts declared"] * 6 + ["annual leave"] * 2
    threads = [threading.Thread(target=ask, args=(i, q)) for i, q in enumerate(queries)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(ranked) == ["annual leave", "gifts declared"]
    assert [answers[i][0] for i in range(8)] == ["Gifts policy"] * 6 + ["Leave policy"] * 2
    (gifts_start, gifts_end), (leave_start, leave_end) = ranking["gifts declared"], ranking["annual leave"]
    assert gifts_start < leave_end and leave_start < gifts_end  # ranked side by side, not one after the other
