"""The freshness sweep: reminders once per state, escalation after the
grace period, an interrupted sweep run again, the command's JSON summary,
review tasks, and hand-overs when owners leave or move."""

import datetime
import io
import json

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction

from knowledge.freshness import Freshness
from knowledge.models import (
    FreshnessSnapshot,
    KnowledgePage,
    Notification,
    OwnershipTransfer,
    Reminder,
    ReviewTask,
)
from knowledge.sweep import run_sweep
from tests import factories as f

from .conftest import publish_change, set_fields

pytestmark = pytest.mark.django_db
D = datetime.date
TODAY = D(2025, 1, 1)


@pytest.fixture
def org():
    manager = f.user("unit-manager", "content_owner")
    lead = f.user("content-lead", "content_owner")
    unit = f.unit("records", "Records Office")
    unit.manager, unit.content_lead = manager, lead
    unit.save()
    owners = [f.user(f"owner-{i}", "content_owner") for i in range(3)]
    pages = {
        "due_soon": f.policy("Due soon", owner=owners[0], unit_=unit, last_reviewed=D(2024, 1, 10)),
        "overdue": f.policy("Overdue", owner=owners[0], unit_=unit, last_reviewed=D(2023, 12, 20)),
        "escalated": f.policy("Escalated", owner=owners[1], unit_=unit, last_reviewed=D(2023, 6, 1)),
        "fresh": f.policy("Fresh", owner=owners[1], unit_=unit, last_reviewed=D(2024, 10, 1)),
        "other": f.policy("Other owner's", owner=owners[2], unit_=unit, last_reviewed=D(2023, 12, 1)),
    }
    mail.outbox.clear()
    return {"unit": unit, "manager": manager, "lead": lead, "owners": owners, "pages": pages}


def digests(user):
    return Notification.objects.filter(recipient=user, kind="digest")


def test_states_tasks_and_one_digest_per_owner(org):
    summary = run_sweep(today=TODAY)
    pages = org["pages"]
    state = {k: KnowledgePage.objects.get(pk=p.pk).freshness for k, p in pages.items()}
    assert state == {"due_soon": "due_soon", "overdue": "overdue", "escalated": "overdue", "fresh": "fresh",
                     "other": "overdue"}
    assert summary.states["overdue"] == 3 and summary.states["due_soon"] == 1
    first = org["owners"][0]
    note = digests(first).get()
    assert "Due soon" in note.body and "Overdue" in note.body
    assert set(note.reminders.values_list("page__title", flat=True)) == {"Due soon", "Overdue"}
    task = ReviewTask.objects.get(page=pages["due_soon"], kind="cycle")
    assert task.reviewer == first and task.due_date == D(2025, 1, 10)
    assert len(mail.outbox) == 4  # three owners' digests and the manager's escalation
    assert summary.emails_sent == 4


def test_reminders_are_not_sent_twice_for_the_same_state(org):
    run_sweep(today=TODAY)
    count, sent = Notification.objects.count(), len(mail.outbox)
    again = run_sweep(today=TODAY)
    later = run_sweep(today=D(2025, 1, 5))  # same states, days later
    assert Notification.objects.count() == count and len(mail.outbox) == sent
    assert again.reminders == later.reminders == 0 and again.emails_sent == 0
    # "due soon" becomes "overdue": that is news, and only that page is in the next digest
    run_sweep(today=D(2025, 1, 11))
    newest = digests(org["owners"][0]).order_by("-pk").first()
    assert list(newest.reminders.values_list("page__title", "state")) == [("Due soon", "overdue")]
    assert Reminder.objects.filter(page=org["pages"]["due_soon"]).count() == 2


def test_escalation_to_the_unit_manager_after_the_grace_period(org, settings):
    settings.KM_REVIEW_GRACE_DAYS = 30
    escalated = org["pages"]["escalated"]  # due 2024-06-01
    run_sweep(today=D(2024, 7, 1))  # overdue by exactly 30 days: not yet
    assert not Notification.objects.filter(kind="escalation").exists()
    run_sweep(today=D(2024, 7, 2))
    note = Notification.objects.get(kind="escalation")
    assert note.recipient == org["manager"] and "Escalated" in note.body and "owner-1" in note.body
    run_sweep(today=D(2024, 8, 1))
    assert Notification.objects.filter(kind="escalation", body__contains="Escalated").count() == 1
    assert Reminder.objects.filter(page=escalated, key__startswith="e:").count() == 1


def signature():
    """Everything a sweep decides, without timestamps."""
    return {
        "pages": sorted(KnowledgePage.objects.values_list("pk", "freshness", "review_due")),
        "tasks": sorted(ReviewTask.objects.values_list("key", "reviewer_id", "due_date", "completed_at")),
        "reminders": sorted(Reminder.objects.values_list("key", "recipient_id", "notification__key")),
        "notifications": sorted(Notification.objects.values_list("key", "recipient_id", "subject", "body")),
        "emailed": Notification.objects.filter(emailed_at__isnull=False).count(),
        "snapshot": sorted(FreshnessSnapshot.objects.values_list("date", "unit_id", "state", "visibility", "count")),
        "outbox": sorted((m.to[0], m.subject) for m in mail.outbox),
    }


class Interrupt(Exception):
    pass


class StopAfter:
    """A progress reporter that kills the sweep part-way through a stage."""

    def __init__(self, stage, after):
        self.stage, self.after, self.current, self.done = stage, after, None, 0

    def start(self, label, total):
        self.current, self.done = label, 0

    def advance(self, n=1):
        self.done += n
        if self.current == self.stage and self.done >= self.after:
            raise Interrupt(self.current)

    def finish(self):
        pass


