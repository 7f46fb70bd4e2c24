"""What a search returns follows the index at once: a publish, another
process's write, a synonym or a ranking setting shows in the next search,
and nothing is ever another viewer's."""

import pytest

from search.backends import get_search_backend
from search.backends.base import SITE_NAMESPACE
from search.backends.local import LocalSearchBackend
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
    def scores(mode):
        results = client.get("/api/search/", {"q": "gift", "mode": mode}).json()["results"]
        return {r["title"]: r["score"] for r in results}

    lexical = scores("lexical")
    # convex fusion that gives the semantic side no weight ranks as lexical search
    settings.KM_SEARCH = {**settings.KM_SEARCH, "FUSION": "convex", "LEXICAL_WEIGHT": 1.0, "SEMANTIC_WEIGHT": 0.0}
    assert {t: s for t, s in scores("hybrid").items() if t in lexical} == pytest.approx(lexical)


def test_related_guidance_is_per_viewer(pages):
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
    settings.KM_SEARCH = {**settings.KM_SEARCH, "CANDIDATE": 10}
    settings.KM_ANALYTICS = {**settings.KM_ANALYTICS, "RETENTON_DAYS": 5}
    errors = [e for e in run_checks() if e.id == "kmsearch.E002"]
    assert len(errors) == 2
    assert "CANDIDATE" in errors[0].msg and "CANDIDATES" in errors[0].hint
    assert "RETENTON_DAYS" in errors[1].msg


def test_a_ranking_setting_that_cannot_work_is_an_error(settings):
    from django.core.checks import run_checks

    settings.KM_SEARCH = {**settings.KM_SEARCH, "FUSION": "rff", "CALIBRATION": {"lexical": "zscore"},
                          "TRUST_MARGIN": {"overdue": 5}}
    messages = [e.msg for e in run_checks() if e.id == "kmsearch.E003"]
    assert len(messages) == 3
    assert "'rff'" in messages[0] and "zscore" in messages[1] and "overdue" in messages[2]
