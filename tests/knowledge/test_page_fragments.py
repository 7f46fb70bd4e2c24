"""The cached body of knowledge pages (knowledge/fragments.py): a second view
costs a handful of queries, and nothing a viewer sees is stale or leaks —
the page's own changes, its neighbours', access, training links — while a
cache that cannot be reached only costs speed."""


import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from knowledge import fragments
from knowledge.models import Citation
from knowledge.review import confirm_review
from tests import factories as f
from tests.training import factories as tf

from .conftest import UnreachableCache

pytestmark = pytest.mark.django_db


def body(html):
    """The page without its feedback form (whose CSRF token is per visitor)."""
    return html.split('<form class="feedback"')[0]


def view(client, page, **extra):
    response = client.get(page.url, **extra)
    assert response.status_code == 200
    return response.content.decode()


def queries_for(client, page):
    with CaptureQueriesContext(connection) as ctx:
        html = view(client, page)
    return len(ctx.captured_queries), html


def republish(page, **changes):
    page = page.specific.__class__.objects.get(pk=page.pk)
    for name, value in changes.items():
        setattr(page, name, value)
    page.save_revision().publish()
    return page


def test_second_view_comes_from_the_cache(client):
    target = f.policy("Data retention policy")
    page = f.procedure("Archive a closed case", implements=[target])
    first_queries, first = queries_for(client, page)
    second_queries, second = queries_for(client, page)
    assert body(second) == body(first)
    assert second_queries <= first_queries - 8, (first_queries, second_queries)


def test_cache_off_renders_every_time(client, settings):
    settings.KM_PAGE_CACHE_SECONDS = 0
    page = f.procedure("Archive a closed case", implements=[f.policy("Data retention policy")])
    view(client, page)
    first_queries, _ = queries_for(client, page)
    second_queries, _ = queries_for(client, page)
    assert second_queries == first_queries


def test_own_edit_is_seen_at_once(client):
    page = f.policy("Travel policy", body="Economy class only.")
    assert "Economy class only." in view(client, page)
    page = republish(page, title="Travel policy (revised)")
    html = view(client, page)
    assert "Travel policy (revised)" in html


def test_a_cited_page_renamed_is_seen_at_once_by_the_citing_page(client):
    target = f.policy("Old name of the policy")
    page = f.procedure("Follow the policy", implements=[target])
    assert "Old name of the policy" in view(client, page)
    republish(target, title="New name of the policy")
    html = view(client, page)
    assert "New name of the policy" in html and "Old name of the policy" not in html


def test_a_new_citing_page_appears_in_cited_by_at_once(client):
    target = f.policy("Gifts policy")
    assert "No other guidance cites this page." in view(client, target)
    f.procedure("Declare a gift", implements=[target])
    html = view(client, target)
    assert "Declare a gift" in html and "No other guidance cites this page." not in html


def test_a_cited_page_made_restricted_disappears_at_once(client):
    secret_soon = f.policy("Budget annex")
    page = f.procedure("Prepare the budget", implements=[secret_soon])
    client.force_login(f.user("reader", "civil_servant"))
    assert "Budget annex" in view(client, page)
    republish(secret_soon, audience="restricted")
    assert "Budget annex" not in view(client, page)


def test_a_cited_page_unpublished_disappears_at_once(client):
    target = f.policy("Withdrawn guidance")
    page = f.procedure("Old procedure", implements=[target])
    assert "Withdrawn guidance" in view(client, page)
    target.specific.unpublish()
    assert "Withdrawn guidance" not in view(client, page)


def test_a_citation_removed_by_a_republish_disappears_from_the_target(client):
    target = f.policy("Leave policy")
    citing = f.procedure("Request leave", implements=[target])
    assert "Request leave" in view(client, target)
    citing = citing.specific.__class__.objects.get(pk=citing.pk)
    citing.citations.clear()
    citing.save_revision().publish()
    assert not Citation.objects.filter(target_id=target.pk).exists()
    assert "Request leave" not in view(client, target)


def test_viewers_with_other_rights_never_share_an_entry(client):
    """Both orders: the cleared reader first, then the visitor, then again."""
    target = f.policy("Open policy")
    f.procedure("Restricted investigation steps", implements=[target], audience="restricted")
    owner = f.user("owner", "content_owner")
    client.force_login(owner)
    assert "Restricted investigation steps" in view(client, target)
    client.logout()
    assert "Restricted investigation steps" not in view(client, target)
    client.force_login(owner)
    assert "Restricted investigation steps" in view(client, target)


def test_confirming_a_review_changes_the_badge_at_once(client):
    import datetime

    owner = f.user("owner", "content_owner")
    page = f.policy("Annual policy", owner=owner, last_reviewed=datetime.date(2020, 1, 1))
    assert "badge-overdue" in view(client, page)
    confirm_review(page, owner)
    html = view(client, page)
    assert "badge-overdue" not in html and "badge-fresh" in html


def test_training_linked_to_the_page_appears_at_once(client):
    page = f.policy("Records policy")
    assert "Learn this" not in view(client, page)
    tf.read_activity(tf.module("Records basics"), page)
    html = view(client, page)
    assert "Learn this" in html and "Records basics" in html


def test_csrf_token_is_never_shared_between_viewers(client):
    """The feedback form stays outside the cached body: each visitor gets
    their own token."""
    page = f.policy("Feedback policy")
    first = view(client, page)
    other = client.__class__()
    second = view(other, page)
    token = lambda html: html.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]  # noqa: E731
    assert token(first) != token(second)


def test_query_strings_and_previews_are_not_cached(client):
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    page = f.policy("Policy with dates")
    view(client, page)
    first_queries, _ = queries_for(client, page)
    with CaptureQueriesContext(connection) as ctx:
        view(client, page, data={"date": "2024-06-01"})
    assert len(ctx.captured_queries) > first_queries

    request = RequestFactory().get(page.url)
    request.user = AnonymousUser()
    assert fragments.fragment_key(page, request) is not None
    request.is_preview = True  # Wagtail's preview of a draft
    assert fragments.fragment_key(page, request) is None


def test_an_unreachable_cache_costs_only_speed(client, monkeypatch):
    page = f.procedure("Archive a closed case", implements=[f.policy("Data retention policy")])
    healthy = view(client, page)
    monkeypatch.setattr(fragments, "cache", UnreachableCache())
    assert body(view(client, page)) == body(healthy)
    republish(page, title="Archive a closed case (v2)")  # a publish while the cache is down still succeeds
    monkeypatch.undo()
    assert "Archive a closed case (v2)" in view(client, page)


# --- fragments.get_or_render ------------------------------------------------

class Renderer:
    """A body render that counts how often it ran."""

    def __init__(self, html="<p>body</p>"):
        self.html, self.calls = html, 0

    def __call__(self):
        self.calls += 1
        return self.html


def test_a_body_is_rendered_once_and_then_read_from_the_cache(settings, redis_url):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
                                   "KEY_PREFIX": "km-frag-render-test"}}
    from django.core.cache import cache

    key = "km:frag:body:render-test"
    cache.delete(key)
    render = Renderer()
    assert [fragments.get_or_render(key, render) for _ in range(3)] == ["<p>body</p>"] * 3
    assert render.calls == 1 and cache.get(key) == "<p>body</p>"
    cache.delete(key)


def test_rendering_goes_on_when_the_cache_is_down(monkeypatch):
    monkeypatch.setattr(fragments, "cache", UnreachableCache())
    render = Renderer()
    assert fragments.get_or_render("km:frag:body:down", render) == "<p>body</p>"
    assert render.calls == 1
