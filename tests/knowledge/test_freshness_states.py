"""Freshness state computation: the rules at their boundaries."""

import datetime

import pytest
from django.utils import timezone

from knowledge.freshness import (
    Freshness,
    add_months,
    compute_state,
    freshness_state,
    is_escalated,
    review_due_date,
)
from knowledge.models import KnowledgePage
from knowledge.sweep import run_sweep
from tests import factories as f
from tests.conftest import Today

from .conftest import set_fields

D = datetime.date


@pytest.mark.parametrize(
    "today,expected",
    [
        (D(2025, 1, 28), Freshness.FRESH),  # 31 days before: outside the 30-day window
        (D(2025, 1, 29), Freshness.DUE_SOON),  # exactly 30 days before
        (D(2025, 2, 28), Freshness.DUE_SOON),  # due today is not yet overdue
        (D(2025, 3, 1), Freshness.OVERDUE),  # the day after
    ],
)
def test_due_dates_at_the_boundaries(today, expected):
    due = review_due_date(D(2025, 1, 31), None, 1)
    assert due == D(2025, 2, 28)  # 31 January + 1 month, clamped
    assert compute_state(due=due, today=today, window_days=30) == expected


def test_due_soon_window_follows_the_setting(settings):
    due = D(2025, 6, 30)
    settings.KM_REVIEW_DUE_SOON_DAYS = 7
    assert compute_state(due=due, today=D(2025, 6, 22)) == Freshness.FRESH
    assert compute_state(due=due, today=D(2025, 6, 23)) == Freshness.DUE_SOON


def test_grace_period_boundary(settings):
    settings.KM_REVIEW_GRACE_DAYS = 30
    due = D(2025, 2, 28)
    assert not is_escalated(due, D(2025, 3, 30))  # overdue by exactly 30 days
    assert is_escalated(due, D(2025, 3, 31))  # by 31
    assert not is_escalated(None, D(2030, 1, 1))


def test_add_months_clamps_and_crosses_years():
    assert add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert add_months(D(2025, 1, 31), 1) == D(2025, 2, 28)
    assert add_months(D(2025, 11, 30), 3) == D(2026, 2, 28)
    assert add_months(D(2025, 5, 15), 24) == D(2027, 5, 15)


def test_precedence_of_states():
    due = D(2020, 1, 1)  # long overdue
    today = D(2025, 1, 1)
    assert compute_state(due=due, today=today) == Freshness.OVERDUE
    assert compute_state(due=due, today=today, flagged=True) == Freshness.NEEDS_REVIEW
    assert compute_state(due=due, today=today, flagged=True, status="superseded") == Freshness.SUPERSEDED
    assert compute_state(due=due, today=today, status="rescinded") == Freshness.RESCINDED
    assert compute_state(due=None, today=today) == Freshness.FRESH


@pytest.mark.parametrize("zone,start,due", [
    ("UTC", D(2025, 2, 28), D(2025, 3, 28)),
    ("Pacific/Auckland", D(2025, 3, 1), D(2025, 4, 1)),  # 23:30 UTC is already the next morning there
])
def test_first_publication_counts_in_the_site_time_zone(settings, zone, start, due):
    settings.TIME_ZONE = zone
    published = datetime.datetime(2025, 2, 28, 23, 30, tzinfo=datetime.UTC)
    assert timezone.localdate(published) == start
    assert review_due_date(None, published, 1) == due


@pytest.mark.django_db
@pytest.mark.parametrize("zone,expected", [("UTC", Freshness.OVERDUE), ("Pacific/Auckland", Freshness.DUE_SOON)])
def test_page_and_sweep_agree_across_time_zones(settings, zone, expected):
    settings.TIME_ZONE = zone
    page = f.policy("Boundary policy", review_interval_months=1)
    set_fields(page, first_published_at=datetime.datetime(2025, 2, 28, 23, 30, tzinfo=datetime.UTC))
    today = D(2025, 3, 30)
    assert freshness_state(page, today) == expected
    run_sweep(today=today, send_email=False)
    assert KnowledgePage.objects.get(pk=page.pk).freshness == expected


@pytest.mark.django_db
def test_single_page_and_bulk_sweep_agree():
    today = D(2025, 6, 1)
    old = f.policy("Old policy", status="in_force")
    pages = [
        f.policy("Reviewed long ago", last_reviewed=D(2023, 1, 1)),
        f.policy("Reviewed recently", last_reviewed=D(2025, 5, 1)),
        f.policy("Due in a fortnight", last_reviewed=D(2024, 6, 15)),
        f.policy("Rescinded one", status="rescinded", last_reviewed=D(2020, 1, 1)),
        f.procedure("Six-monthly procedure"),
        f.policy("Successor", supersedes=old),  # takes effect 2024-01-01: the old one is superseded in fact
    ]
    set_fields(pages[4], last_reviewed_at=D(2024, 12, 20))
    summary = run_sweep(today=today, send_email=False)
    for page in [old, *pages]:
        stored = KnowledgePage.objects.get(pk=page.pk)
        assert stored.freshness == freshness_state(stored.specific, today), page.title
    assert KnowledgePage.objects.get(pk=old.pk).freshness == Freshness.SUPERSEDED
    assert KnowledgePage.objects.get(pk=pages[2].pk).freshness == Freshness.DUE_SOON
    assert KnowledgePage.objects.get(pk=pages[4].pk).freshness == Freshness.DUE_SOON  # 6-month default
    assert summary.states[Freshness.OVERDUE] == 1 and summary.states[Freshness.RESCINDED] == 1


@pytest.mark.django_db
def test_publishing_an_old_draft_does_not_undo_a_review():
    from knowledge.review import confirm_review

    owner = f.user("rev-owner", "content_owner")
    page = f.policy("Drafted then reviewed", owner=owner, last_reviewed=D(2023, 1, 1))
    draft = page.get_latest_revision_as_object()
    draft.title = "Drafted then reviewed (edited)"
    revision = draft.save_revision(user=owner)  # draft written before the review
    today = Today()
    confirm_review(page, owner, "checked")
    revision.publish(user=owner)
    stored = KnowledgePage.objects.get(pk=page.pk)
    assert stored.title.endswith("(edited)")
    assert stored.last_reviewed_at in today
    assert stored.freshness == Freshness.FRESH