@pytest.mark.parametrize("stage,after", [("Freshness states", 2), ("Owner digests", 1), ("Escalations", 1)])
def test_an_interrupted_sweep_run_again_ends_in_the_same_state(org, stage, after):
    publish_change(org["pages"]["fresh"], material=False)  # some history to carry along
    mail.outbox.clear()
    with transaction.atomic():  # the reference: one uninterrupted sweep, then rolled back
        point = transaction.savepoint()
        run_sweep(today=TODAY, batch_size=2)
        expected = signature()
        transaction.savepoint_rollback(point)
    mail.outbox.clear()
    assert not Notification.objects.exists()

    with pytest.raises(Interrupt):
        run_sweep(today=TODAY, batch_size=2, progress=StopAfter(stage, after))
    run_sweep(today=TODAY, batch_size=2)
    assert signature() == expected
    run_sweep(today=TODAY, batch_size=2)  # and it is a fixed point
    assert signature() == expected


def test_command_writes_a_json_summary_and_shows_progress(org, tmp_path):
    out = io.StringIO()
    target = tmp_path / "sweep.json"
    call_command("freshness_sweep", json=str(target), date="2025-01-01", stdout=out)
    data = json.loads(target.read_text())
    assert data["states"]["overdue"] == 3 and data["states"]["due_soon"] == 1 and data["pages"] == 5
    assert data["notifications"] == {"digest": 3, "escalation": 1} and data["emails_sent"] == 4
    text = out.getvalue()
    assert "Freshness states [" in text and "Owner digests [" in text and "Summary written to" in text


def test_snapshot_is_replaced_not_added_to(org):
    run_sweep(today=TODAY)
    rows = sorted(FreshnessSnapshot.objects.values_list("unit_id", "state", "visibility", "count"))
    run_sweep(today=TODAY)
    assert sorted(FreshnessSnapshot.objects.values_list("unit_id", "state", "visibility", "count")) == rows
    assert sum(r[3] for r in rows) == 5
    assert (org["unit"].pk, "overdue", "public", 3) in rows


def test_stale_cycle_tasks_are_cancelled_and_review_completes_them(org):
    from knowledge.review import confirm_review

    page = org["pages"]["due_soon"]
    run_sweep(today=TODAY)
    task = ReviewTask.objects.get(page=page, kind="cycle")
    set_fields(page, review_interval_months=24)  # the cycle moved a year on
    run_sweep(today=TODAY)
    task.refresh_from_db()
    assert task.outcome == "cancelled"
    overdue = org["pages"]["overdue"]
    confirm_review(overdue, org["owners"][0])
    assert ReviewTask.objects.get(page=overdue, kind="cycle").outcome == "reviewed"


def test_deactivated_owner_hands_pages_to_the_content_lead(org):
    leaving = org["owners"][0]
    run_sweep(today=TODAY)
    old_revision = org["pages"]["due_soon"].get_latest_revision()
    leaving.is_active = False
    leaving.save()
    moved = KnowledgePage.objects.filter(pk__in=[org["pages"]["due_soon"].pk, org["pages"]["overdue"].pk])
    assert set(moved.values_list("owner_user_id", flat=True)) == {org["lead"].pk}
    assert OwnershipTransfer.objects.filter(from_user=leaving, to_user=org["lead"], reason="deactivated").count() == 2
    note = Notification.objects.get(recipient=org["lead"], kind="ownership")
    assert "Due soon" in note.body and "Overdue" in note.body
    assert not ReviewTask.objects.open().filter(reviewer=leaving).exists()
    # publishing a revision written before the hand-over does not hand the page back
    old_revision.publish()
    assert KnowledgePage.objects.get(pk=org["pages"]["due_soon"].pk).owner_user == org["lead"]


def test_owner_moving_unit_hands_over_the_old_units_pages(org):
    from training.models import StaffProfile

    mover = org["owners"][1]
    StaffProfile.objects.create(user=mover, unit=org["unit"])
    elsewhere = f.unit("finance", "Finance")
    keeps = f.policy("Finance page", owner=mover, unit_=elsewhere)
    profile = StaffProfile.objects.get(user=mover)
    profile.unit = elsewhere
    profile.save()
    assert KnowledgePage.objects.get(pk=org["pages"]["escalated"].pk).owner_user == org["lead"]
    assert KnowledgePage.objects.get(pk=keeps.pk).owner_user == mover
    assert OwnershipTransfer.objects.get(page=org["pages"]["fresh"]).reason == "moved"


def test_without_any_content_lead_administrators_are_told(org):
    admin = f.user("the-admin", "administrator")
    loner = f.user("loner", "content_owner")
    orphan_unit = f.unit("orphans", "Orphan Unit")
    page = f.policy("Orphan page", owner=loner, unit_=orphan_unit)
    loner.is_active = False
    loner.save()
    assert KnowledgePage.objects.get(pk=page.pk).owner_user is None
    assert OwnershipTransfer.objects.get(page=page).to_user is None
    assert Notification.objects.filter(recipient=admin, kind="ownership", body__contains="Orphan page").exists()


def test_sweep_catches_owners_deactivated_without_signals(org):
    quiet = org["owners"][2]
    type(quiet).objects.filter(pk=quiet.pk).update(is_active=False)  # bulk update: no signal
    summary = run_sweep(today=TODAY)
    assert summary.transfers == 1
    assert KnowledgePage.objects.get(pk=org["pages"]["other"].pk).owner_user == org["lead"]
    assert Freshness.OVERDUE in Reminder.objects.filter(recipient=org["lead"]).values_list("state", flat=True)
