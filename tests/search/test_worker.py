"""Indexing through a real Celery worker on Redis."""

import time

import pytest
from django.http import QueryDict

from search.models import IndexOutbox
from search.service import SearchService, parse_request
from tests import factories as f
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def titles(q):
    query = QueryDict(mutable=True)
    query.update({"q": q, "mode": "lexical"})
    return [r.title for r in SearchService().search(parse_request(query)).results]


def test_publish_is_indexed_by_the_worker(celery_worker_process):
    started = time.monotonic()
    page = f.policy("Harbour dredging policy", body="Dredging licences are issued by the port authority.")
    assert wait_for(lambda: titles("dredging licences") == ["Harbour dredging policy"]), \
        celery_worker_process.read_log()[-3000:]
    delay = time.monotonic() - started
    print(f"publish-to-searchable through the worker: {delay:.2f}s")
    assert wait_for(lambda: not IndexOutbox.objects.filter(page_id=page.pk).exists())

    page.unpublish()
    assert wait_for(lambda: titles("dredging licences") == [])
