"""Who can see and do what, per role."""

import pytest
from wagtail.models import Page, PageViewRestriction, Workflow

from knowledge.access import compile_tokens, user_can_view_page, user_tokens
from knowledge.models import KnowledgePage
from knowledge.models.access import viewable_pages
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages():
    return {
        "public": f.policy("Public guidance"),
        "internal": f.policy("Internal guidance", audience="internal"),
        "restricted": f.policy("Restricted guidance", audience="restricted"),
    }


@pytest.mark.parametrize(
    "role,visible",
    [
        (None, {"public"}),
        ("civil_servant", {"public", "internal"}),
        ("editor", {"public", "internal"}),
        ("hr", {"public", "internal"}),
        ("content_owner", {"public", "internal", "restricted"}),
        ("administrator", {"public", "internal", "restricted"}),
    ],
)
def test_page_urls_per_role(client, pages, role, visible):
    if role:
        client.force_login(f.user(f"u-{role}", role))
    for name, page in pages.items():
        response = client.get(page.url)
        if name in visible:
            assert response.status_code == 200, (role, name)
        else:
            assert response.status_code in (302, 403), (role, name)
            assert b"Restricted guidance" not in response.content


def test_audience_creates_matching_view_restrictions(pages):
    assert not PageViewRestriction.objects.filter(page=pages["public"]).exists()
    assert PageViewRestriction.objects.get(page=pages["internal"]).restriction_type == "login"
    r = PageViewRestriction.objects.get(page=pages["restricted"])
    assert r.restriction_type == "groups"
    assert {g.name for g in r.groups.all()} >= {"Restricted readers", "Content owners", "Administrators"}


def test_listing_filter_matches_per_page_check(pages):
    civil = f.user("civil", "civil_servant")
    visible = set(viewable_pages(KnowledgePage.objects.live(), civil).values_list("title", flat=True))
    assert visible == {"Public guidance", "Internal guidance"}
    for page in pages.values():
        assert user_can_view_page(civil, page) == (page.title in visible)


def test_restriction_on_an_ancestor_applies_to_descendants(django_capture_on_commit_callbacks):
    section = f.section("secret-section")
    page = f.policy("Inside a restricted section", parent=section)
    assert "public" in compile_tokens(page)
    group_owner = f.user("owner-x", "content_owner")
    with django_capture_on_commit_callbacks(execute=True):
        restriction = PageViewRestriction.objects.create(page=section, restriction_type="groups")
        restriction.groups.add(group_owner.groups.get(name="Content owners"))
    tokens = set(compile_tokens(Page.objects.get(pk=page.pk)))
    assert "public" not in tokens and "auth" not in tokens
    civil = f.user("civ", "civil_servant")
    assert not user_can_view_page(civil, page)
    assert user_can_view_page(group_owner, page)
    assert page.pk not in viewable_pages(KnowledgePage.objects.all(), civil).values_list("pk", flat=True)


def test_password_restricted_pages_are_listed_for_nobody_but_superusers():
    page = f.policy("Password page")
    PageViewRestriction.objects.create(page=page, restriction_type="password", password="x")
    assert set(compile_tokens(page)) == {"superuser"}
    assert user_tokens(None) == {"public"}


def test_editor_cannot_publish_but_can_submit_for_approval(client):
    editor = f.user("ed", "editor")
    owner = f.user("ow", "content_owner")
    page = f.procedure("Report a lost laptop")
    assert not page.permissions_for_user(editor).can_publish()
    assert page.permissions_for_user(editor).can_edit()
    assert page.permissions_for_user(owner).can_publish()
    workflow = page.get_workflow()
    assert workflow is not None and workflow.name == "Editorial review"

    # The editor changes the page and submits it; it is not published.
    revision = page.save_revision(user=editor)
    workflow.start(page, editor)
    page.refresh_from_db()
    assert page.live_revision_id != revision.pk
    state = page.current_workflow_state
    assert state is not None and state.status == "in_progress"
    task_state = state.current_task_state
    assert task_state.task.specific.user_can_access_editor(page, owner)

    # A content owner approves: the page is published.
    task_state.task.specific.on_action(task_state, owner, "approve")
    page.refresh_from_db()
    assert page.live_revision_id == page.latest_revision_id
    assert Workflow.objects.filter(name="Editorial review").count() == 1


def test_editor_publish_through_admin_is_refused(client):
    editor = f.user("ed2", "editor")
    page = f.policy("Policy to change")
    client.force_login(editor)
    data = f.policy_form_data(page, title="Changed by the editor")
    response = client.post(f"/admin/pages/{page.pk}/edit/", {**data, "action-publish": "publish"})
    assert response.status_code in (302, 200, 403)
    page.refresh_from_db()
    assert page.title == "Policy to change"  # the live page is unchanged
    assert page.latest_revision.content["title"] == "Changed by the editor"  # saved as a draft only

    # The same request by a content owner publishes.
    client.force_login(f.user("ow2", "content_owner"))
    client.post(f"/admin/pages/{page.pk}/edit/", {**data, "title": "Changed by the owner", "action-publish": "publish"})
    page.refresh_from_db()
    assert page.title == "Changed by the owner"


def test_civil_servant_has_no_admin_access(client):
    client.force_login(f.user("cs", "civil_servant"))
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(f.user("ed3", "editor"))
    assert client.get("/admin/").status_code == 200
