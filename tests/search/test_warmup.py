"""Processes load the embedding model before their first request or task."""

import logging

import pytest
from celery.signals import worker_process_init

import kmsite.celery  # noqa: F401  (connects the worker signal handlers)
from search import embeddings


@pytest.fixture
def no_embedders():
    saved = dict(embeddings._cache)
    embeddings._cache.clear()
    yield
    embeddings._cache.clear()
    embeddings._cache.update(saved)


def test_a_starting_worker_process_builds_the_embedder(no_embedders, settings):
    # Celery sends this in every prefork child, and in the worker itself with --pool=solo.
    worker_process_init.send(sender="celery@test")
    assert len(embeddings._cache) == 1
    built = next(iter(embeddings._cache.values()))
    assert built is embeddings.get_embedder()  # what the first task will use


def test_a_broken_embedder_does_not_keep_the_worker_from_starting(no_embedders, settings, caplog):
    settings.KM_EMBEDDER = {"BACKEND": "search.embeddings.fake.HashingEmbedder", "OPTIONS": {"NO_SUCH_OPTION": 1}}
    with caplog.at_level(logging.ERROR, logger="govkm.search"):
        worker_process_init.send(sender="celery@test")  # must not raise
    assert "indexer warm-up failed" in caplog.text
    assert "NO_SUCH_OPTION" in caplog.text  # the reason is in the log
