"""Where freshness shows: the public /freshness/ page, the managers' report
and CSV, the "My content" dashboard panel, the admin listing, lessons that
propose amendments, and search metadata."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from knowledge.freshness import Freshness
from knowledge.models import KnowledgePage, Notification, ReviewTask
from knowledge.sweep import run_sweep
from tests import factories as f

from .conftest import cite, publish_change, set_fields

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def site():
    manager = f.user("records-manager", "civil_servant")
    unit = f.unit("records", "Records Office")
    unit.manager = manager
    unit.save()
    other = f.unit("finance", "Finance")
    owner = f.user("records-owner", "content_owner")
    pages = [
        f.policy("Public overdue", owner=owner, unit_=unit, last_reviewed=D(2020, 1, 1)),
        f.policy("Public fresh", owner=owner, unit_=unit),
        f.policy("Internal overdue", owner=owner, unit_=unit, audience="internal", last_reviewed=D(2020, 1, 1)),
        f.policy("Restricted overdue 1", unit_=unit, audience="restricted", last_reviewed=D(2020, 1, 1)),
        f.policy("Restricted overdue 2", unit_=other, audience="restricted", last_reviewed=D(2020, 1, 1)),
    ]
    run_sweep(send_email=False)
    return {"unit": unit, "other": other, "manager": manager, "owner": owner, "pages": pages}


def test_public_figures_count_only_what_the_visitor_may_see(client, site):
    html = client.get("/freshness/").content.decode()
    assert "These figures count the 2 published pages open to the public" in html
    assert "<svg" in html and "Overdue for review (1)" in html  # trend: public pages only
    assert "Restricted" not in html.split("<h2>Over time</h2>")[0].replace("Rescinded", "")
    client.force_login(f.user("staff", "civil_servant"))
    html = client.get("/freshness/").content.decode()
    assert "count the 3 published pages you can see" in html and "Overdue for review (2)" in html
    client.force_login(f.user("cleared", "content_owner"))
    html = client.get("/freshness/").content.decode()
    assert "count the 5 published pages you can see" in html and "Overdue for review (4)" in html


def test_report_per_unit_with_csv_for_managers(client, site):
    url = reverse("knowledge_freshness_report")
    client.force_login(f.user("an-editor", "editor"))
    assert client.get(url).status_code in (302, 403)

    client.force_login(site["manager"])  # manages Records Office only; not cleared for restricted pages
    site["manager"].user_permissions.add(*_admin_access())
    html = client.get(url).content.decode()
    assert "Records Office" in html and "Finance" not in html
    assert "Public overdue" in html  # oldest items
    assert "Restricted overdue" not in html and "<svg" in html
    rows = _csv(client.get(url + "?export=csv"))
    assert [r["Unit"] for r in rows] == ["Records Office"]
    assert rows[0]["Pages"] == "3" and rows[0]["Overdue for review"] == "2" and rows[0]["Overdue for review %"] == "66.7"

    client.force_login(f.user("boss", "administrator"))
    rows = _csv(client.get(url + "?export=csv"))
    assert {r["Unit"]: r["Pages"] for r in rows} == {"Finance": "1", "Records Office": "4"}
    narrowed = client.get(url + f"?unit={site['other'].pk}").content.decode()
    assert "Restricted overdue 2" in narrowed and "Public overdue" not in narrowed


def _csv(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def _admin_access():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(codename="access_admin")


def test_my_content_panel_lists_due_work_with_one_click_review(client, site):
    client.force_login(site["owner"])
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    assert "My content" in html and "Public overdue" in html and "Internal overdue" in html
    assert "Public fresh" not in html
    review_url = reverse("knowledge_review", args=[site["pages"][0].pk])
    assert f'action="{review_url}"' in html
    response = client.post(review_url, {"next": reverse("wagtailadmin_home")})
    assert response["Location"] == reverse("wagtailadmin_home")
    assert KnowledgePage.objects.get(pk=site["pages"][0].pk).freshness == Freshness.FRESH
    assert "Public overdue</a>" not in client.get(reverse("wagtailadmin_home")).content.decode()


def test_notifications_show_in_the_panel_until_read(client, site):
    client.force_login(site["owner"])
    note = Notification.objects.get(recipient=site["owner"], kind="digest")
    assert note.subject in client.get(reverse("wagtailadmin_home")).content.decode()
    client.post(reverse("knowledge_notifications_read"), {"id": [note.pk]})
    note.refresh_from_db()
    assert note.read_at is not None
    assert note.subject not in client.get(reverse("wagtailadmin_home")).content.decode()


def test_admin_listing_shows_and_filters_freshness(client, site):
    client.force_login(f.user("boss2", "administrator"))
    url = reverse("knowledge_pages:index")
    html = client.get(url).content.decode()
    assert "Freshness" in html and 'data-freshness="overdue"' in html
    assert "Add knowledge page" not in html
    filtered = client.get(url + "?freshness=fresh").content.decode()
    assert "Public fresh" in filtered and "Public overdue" not in filtered


def test_section_listing_shows_the_state(client, site):
    html = client.get(site["pages"][0].get_parent().url).content.decode()
    assert "badge-overdue" in html and "badge-fresh" in html


def test_lesson_proposes_an_amendment_and_shows_the_outcome(client, site):
    target = f.procedure("Dispose of records", owner=site["owner"])
    lesson = f.lesson("Migration lesson", publish=False)
    lesson.amendment_target, lesson.proposed_amendment = target, "Sample migrated records before switch-off."
    lesson.save_revision().publish()
    task = ReviewTask.objects.get(kind="amendment", page=target)
    assert task.reviewer == site["owner"] and task.lesson_id == lesson.pk
    assert Notification.objects.filter(recipient=site["owner"], kind="amendment").exists()
    assert "Awaiting the owner" in client.get(lesson.url).content.decode()
    lesson.save_revision().publish()  # republishing opens nothing new
    assert ReviewTask.objects.filter(kind="amendment").count() == 1

    client.force_login(site["owner"])
    html = client.get(reverse("knowledge_review", args=[target.pk])).content.decode()
    assert "Sample migrated records before switch-off." in html
    client.post(reverse("knowledge_amendment_resolve", args=[task.pk]), {"outcome": "amended"})
    assert "Amendment made on" in client.get(lesson.url).content.decode()


def test_material_change_to_the_target_records_the_amendment_as_made(site):
    target = f.procedure("Archive transfer", owner=site["owner"])
    lesson = f.lesson("Transfer lesson", publish=False)
    lesson.amendment_target, lesson.proposed_amendment = target, "Add a checksum step."
    lesson.save_revision().publish()
    publish_change(target, "Checksum step added")
    assert ReviewTask.objects.get(kind="amendment").outcome == "amended"


def test_lesson_amendment_must_target_a_policy_or_procedure(site):
    from django.core.exceptions import ValidationError

    other_lesson = f.lesson("Other lesson")
    lesson = f.lesson("Bad target", publish=False)
    lesson.amendment_target, lesson.proposed_amendment = other_lesson, "Change it."
    with pytest.raises(ValidationError):
        lesson.full_clean()


def test_search_metadata_and_reindexing_follow_the_state(site, django_capture_on_commit_callbacks):
    from search.indexing import page_metadata
    from search.models import IndexOutbox

    page = site["pages"][1]
    with django_capture_on_commit_callbacks(execute=True):  # published and indexed, as after a commit
        dependent = f.procedure("Depends on the fresh one")
    cite(dependent, page)
    IndexOutbox.objects.all().delete()
    with django_capture_on_commit_callbacks() as callbacks:
        publish_change(page, "Rules rewritten")
    assert page_metadata(KnowledgePage.objects.get(pk=dependent.pk).specific)["freshness"] == "needs_review"
    assert IndexOutbox.objects.filter(page_id=dependent.pk, reason="freshness").exists()
    for callback in callbacks:  # the commit: the worker re-indexes
        callback()
    set_fields(dependent, freshness=Freshness.FRESH)  # stale stored state: the sweep notices and re-indexes
    IndexOutbox.objects.all().delete()
    run_sweep(send_email=False)
    assert IndexOutbox.objects.filter(page_id=dependent.pk, reason="freshness").exists()
