"""Celery tasks for freshness. They take no model instances, are idempotent,
and acknowledge late: a sweep killed half way is simply run again."""

import logging

from celery import shared_task
from django.core.cache import cache

logger = logging.getLogger("govkm.knowledge")
SWEEP_LOCK = "knowledge:freshness-sweep:lock"


@shared_task(acks_late=True, soft_time_limit=1500, time_limit=1800)
def freshness_sweep(today=None):
    """The nightly sweep (beat): states, review tasks, digests, escalations,
    figures. ``today`` (YYYY-MM-DD) is for replays and tests."""
    import datetime

    from .sweep import run_sweep

    if not cache.add(SWEEP_LOCK, "1", timeout=1800):
        logger.info("freshness sweep already running; skipped")
        return None
    try:
        day = datetime.date.fromisoformat(today) if today else None
        summary = run_sweep(today=day)
    finally:
        cache.delete(SWEEP_LOCK)
    logger.info("freshness sweep: %s", summary.as_dict())
    return summary.as_dict()


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def send_notification_emails():
    """E-mail notifications recorded since the last send (each at most once)."""
    from .notify import send_pending

    return send_pending()


# --- following guidance (knowledge/subscriptions) -------------------------------
def _retry_seconds():
    from django.conf import settings

    return int(getattr(settings, "KM_NOTIFY_RETRY_SECONDS", 300))


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def fan_out_change(change_id):
    """One delivery per follower of a change, then the immediate e-mails."""
    from .subscriptions.changes import fan_out

    created = fan_out(change_id)
    send_follow_emails.delay("immediate")
    return created


@shared_task(bind=True, acks_late=True, max_retries=None, soft_time_limit=3000, time_limit=3600)
def send_follow_emails(self, frequency):
    """Send what is due at ``frequency`` (immediate, daily, weekly; beat for
    digests). An unreachable SMTP server means a retry later: the rows wait."""
    from .subscriptions.delivery import DeliveryDeferred, send_due

    try:
        return send_due(frequency)
    except DeliveryDeferred as exc:
        raise self.retry(exc=exc, countdown=_retry_seconds()) from exc


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def follow_sweep():
    """Fan out changes whose task was lost; resend immediate mail left over."""
    from .models import GuidanceChange
    from .subscriptions.changes import fan_out

    for pk in GuidanceChange.objects.filter(fanned_out=False).values_list("pk", flat=True)[:200]:
        fan_out(pk)
    send_follow_emails.delay("immediate")
