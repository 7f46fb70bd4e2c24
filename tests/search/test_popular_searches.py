"""Issue 21, finding 6: "Popular searches" on the public home page lists
only terms several signed-in people searched, counting only searches whose
results the public may see, and never a term an owner has hidden. Before the
fix three owners' searches for a restricted topic, or one anonymous client
varying its User-Agent, put a term on the home page."""

import pytest
from django.test import Client

from search import popular
from search.models import HiddenSearchTerm, QueryLog
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        public = f.policy("Lost equipment policy", body="Report a lost laptop to the service desk within one day.")
        secret = f.policy("Ransomware response playbook", body="Ransomware containment: isolate, then call the CERT.",
                          audience="restricted")
    return public, secret


def _search_as(role_or_none, q, n, prefix):
    for i in range(n):
        c = Client(HTTP_USER_AGENT=f"agent-{prefix}-{i}")
        if role_or_none:
            c.force_login(f.user(f"{prefix}{i}", role_or_none))
        assert c.get("/search/", {"q": q}).status_code == 200


def _home_popular():
    popular.forget()
    html = Client().get("/").content.decode()
    if "Popular searches" not in html:
        return ""
    return html[html.index("Popular searches"):]


def test_a_restricted_topic_searched_by_owners_never_reaches_the_home_page(pages):
    _search_as("content_owner", "ransomware", 3, "own")
    assert QueryLog.objects.filter(query="ransomware", result_count__gt=0).count() == 3  # they did find it
    assert "ransomware" not in _home_popular()


def test_one_anonymous_client_varying_its_user_agent_is_not_a_crowd(pages):
    _search_as(None, "lost laptop", 5, "anon")
    assert "lost laptop" not in _home_popular()


def test_one_person_in_several_sessions_counts_once(pages):
    person = f.user("many-sessions", "civil_servant")
    for _ in range(4):
        c = Client()
        c.force_login(person)
        c.get("/search/", {"q": "lost laptop"})
    assert len(set(QueryLog.objects.values_list("session_key", flat=True))) == 4
    assert popular.popular_queries() == []


def test_several_people_make_a_public_term_popular_until_an_owner_hides_it(pages):
    _search_as("civil_servant", "lost laptop", 3, "civ")
    assert "lost laptop" in _home_popular()
    assert popular.popular_queries() == [("lost laptop", 3)]

    civil = Client()
    civil.force_login(f.user("not-an-owner", "civil_servant"))
    assert civil.post("/admin/reports/popular-searches/", {"term": "lost laptop"}).status_code in (302, 403)
    assert not HiddenSearchTerm.objects.exists()

    owner = Client()
    owner.force_login(f.user("hider", "content_owner"))
    report = owner.get("/admin/reports/popular-searches/")
    assert report.status_code == 200 and "lost laptop" in report.content.decode()
    owner.post("/admin/reports/popular-searches/", {"term": "  Lost   Laptop ", "action": "hide"})
    assert HiddenSearchTerm.objects.get().term == "lost laptop"
    assert "lost laptop" not in Client().get("/").content.decode()  # the cached list was dropped
    owner.post("/admin/reports/popular-searches/", {"term": "lost laptop", "action": "show"})
    assert "lost laptop" in _home_popular()


def test_a_term_whose_pages_became_restricted_drops_off(pages):
    public, _secret = pages
    _search_as("civil_servant", "lost laptop", 3, "later")
    assert popular.popular_queries() == [("lost laptop", 3)]
    public.audience = "restricted"
    public.save_revision().publish()
    assert popular.popular_queries() == []
