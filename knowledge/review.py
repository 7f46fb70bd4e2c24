"""The review action: an owner confirms a page is still accurate.

Reviewing is separate from editing. It sets ``last_reviewed_at`` with a
queryset update (no new revision), closes the page's open scheduled-review
and "cited page changed" tasks, writes a ``knowledge.review`` entry to the
audit log (shown in the page's history), and announces it
(``signals.page_reviewed``): search re-indexes the page's freshness, and
training counts an on-time review as evidence of competence.
"""

from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log

from .freshness import Freshness, freshness_state
from .models import KnowledgePage, ReviewTask
from .roles import ADMINISTRATORS, CONTENT_OWNERS
from .signals import page_reviewed

REVIEW_ACTION = "knowledge.review"
AMENDMENT_ACTION = "knowledge.amendment"


def _in_group(user, name):
    return user.groups.filter(name=name).exists()


def can_review(user, page):
    """Page owner, content owners who may edit the page, the named reviewer
    of an open task on it, and administrators."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or _in_group(user, ADMINISTRATORS):
        return True
    if page.owner_user_id == user.pk:
        return True
    if ReviewTask.objects.open().filter(page_id=page.pk, reviewer=user).exists():
        return True
    return _in_group(user, CONTENT_OWNERS) and page.permissions_for_user(user).can_edit()


def content_lead_for(unit, exclude_user_id=None):
    """The unit's content lead, else the nearest one above it (never the
    person being replaced, never an inactive account)."""
    seen = set()
    while unit is not None and unit.pk not in seen:
        seen.add(unit.pk)
        lead = unit.content_lead
        if lead is not None and lead.is_active and lead.pk != exclude_user_id:
            return lead
        unit = unit.parent
    return None


def manager_for(unit):
    """The unit's manager, else the nearest manager above it."""
    seen = set()
    while unit is not None and unit.pk not in seen:
        seen.add(unit.pk)
        if unit.manager is not None and unit.manager.is_active:
            return unit.manager
        unit = unit.parent
    return None


def reviewer_for(page):
    """Who reviews ``page``: its owner, or the unit's content lead."""
    owner = page.owner_user
    if owner is not None and owner.is_active:
        return owner
    return content_lead_for(page.unit)


@transaction.atomic
def confirm_review(page, user, comment="", today=None):
    """Record that ``user`` confirmed ``page`` is still accurate. Returns the log entry."""
    today = today or timezone.localdate()
    now = timezone.now()
    page = KnowledgePage.objects.select_for_update().get(pk=page.pk).specific
    comment = (comment or "").strip()
    was_due = page.next_review_due
    previous = page.last_reviewed_at
    ReviewTask.objects.open().filter(
        page_id=page.pk, kind__in=[ReviewTask.Kind.CYCLE, ReviewTask.Kind.CITED_CHANGE]
    ).update(completed_at=now, completed_by=user, outcome=ReviewTask.Outcome.REVIEWED, outcome_comment=comment)
    page.last_reviewed_at = today
    due = page.next_review_due
    state = freshness_state(page, today) if page.live else Freshness.FRESH
    KnowledgePage.objects.filter(pk=page.pk).update(last_reviewed_at=today, review_due=due, freshness=state)
    page.review_due, page.freshness = due, state
    entry = log(
        instance=page,
        action=REVIEW_ACTION,
        user=user,
        data={
            "comment": comment,
            "reviewed_on": today.isoformat(),
            "previous_review": previous.isoformat() if previous else None,
            "was_due": was_due.isoformat() if was_due else None,
            "next_review_due": due.isoformat() if due else None,
        },
        content_changed=False,
    )
    page_reviewed.send(
        sender=KnowledgePage, page_id=page.pk, user_id=getattr(user, "pk", None), reviewed_on=today,
        on_time=was_due is None or today <= was_due,
    )
    return entry


@transaction.atomic
def resolve_amendment(task, user, outcome, comment=""):
    """The owner says whether a lesson's proposed amendment was made."""
    if outcome not in (ReviewTask.Outcome.AMENDED, ReviewTask.Outcome.DECLINED):
        raise ValueError(f"unknown amendment outcome {outcome!r}")
    updated = ReviewTask.objects.open().filter(pk=task.pk, kind=ReviewTask.Kind.AMENDMENT).update(
        completed_at=timezone.now(), completed_by=user, outcome=outcome, outcome_comment=(comment or "").strip()
    )
    if updated:
        log(
            instance=task.page.specific,
            action=AMENDMENT_ACTION,
            user=user,
            data={"outcome": outcome, "lesson": task.lesson.title if task.lesson else "", "comment": comment},
            content_changed=False,
        )
    return bool(updated)
