"""The "Confirm still accurate" action: permissions per role, CSRF, audit
log and history, no new revision, flags cleared."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from wagtail.models import PageLogEntry

from knowledge.freshness import Freshness
from knowledge.models import KnowledgePage, ReviewTask
from knowledge.review import REVIEW_ACTION
from tests import factories as f
from tests.conftest import Today

from .conftest import cite, publish_change

pytestmark = pytest.mark.django_db


@pytest.fixture
def page():
    owner = f.user("page-owner", "content_owner")
    return f.policy("Expenses policy", owner=owner, last_reviewed=datetime.date(2020, 1, 1))


def review_url(page):
    return reverse("knowledge_review", args=[page.pk])


@pytest.mark.parametrize(
    "who,allowed",
    [
        ("owner", True),  # the page's owner
        ("content_owner", True),  # content owners may edit every page here
        ("administrator", True),
        ("editor", False),  # may edit, but reviewing is the owners' call
        ("hr", False),
        ("civil_servant", False),
        ("anonymous", False),
    ],
)
def test_review_permissions_per_role(client, page, who, allowed):
    if who == "owner":
        client.force_login(page.owner_user)
    elif who != "anonymous":
        client.force_login(f.user(f"u-{who}", who))
    today = Today()
    response = client.post(review_url(page), {"comment": "Checked against the 2025 rules."})
    page.refresh_from_db()
    if allowed:
        assert response.status_code == 302
        assert page.last_reviewed_at in today
    else:
        assert response.status_code in (302, 403)
        if response.status_code == 302:  # Wagtail sends refused staff to the dashboard, others to log in
            assert response["Location"] == "/admin/" or "/admin/login/" in response["Location"]
        assert page.last_reviewed_at == datetime.date(2020, 1, 1)
        assert not PageLogEntry.objects.filter(page=page, action=REVIEW_ACTION).exists()


def test_named_reviewer_of_an_open_task_may_review(client, page):
    deputy = f.user("deputy", "editor")
    ReviewTask.objects.create(key="t1", page=page, kind="cycle", reviewer=deputy, due_date=timezone.localdate())
    client.force_login(deputy)
    assert client.get(review_url(page)).status_code == 200
    assert client.post(review_url(page), {}).status_code == 302


def test_review_is_csrf_protected_post(page):
    client = Client(enforce_csrf_checks=True)
    client.force_login(page.owner_user)
    assert client.post(review_url(page), {"comment": "x"}).status_code == 403
    page.refresh_from_db()
    assert page.last_reviewed_at == datetime.date(2020, 1, 1)
    # the confirmation page carries the token; posting with it works
    form = client.get(review_url(page))
    token = form.context["csrf_token"]
    response = client.post(review_url(page), {"comment": "ok", "csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302


def test_review_logs_without_a_new_revision_and_shows_in_history(client, page):
    revisions_before = page.revisions.count()
    live_revision = page.live_revision_id
    client.force_login(page.owner_user)
    client.post(review_url(page), {"comment": "Rates checked with Treasury."})
    page.refresh_from_db()
    assert page.revisions.count() == revisions_before and page.live_revision_id == live_revision
    entry = PageLogEntry.objects.get(page=page, action=REVIEW_ACTION)
    assert entry.user == page.owner_user and not entry.content_changed
    assert entry.data["comment"] == "Rates checked with Treasury."
    assert entry.data["previous_review"] == "2020-01-01"
    history = client.get(reverse("wagtailadmin_pages:history", args=[page.pk])).content.decode()
    assert "Confirmed still accurate" in history and "Rates checked with Treasury." in history
    assert page.freshness == Freshness.FRESH and page.review_due > timezone.localdate()


def test_review_clears_cited_change_flags(client, page):
    dependent = f.procedure("Claim travel expenses", owner=page.owner_user)
    cite(dependent, page)
    publish_change(page, "Mileage rate raised to 30p")
    dependent.refresh_from_db()
    assert dependent.freshness == Freshness.NEEDS_REVIEW
    client.force_login(page.owner_user)
    client.post(review_url(dependent), {})
    dependent.refresh_from_db()
    assert dependent.freshness == Freshness.FRESH
    assert not ReviewTask.objects.open().filter(page=dependent).exists()
    assert ReviewTask.objects.get(page=dependent).outcome == "reviewed"


def test_review_buttons_in_header_and_listing_menus(client, page):
    client.force_login(page.owner_user)
    edit = client.get(reverse("wagtailadmin_pages:edit", args=[page.pk])).content.decode()
    assert review_url(page) in edit and "Confirm still accurate" in edit
    listing = client.get(reverse("wagtailadmin_explore", args=[page.get_parent().pk])).content.decode()
    assert review_url(page) in listing
    client.force_login(f.user("just-editor", "editor"))
    edit = client.get(reverse("wagtailadmin_pages:edit", args=[page.pk])).content.decode()
    assert review_url(page) not in edit


def test_review_page_explains_why_review_is_needed(client, page):
    cited = f.policy("Per diem rates")
    cite(page, cited)
    publish_change(cited, "New per diem for Oslo")
    client.force_login(page.owner_user)
    html = client.get(review_url(page)).content.decode()
    assert "Per diem rates changed on" in html and "New per diem for Oslo" in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_only_an_on_time_review_counts_as_training_evidence(page, django_capture_on_commit_callbacks):
    """Through knowledge's ``page_reviewed`` signal: training records the
    evidence once the review commits."""
    from knowledge.review import confirm_review
    from tests.training import factories as tf
    from training.models import CompetenceEvidenceRule, LevelEvidence

    _, competences = tf.framework(codes=("KM1",))
    CompetenceEvidenceRule.objects.create(competence=competences["KM1"], kind="review_on_time")
    stored = KnowledgePage.objects.get(pk=page.pk).specific
    with django_capture_on_commit_callbacks(execute=True):
        confirm_review(stored, page.owner_user)  # due in 2021: late, no evidence
    assert not LevelEvidence.objects.filter(user=page.owner_user).exists()
    with django_capture_on_commit_callbacks() as callbacks:
        confirm_review(stored, page.owner_user)  # now due next year: on time
    assert not LevelEvidence.objects.filter(user=page.owner_user).exists()  # not before the commit
    for callback in callbacks:
        callback()
    evidence = LevelEvidence.objects.get(user=page.owner_user)
    assert evidence.knowledge_kind == "review_on_time" and evidence.page_id == page.pk
