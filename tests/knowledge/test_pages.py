"""Knowledge pages: creation, publishing, rendering, cites both ways."""

import pytest
from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase

from knowledge.models import HomePage, LessonLearnedPage, PolicyPage, ProcedurePage, SectionIndexPage
from tests import factories as f

from .conftest import UnreachableCache

pytestmark = pytest.mark.django_db


class TestPageTree(WagtailPageTestCase):
    def test_section_accepts_the_three_knowledge_types_only(self):
        self.assertAllowedSubpageTypes(SectionIndexPage, {PolicyPage, ProcedurePage, LessonLearnedPage})
        self.assertAllowedParentPageTypes(PolicyPage, {SectionIndexPage})
        self.assertCanNotCreateAt(HomePage, PolicyPage)

    def test_policy_can_be_created_through_the_admin_form(self):
        section = f.section("policies")
        admin = f.user("root", "administrator")
        self.client.force_login(admin)
        topic = f.topic("procurement")
        data = f.policy_form_data(
            title="Purchasing policy", slug="purchasing-policy", reference_number="POL-X-1"
        )
        data["topics"] = [str(topic.pk)]
        data["action-publish"] = "publish"
        self.assertCanCreate(section, PolicyPage, data)
        page = PolicyPage.objects.get(slug="purchasing-policy")
        assert page.live and page.reference_number == "POL-X-1"
        assert list(page.topics.all()) == [topic]


def test_every_page_type_renders(client):
    p = f.policy("Records retention", body="Keep files for seven years.")
    proc = f.procedure("Dispose of records", implements=[p])
    les = f.lesson("Migration lesson", cites=[proc])
    for page in (p, proc, les, f.section("policies"), f.home_page()):
        response = client.get(page.url)
        assert response.status_code == 200, page
    body = client.get(p.url).content.decode()
    assert "Keep files for seven years." in body and "POL-T-" in body
    assert 'class="skip-link"' in body and 'role="search"' in body
    proc_body = client.get(proc.url).content.decode()
    assert "Fill in form EX-1." in proc_body and "Implements" in proc_body


def test_cites_are_shown_both_ways(client):
    target = f.policy("Data protection policy")
    citing = f.procedure("Handle a subject access request", implements=[target])
    citing_html = client.get(citing.url).content.decode()
    target_html = client.get(target.url).content.decode()
    assert f'href="{target.url}"' in citing_html
    assert f'href="{citing.url}"' in target_html
    assert "Cited by" in target_html


def test_restricted_page_is_not_revealed_in_cited_by(client):
    target = f.policy("Open policy")
    secret = f.procedure("Secret investigation steps", implements=[target], audience="restricted")
    html = client.get(target.url).content.decode()
    assert "Secret investigation steps" not in html
    owner = f.user("own", "content_owner")
    client.force_login(owner)
    assert "Secret investigation steps" in client.get(target.url).content.decode()
    assert secret.live


def test_superseded_policy_points_to_its_successor(client):
    old = f.policy("Gifts policy 2020", status="superseded")
    new = f.policy("Gifts policy 2025", supersedes=old)
    assert old.superseded_by == new
    html = client.get(old.url).content.decode()
    assert "has been superseded" in html and new.url in html


def test_home_page_lists_recent_pages_and_topics_visible_to_visitor(client):
    t = f.topic("records-management")
    f.policy("Public records policy", topics=[t])
    f.policy("Internal records note", topics=[t], audience="internal")
    html = client.get("/").content.decode()
    assert "Public records policy" in html
    assert "Internal records note" not in html
    assert "Records Management" in html


def test_unpublished_page_is_not_served(client):
    draft = f.policy("Draft policy", publish=False)
    assert client.get(Page.objects.get(pk=draft.pk).url or "/policies/x/").status_code == 404


def test_pages_are_found_by_their_path(client):
    """Wagtail's routing: a published page at its URL, a draft and an unknown
    path not found, a section's own route answered, and view restrictions
    applied."""
    published = f.policy("Routing policy")
    draft = f.policy("Routing draft", publish=False)
    internal = f.policy("Routing internal", audience="internal")
    section = published.get_parent()
    assert client.get(published.url).status_code == 200
    assert client.get(f"{section.url}{draft.slug}/").status_code == 404
    assert client.get(f"{section.url}no-such-page/").status_code == 404
    assert client.get(f"{section.url}in-force/").status_code == 200
    assert client.get(internal.url).status_code == 302  # to the login page


def test_implements_names_only_policies_the_viewer_may_see(client, settings):
    settings.KM_PAGE_CACHE_SECONDS = 0  # the rule itself, not the cache
    secret = f.policy("Covert surveillance policy", audience="restricted")
    open_policy = f.policy("Open records policy")
    procedure = f.procedure("Log an operation", implements=[secret, open_policy])
    client.force_login(f.user("clerk", "civil_servant"))
    html = client.get(procedure.url).content.decode()
    assert "Open records policy" in html and "Covert surveillance policy" not in html
    client.force_login(f.user("lead", "content_owner"))
    assert "Covert surveillance policy" in client.get(procedure.url).content.decode()


def _site_queries(client, url, **extra):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return [q for q in ctx.captured_queries if "wagtailcore_site" in q["sql"]], response.content.decode()


def test_a_site_change_is_seen_at_once(client, settings):
    """A second site for another host name, then the home page edited."""
    from wagtail.models import Site

    settings.ALLOWED_HOSTS = ["localhost", "intranet.example.gov"]
    home = f.home_page()
    section = f.section("policies")
    _, html = _site_queries(client, "/", HTTP_HOST="intranet.example.gov")  # remembered: the default site
    assert "Find the current guidance" in html
    Site.objects.create(hostname="intranet.example.gov", port=80, root_page=section)
    _, html = _site_queries(client, "/", HTTP_HOST="intranet.example.gov")
    assert "Find the current guidance" not in html and f"<h1>{section.title}</h1>" in html
    assert "Welcome to the intranet edition" not in _site_queries(client, "/", HTTP_HOST="localhost")[1]
    home = HomePage.objects.get(pk=home.pk)
    home.introduction = "Welcome to the intranet edition"
    home.save_revision().publish()
    _, html = _site_queries(client, "/", HTTP_HOST="localhost")
    assert "Welcome to the intranet edition" in html


def test_pages_are_served_when_the_cache_is_down(client, monkeypatch):
    from knowledge import fragments

    page = f.policy("Cache down policy")
    client.get(page.url)

    monkeypatch.setattr(fragments, "cache", UnreachableCache())
    queries, html = _site_queries(client, page.url)
    assert queries and "Cache down policy" in html  # Wagtail looked the site up itself


def test_a_page_reads_its_citations_both_ways_with_one_access_query(client, settings):
    """Cites, cited by and (for a procedure) implements come from the same
    rows: one query each way for the links, one on the access tokens."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.KM_PAGE_CACHE_SECONDS = 0  # the body is rendered, not read from the cache
    policy = f.policy("Travel policy")
    procedure = f.procedure("Book a train", implements=[policy])
    f.procedure("Claim a fare", implements=[procedure])
    client.get(procedure.url)  # the visitor's facts and the site, read once
    with CaptureQueriesContext(connection) as ctx:
        html = client.get(procedure.url).content.decode()
    tables = [q["sql"] for q in ctx.captured_queries]
    assert sum('FROM "knowledge_citation"' in sql for sql in tables) == 2, tables
    assert sum('FROM "knowledge_pageaccesstoken"' in sql for sql in tables) == 1, tables
    assert "Travel policy" in html and "Claim a fare" in html  # cites (and implements), cited by
