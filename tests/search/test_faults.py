"""Faults with real processes: the broker and the worker go down and come
back; nothing published is lost and nothing ends up stale."""

import uuid

import pytest
from django.http import QueryDict
from wagtail.rich_text import RichText

from search.models import IndexedPage, IndexOutbox
from search.service import SearchService, parse_request
from tests import factories as f
from tests.conftest import RedisServer, WorkerProcess, use_broker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def titles(q):
    query = QueryDict(mutable=True)
    query.update({"q": q, "mode": "lexical"})
    request = parse_request(query)
    request.per_page = 100
    return [r.title for r in SearchService().search(request).results]


@pytest.fixture
def broker(tmp_path, transactional_db, django_db_serialized_rollback):
    server = RedisServer(tmp_path).start()
    queue = f"km-fault-{uuid.uuid4().hex[:8]}"
    undo = use_broker(server.url, queue)
    worker = WorkerProcess(server.url, queue, tmp_path / "worker.log", tmp_path)
    yield server, worker
    worker.stop()
    undo()
    server.stop()


def test_broker_down_while_publishing_then_back(broker):
    from search.tasks import drain_outbox

    server, worker = broker
    worker.start()
    server.stop()
    page = f.policy("Snow clearing policy", body="Gritting routes are cleared before six in the morning.")
    assert page.live  # publishing succeeded with the broker down
    assert IndexOutbox.objects.filter(page_id=page.pk).exists()
    assert titles("gritting routes") == []

    server.start()
    # beat would send this every 30 s; send it now
    assert wait_for(lambda: _send(drain_outbox, older_than_seconds=0), timeout=30)
    assert wait_for(lambda: titles("gritting routes") == ["Snow clearing policy"]), worker.read_log()[-3000:]
    assert wait_for(lambda: not IndexOutbox.objects.filter(page_id=page.pk).exists())


def _send(task, **kwargs):
    try:
        task.apply_async(kwargs=kwargs, retry=False)
        return True
    except Exception:
        return False


def test_worker_down_while_publishing_then_back(broker):
    _server, worker = broker
    page = f.policy("Flood warning procedure", body="Sandbags are issued from the depot on request.")
    assert IndexOutbox.objects.filter(page_id=page.pk).exists()  # queued on the broker, no worker yet
    worker.start()
    assert wait_for(lambda: titles("sandbags depot") == ["Flood warning procedure"]), worker.read_log()[-3000:]


def test_worker_killed_mid_reindex_leaves_nothing_missing_or_stale(broker):
    from search.tasks import drain_outbox

    _server, worker = broker
    pages = [f.policy(f"Regional office {i} opening hours", body=f"Office {i} opens at eight.", publish=False)
             for i in range(25)]
    worker.start()
    for p in pages:
        p.save_revision().publish()
    assert wait_for(lambda: IndexedPage.objects.filter(state="indexed").count() >= 3, timeout=60)
    worker.kill()  # SIGKILL in the middle of the work

    # pages change while the worker is dead
    for p in pages[:5]:
        p.body = [("paragraph", RichText(f"<p>Office {p.pk} relocated to Harbour Street.</p>"))]
        p.save_revision().publish()

    worker.start()
    assert _send(drain_outbox, older_than_seconds=0)
    assert wait_for(lambda: not IndexOutbox.objects.exists(), timeout=90), worker.read_log()[-3000:]
    for p in pages:
        p.refresh_from_db()
        state = IndexedPage.objects.get(page_id=p.pk)
        assert state.state == "indexed" and state.revision_id == p.live_revision_id, p.title
    moved = {p.title for p in pages[:5]}
    assert set(titles("relocated harbour")) == moved  # the new wording, not stale
    assert not moved & set(titles("eight"))  # the old wording is gone for them
    assert set(titles("opening hours")) == {p.title for p in pages}  # nothing missing
