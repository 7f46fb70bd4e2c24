"""The nightly sweep as beat sends it: through a real Celery worker on Redis."""


import pytest

from knowledge.freshness import Freshness
from knowledge.models import KnowledgePage, Notification
from knowledge.tasks import freshness_sweep
from tests import factories as f
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_beat_task_runs_the_sweep_in_a_worker(celery_worker_process):
    import datetime

    owner = f.user("worker-owner", "content_owner")
    page = f.policy("Overdue for the worker", owner=owner, last_reviewed=datetime.date(2020, 1, 1))
    KnowledgePage.objects.filter(pk=page.pk).update(freshness=Freshness.FRESH)  # as if never swept
    freshness_sweep.delay()
    log = celery_worker_process["log"]
    assert wait_for(lambda: Notification.objects.filter(recipient=owner, kind="digest").exists()), \
        log.read_text()[-3000:]
    assert KnowledgePage.objects.get(pk=page.pk).freshness == Freshness.OVERDUE
    assert wait_for(lambda: Notification.objects.get(recipient=owner, kind="digest").emailed_at is not None)
    assert "knowledge.tasks.freshness_sweep" in log.read_text()
