"""Issue 21, finding 2: the admin honours the audience model. Restricted
guidance sits in a restricted section, where Editors hold no page
permission, so Wagtail keeps it out of every admin view they can open
(draft, edit, history, revision compare, page search, admin API, site
history, page chooser). Before the fix Editors held their permissions on
the root and read all of it."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from wagtail.models import GroupPagePermission

from knowledge.demo import ensure_restricted_section
from knowledge.models import PolicyPage
from knowledge.roles import EDITORS, RESTRICTED_READERS
from tests import factories as f

pytestmark = pytest.mark.django_db
SECRET_TITLE = "Fraud referral thresholds"
SECRET_TEXT = "Refer every suspected fraud above 5,000 to the counter-fraud unit"


@pytest.fixture
def site(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        f.user("aud-setup", "editor")
        restricted_section = ensure_restricted_section(f.home_page())
        public = f.policy("Fraud awareness for all staff", body="Everyone should know how fraud is reported.")
        secret = f.policy(SECRET_TITLE, body=SECRET_TEXT, audience="restricted", parent=restricted_section)
        draft = secret.get_latest_revision_as_object()
        draft.summary = "A newer draft of the thresholds."
        draft.save_revision()
    return {"public": public, "secret": PolicyPage.objects.get(pk=secret.pk), "section": restricted_section}


def _client(role, username=None):
    c = Client()
    user = f.user(username or f"aud-{role}", role)
    c.force_login(user)
    return c, user


def _admin_urls(page):
    first, last = page.revisions.order_by("created_at", "pk")[0].pk, page.latest_revision_id
    return [
        f"/admin/pages/{page.pk}/view_draft/",
        f"/admin/pages/{page.pk}/edit/",
        f"/admin/pages/{page.pk}/history/",
        f"/admin/pages/{page.pk}/revisions/compare/{first}...{last}/",
        f"/admin/pages/{page.pk}/revisions/{last}/view/",
    ]


def _listings(client):
    return {
        "api": client.get("/admin/api/main/pages/", {"search": "fraud"}),
        "search": client.get("/admin/pages/search/", {"q": "fraud"}),
        "history": client.get("/admin/reports/site-history/"),
        "chooser": client.get("/admin/choose-page/", {"q": "fraud"}),
    }


def test_an_editor_sees_no_restricted_page_anywhere_in_the_admin(site):
    editor, _ = _client("editor")
    for url in _admin_urls(site["secret"]):
        response = editor.get(url)
        assert response.status_code in (302, 403), url
        assert SECRET_TEXT.encode() not in response.content and SECRET_TITLE.encode() not in response.content, url
    for name, response in _listings(editor).items():
        assert response.status_code == 200, name
        body = response.content.decode()
        assert SECRET_TITLE not in body, name
        if name != "chooser":  # the chooser searches through its own backend query
            assert "Fraud awareness for all staff" in body, name  # the editor still finds public pages
    # and still edits public guidance
    assert editor.get(f"/admin/pages/{site['public'].pk}/edit/").status_code == 200


@pytest.mark.parametrize("role", ["content_owner", "administrator"])
def test_cleared_roles_edit_restricted_pages(site, role):
    client, _ = _client(role)
    for url in _admin_urls(site["secret"]):
        assert client.get(url).status_code == 200, url
    listings = _listings(client)
    assert SECRET_TITLE in listings["api"].content.decode()
    assert SECRET_TITLE in listings["search"].content.decode()


def test_a_restricted_reader_reads_on_the_site_but_has_no_admin(site):
    reader, user = _client("civil_servant", "aud-reader")
    user.groups.add(Group.objects.get(name=RESTRICTED_READERS))
    assert reader.get(site["secret"].url).status_code == 200
    admin = reader.get(f"/admin/pages/{site['secret'].pk}/edit/")
    assert admin.status_code == 302 and SECRET_TEXT.encode() not in admin.content


def test_restricted_guidance_must_be_created_in_a_restricted_section(site):
    owner, _ = _client("content_owner")
    policies = site["public"].get_parent()
    refused = owner.post(f"/admin/pages/add/knowledge/policypage/{policies.pk}/",
                         f.policy_form_data(audience="restricted", title="Misplaced"))
    assert refused.status_code == 200 and "belongs in a restricted section" in refused.content.decode()
    assert not PolicyPage.objects.filter(title="Misplaced").exists()
    created = owner.post(f"/admin/pages/add/knowledge/policypage/{site['section'].pk}/",
                         f.policy_form_data(audience="restricted", title="Well placed"))
    assert created.status_code == 302 and PolicyPage.objects.filter(title="Well placed").exists()


def test_ensure_roles_moves_editors_off_the_root_and_lists_misplaced_pages(site, capsys):
    from django.contrib.auth.models import Permission
    from wagtail.models import Page

    editors = Group.objects.get(name=EDITORS)
    root = Page.get_first_root_node()
    GroupPagePermission.objects.create(group=editors, page=root,  # as before issue 21
                                       permission=Permission.objects.get(codename="change_page"))
    misplaced = f.policy("Old restricted page", audience="restricted")  # in the public Policies section
    call_command("ensure_roles")
    granted = set(GroupPagePermission.objects.filter(group=editors).values_list("page__slug", flat=True))
    assert "policies" in granted and site["section"].slug not in granted and root.slug not in granted
    assert "Old restricted page" in capsys.readouterr().err
    call_command("ensure_roles")  # again: nothing changes
    assert set(GroupPagePermission.objects.filter(group=editors).values_list("page__slug", flat=True)) == granted
    assert misplaced.pk


def test_a_new_section_is_open_to_editors_until_it_is_made_restricted(django_capture_on_commit_callbacks):
    from wagtail.models import PageViewRestriction

    from knowledge.access import restricted_groups

    f.user("aud-sec", "editor")
    handbooks = f.section("handbooks")
    grants = GroupPagePermission.objects.filter(group__name=EDITORS, page=handbooks)
    assert grants.count() == 2  # add_page, change_page
    with django_capture_on_commit_callbacks(execute=True):
        restriction = PageViewRestriction.objects.create(page=handbooks, restriction_type=PageViewRestriction.GROUPS)
        restriction.groups.add(*restricted_groups())
    assert not grants.exists()
    with django_capture_on_commit_callbacks(execute=True):
        restriction.delete()
    assert grants.count() == 2


def test_the_home_page_names_the_restricted_section_only_to_its_audience(site):
    assert "Restricted guidance" not in Client().get("/").content.decode()
    assert "Restricted guidance" not in _client("editor")[0].get("/").content.decode()
    assert "Restricted guidance" in _client("content_owner")[0].get("/").content.decode()
