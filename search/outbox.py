"""Indexing work, recorded now and handed to a worker on commit (the
transactional outbox).

``schedule`` and ``schedule_many`` write ``IndexOutbox`` rows in the
caller's transaction, so the work commits or rolls back with the change
that caused it, and enqueue the tasks (``tasks.py``) once it commits. A
worker deletes a row when its page is indexed; ``tasks.drain_outbox`` sends
rows a lost message left behind. The indexing itself is ``indexing.py``,
which knows nothing of tasks.
"""

import logging

from django.db import transaction

from .models import IndexOutbox
from .tasks import index_page_task, index_pages_task

logger = logging.getLogger("govkm.search")


def schedule(page_id, reason, revision_id=None):
    """Record indexing work in the outbox now, and hand it to a worker once
    the surrounding transaction commits. If the broker is down the row
    stays, and ``drain_outbox`` sends it later: nothing is lost."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        getattr(entry[1], "km_page_id", None) == page_id for entry in connection.run_on_commit
    ):
        # Already due to be sent when this transaction commits (a publish
        # also fires restriction signals); the task reads the final state.
        # Django drops these callbacks on rollback, so nothing is lost.
        return None
    entry = IndexOutbox.objects.create(page_id=page_id, revision_id=revision_id, reason=reason)

    def send():
        send.km_page_id = None  # sent: a later change must schedule again

        try:
            index_page_task.apply_async(args=[page_id, revision_id, entry.pk], retry=False)
        except Exception as exc:  # broker unreachable: the outbox keeps the work
            logger.warning("indexing of page %s queued in the outbox only (%s)", page_id, exc)

    send.km_page_id = page_id
    transaction.on_commit(send)
    return entry


def schedule_many(page_ids, reason, batch=100):
    """``schedule`` for many pages at once (sweeps, restriction changes on
    large trees): outbox rows in bulk, one task per batch on commit."""
    page_ids = list(dict.fromkeys(page_ids))
    rows = IndexOutbox.objects.bulk_create([IndexOutbox(page_id=pk, reason=reason) for pk in page_ids])
    batches = [
        ([r.page_id for r in rows[i : i + batch]], [r.pk for r in rows[i : i + batch]])
        for i in range(0, len(rows), batch)
    ]

    def send():
        for ids, outbox_ids in batches:
            try:
                index_pages_task.apply_async(args=[ids, outbox_ids], retry=False)
            except Exception as exc:  # broker down: the outbox keeps the work
                logger.warning("indexing of %d pages queued in the outbox only (%s)", len(ids), exc)
                return

    transaction.on_commit(send)
    return len(rows)
