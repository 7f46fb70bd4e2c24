"""Whether a page can still be trusted: its freshness state."""

import datetime

from django.conf import settings
from django.utils import timezone


class Freshness:
    FRESH = "fresh"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    SUPERSEDED = "superseded"
    RESCINDED = "rescinded"

    LABELS = {
        FRESH: "Up to date",
        DUE_SOON: "Review due soon",
        OVERDUE: "Overdue for review",
        SUPERSEDED: "Superseded",
        RESCINDED: "Rescinded",
    }


def due_soon_window():
    return datetime.timedelta(days=getattr(settings, "KM_REVIEW_DUE_SOON_DAYS", 30))


def freshness_state(page, today=None):
    """The freshness state of a specific knowledge page on ``today``."""
    today = today or timezone.localdate()
    status = getattr(page, "status", None)
    if status == Freshness.SUPERSEDED:
        return Freshness.SUPERSEDED
    if status == Freshness.RESCINDED:
        return Freshness.RESCINDED
    due = page.next_review_due
    if due is None:
        return Freshness.FRESH
    if due < today:
        return Freshness.OVERDUE
    if due - today <= due_soon_window():
        return Freshness.DUE_SOON
    return Freshness.FRESH
