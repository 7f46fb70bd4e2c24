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
