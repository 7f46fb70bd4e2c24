"""Whether a page can still be trusted: its freshness state.

The rules live in ``compute_state``, a pure function of a page's review due
date, policy status and open "a cited page changed" flags, so that one page
(``freshness_state``) and the nightly sweep over every page (``sweep.py``)
cannot disagree.

Dates are calendar dates in the site's time zone (``TIME_ZONE``): a page
first published at 23:30 UTC on 28 February in Auckland was published on
1 March there, and its review falls due on a 1st.
"""

import datetime

from django.conf import settings
from django.utils import timezone


class Freshness:
    FRESH = "fresh"
    DUE_SOON = "due_soon"
    NEEDS_REVIEW = "needs_review"
    OVERDUE = "overdue"
    SUPERSEDED = "superseded"
    RESCINDED = "rescinded"

    LABELS = {
        FRESH: "Up to date",
        DUE_SOON: "Review due soon",
        NEEDS_REVIEW: "Needs review",
        OVERDUE: "Overdue for review",
        SUPERSEDED: "Superseded",
        RESCINDED: "Rescinded",
    }
    ORDER = [FRESH, DUE_SOON, NEEDS_REVIEW, OVERDUE, SUPERSEDED, RESCINDED]
    CHOICES = list(zip(ORDER, map(LABELS.get, ORDER), strict=True))
    # States an owner is reminded about (superseded and rescinded pages are
    # history: nobody reviews them).
    ATTENTION = (DUE_SOON, NEEDS_REVIEW, OVERDUE)


def due_soon_days():
    return int(getattr(settings, "KM_REVIEW_DUE_SOON_DAYS", 30))


def due_soon_window():
    return datetime.timedelta(days=due_soon_days())


def grace_days():
    """Days a review may be overdue before the unit's manager is told."""
    return int(getattr(settings, "KM_REVIEW_GRACE_DAYS", 30))


def propagation_depth():
    """How many hops of "cites" a material change is followed."""
    return max(1, int(getattr(settings, "KM_PROPAGATION_DEPTH", 2)))


def add_months(day, months):
    """``day`` plus whole calendar months, clamped to the month's last day
    (31 January + 1 month = 28 or 29 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def review_start(last_reviewed_at, first_published_at):
    """The date the current review cycle started: the last review, else the
    first publication (as a local calendar date)."""
    if last_reviewed_at is not None:
        return last_reviewed_at
    if first_published_at is not None:
        return timezone.localdate(first_published_at) if timezone.is_aware(first_published_at) else first_published_at.date()
    return None


def review_due_date(last_reviewed_at, first_published_at, interval_months):
    start = review_start(last_reviewed_at, first_published_at)
    return add_months(start, interval_months) if start is not None else None


def compute_state(*, due, today, status=None, superseded=False, flagged=False, window_days=None):
    """The freshness state from its inputs. A page due today is due soon,
    not overdue; it becomes overdue the day after."""
    if status == Freshness.SUPERSEDED or superseded:
        return Freshness.SUPERSEDED
    if status == Freshness.RESCINDED:
        return Freshness.RESCINDED
    if flagged:
        return Freshness.NEEDS_REVIEW
    if due is None:
        return Freshness.FRESH
    if due < today:
        return Freshness.OVERDUE
    window = due_soon_days() if window_days is None else window_days
    if (due - today).days <= window:
        return Freshness.DUE_SOON
    return Freshness.FRESH


def days_overdue(due, today):
    return (today - due).days if due is not None and due < today else 0


def is_escalated(due, today, grace=None):
    """Overdue by more than the grace period (not merely by exactly it)."""
    grace = grace_days() if grace is None else grace
    return days_overdue(due, today) > grace


def freshness_state(page, today=None):
    """The freshness state of a specific knowledge page on ``today``."""
    today = today or timezone.localdate()
    superseded = False
    supersede_check = getattr(page, "superseded_in_force", None)
    if callable(supersede_check):
        superseded = supersede_check(today)
    return compute_state(
        due=page.next_review_due,
        today=today,
        status=getattr(page, "status", None),
        superseded=superseded,
        flagged=page.has_open_flags() if getattr(page, "pk", None) else False,
    )
