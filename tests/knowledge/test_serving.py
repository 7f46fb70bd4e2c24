"""Serving pages through Wagtail's own routing and view-restriction checks.
Each test views a page first (filling whatever the caches hold), changes
something, and checks that the next view follows the change at once.
(Until issue 28 each process remembered routes and restrictions,
knowledge/serving.py; these tests held it to Wagtail's behaviour.)"""

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from wagtail.models import Page, PageViewRestriction

from tests import factories as f

pytestmark = pytest.mark.django_db


def view(client, page_or_url):
    url = page_or_url if isinstance(page_or_url, str) else page_or_url.url
    return client.get(url, HTTP_HOST="localhost")


def seen(response, title):
    return response.status_code == 200 and title in response.content.decode()


def refused(response):
    """Wagtail sends a visitor who may not see a page to the login page."""
    return response.status_code == 302 and "/login/" in response["Location"]


def test_a_renamed_slug_serves_at_the_new_url_and_a_new_page_may_take_the_old(client):
    section = f.section("policies")
    page = f.policy("Leave policy", parent=section)
    old_url = page.url
    assert seen(view(client, old_url), "Leave policy")
    page.slug = "annual-leave-policy"
    page.save_revision().publish()
    assert view(client, old_url).status_code == 404
    assert seen(view(client, "/policies/annual-leave-policy/"), "Leave policy")
    newcomer = f.policy("Leave policy (new)", parent=section)
    newcomer.slug = old_url.rstrip("/").rsplit("/", 1)[1]
    newcomer.save_revision().publish()
    assert seen(view(client, old_url), "Leave policy (new)")


def test_a_moved_or_deleted_page_is_not_served_at_its_old_url(client):
    page = f.policy("Overtime policy", parent=f.section("policies"))
    old_url = page.url
    assert seen(view(client, old_url), "Overtime policy")
    page.move(f.section("archive"), pos="last-child")
    new_url = Page.objects.get(pk=page.pk).url
    assert new_url.startswith("/archive/")
    moved = view(client, old_url)  # Wagtail's redirects app leaves a permanent redirect behind
    assert moved.status_code == 301 and moved["Location"] == new_url
    assert seen(view(client, new_url), "Overtime policy")
    Page.objects.get(pk=page.pk).delete()
    assert view(client, new_url).status_code == 404


def test_a_restriction_added_to_an_ancestor_applies_at_once(client, django_capture_on_commit_callbacks):
    section = f.section("handbooks")
    page = f.policy("Handbook for new staff", parent=section)
    assert seen(view(client, page), "Handbook for new staff")
    with django_capture_on_commit_callbacks(execute=True):
        restriction = PageViewRestriction.objects.create(page=section, restriction_type=PageViewRestriction.LOGIN)
    assert refused(view(client, page))
    with django_capture_on_commit_callbacks(execute=True):
        restriction.delete()
    assert seen(view(client, page), "Handbook for new staff")


def test_changing_a_restrictions_groups_applies_at_once(client, django_capture_on_commit_callbacks):
    """Moving the right to see a page from one group to another: the group
    that lost it is refused on its next view, the one that gained it let in."""
    page = f.policy("Board minutes", parent=f.section("board"))
    editor, hr = Client(), Client()
    editor.force_login(f.user("editor-1", "editor"))
    hr.force_login(f.user("hr-1", "hr"))
    editors, hr_group = Group.objects.get(name="Editors"), Group.objects.get(name="HR")
    with django_capture_on_commit_callbacks(execute=True):
        restriction = PageViewRestriction.objects.create(page=page, restriction_type=PageViewRestriction.GROUPS)
        restriction.groups.add(editors)
    assert seen(view(editor, page), "Board minutes")
    assert refused(view(hr, page))
    with django_capture_on_commit_callbacks(execute=True):
        restriction.groups.remove(editors)
        restriction.groups.add(hr_group)
    assert refused(view(editor, page))
    assert seen(view(hr, page), "Board minutes")
    assert refused(view(client, page))  # anonymous


def test_a_second_password_applies_at_once(client, django_capture_on_commit_callbacks):
    """A password restriction added below another leaves the page's access
    tokens as they were (superusers only, in listings and search), yet a
    visitor who gave the first password must now give the second."""
    from django.urls import reverse

    section = f.section("tenders")
    page = f.policy("Tender evaluation", parent=section)
    with django_capture_on_commit_callbacks(execute=True):
        first = PageViewRestriction.objects.create(page=section, restriction_type="password", password="first")
    client.post(reverse("wagtailcore_authenticate_with_password", args=[first.pk, page.pk]),
                {"password": "first", "return_url": page.url}, HTTP_HOST="localhost")
    assert seen(view(client, page), "Tender evaluation")
    with django_capture_on_commit_callbacks(execute=True):
        PageViewRestriction.objects.create(page=page, restriction_type="password", password="second")
    assert 'name="password"' in view(client, page).content.decode()


def test_a_change_rolled_back_is_never_remembered(client, django_capture_on_commit_callbacks):
    """A restriction deleted and then rolled back must not leave anything
    behind (a cached body, a remembered answer) that lets anonymous visitors in."""
    page = f.policy("Staff appraisal procedure", parent=f.section("people"))
    restriction = PageViewRestriction.objects.create(page=page, restriction_type=PageViewRestriction.LOGIN)
    assert refused(view(client, page))

    class Rollback(Exception):
        pass

    pk = restriction.pk
    with pytest.raises(Rollback), transaction.atomic():
        restriction.delete()
        assert seen(view(client, page), "Staff appraisal procedure")  # this transaction's own view
        raise Rollback
    assert PageViewRestriction.objects.filter(pk=pk).exists()
    assert refused(view(client, page))


def test_an_alias_follows_its_sources_restrictions(client, django_capture_on_commit_callbacks):
    """Wagtail reads the view restrictions of an alias, and of a page below
    one, from the alias's source page."""
    source = f.section("security", "Security handbook")
    assert seen(view(client, source.url), "Security handbook")  # no alias yet
    with django_capture_on_commit_callbacks(execute=True):
        alias = source.create_alias(update_slug="handbook-copy")
    below = f.policy("Added below the alias", parent=alias)  # not an alias, yet under one
    assert alias.url == "/handbook-copy/" and below.url.startswith("/handbook-copy/")
    assert seen(view(client, alias.url), "Security handbook")
    with django_capture_on_commit_callbacks(execute=True):  # restricted after the alias was made
        PageViewRestriction.objects.create(page=source, restriction_type=PageViewRestriction.LOGIN)
    assert refused(view(client, source.url))
    assert refused(view(client, alias.url))
    assert refused(view(client, below.url))


def test_with_the_cache_down_restrictions_are_checked(client, settings):
    page = f.policy("Pay scales", parent=f.section("pay"))
    PageViewRestriction.objects.create(page=page, restriction_type=PageViewRestriction.LOGIN)
    public = f.policy("Public holidays", parent=f.section("pay"))
    page_url, public_url = page.url, public.url
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens on port 1
    with CaptureQueriesContext(connection) as ctx:
        assert refused(view(client, page_url))
    assert [q for q in ctx.captured_queries if "wagtailcore_pageviewrestriction" in q["sql"]]
    assert seen(view(client, public_url), "Public holidays")
