"""Celery tasks for the search index. They take primary keys, are
idempotent, and acknowledge late so a killed worker's task runs again."""

import logging

from celery import shared_task
from django.utils import timezone

from .indexing import index_page, record_failure
from .models import IndexOutbox

logger = logging.getLogger("govkm.search")
MAX_RETRIES = 5


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=120,
    time_limit=180,
)
def index_page_task(self, page_id, revision_id=None, outbox_id=None):
    try:
        outcome = index_page(page_id, revision_id)
    except Exception as exc:
        attempts = self.request.retries + 1
        record_failure(page_id, exc, attempts)
        logger.warning("indexing page %s failed (attempt %s): %s", page_id, attempts, exc)
        if self.request.retries >= self.max_retries:
            raise  # the outbox row stays; the admin report shows the page
        raise self.retry(exc=exc, countdown=min(600, 2 ** (self.request.retries + 1))) from exc
    if outbox_id is not None:
        IndexOutbox.objects.filter(pk=outbox_id).delete()
    return outcome


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def index_pages_task(page_ids, outbox_ids=None):
    """Index a batch of pages (from ``schedule_many``). A page that fails
    keeps its outbox row, so ``drain_outbox`` tries it again later."""
    failed = []
    for page_id in page_ids:
        try:
            index_page(page_id)
        except Exception as exc:
            record_failure(page_id, exc, 1)
            failed.append(page_id)
    if outbox_ids:
        IndexOutbox.objects.filter(pk__in=outbox_ids).exclude(page_id__in=failed).delete()
    return {"indexed": len(page_ids) - len(failed), "failed": failed}


@shared_task(acks_late=True, time_limit=600)
def drain_outbox(older_than_seconds=20, batch=500):
    """Index pages whose outbox rows were never processed (broker or worker
    down when they were written). Safe to run at any time: indexing is
    idempotent."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    rows = list(IndexOutbox.objects.filter(created_at__lte=cutoff).order_by("created_at")[:batch])
    done = 0
    for page_id in dict.fromkeys(r.page_id for r in rows):
        ids = [r.pk for r in rows if r.page_id == page_id]
        try:
            index_page(page_id)
        except Exception as exc:
            IndexOutbox.objects.filter(pk__in=ids).update(attempts=rows[0].attempts + 1)
            record_failure(page_id, exc, rows[0].attempts + 1)
            continue
        IndexOutbox.objects.filter(pk__in=ids).delete()
        done += 1
    return done


@shared_task(time_limit=300)
def publish_scheduled():
    """Wagtail's scheduled publishing and expiry, run by beat every minute."""
    from django.core.management import call_command

    call_command("publish_scheduled")


@shared_task(time_limit=1800)
def prune_search_logs():
    """Delete query and accountability logs past their retention (daily)."""
    from .analytics import prune

    return prune()


@shared_task(acks_late=True, max_retries=5, time_limit=600)
def synonyms_changed():
    """Let the search engine reload synonyms after administrators edit them."""
    from .backends import get_search_backend

    return get_search_backend().synonyms_changed()
