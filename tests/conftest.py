import os
import socket

import pytest
from django.test import override_settings

from search.backends import reset_backends

REQUIRE_SERVICES = os.environ.get("KM_REQUIRE_SERVICES") == "1"


def service_missing(reason):
    """Skip for a missing service locally; fail in CI (KM_REQUIRE_SERVICES=1)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def port_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url():
    url = os.environ.get("KM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    if not port_open(host, int(port or 6379)):
        service_missing(f"Redis at {url} is not reachable")
    return url


@pytest.fixture(autouse=True)
def _fresh_search_backends(settings, tmp_path):
    """Each test gets its own backend objects (and so its own in-memory index)."""
    settings.KM_VAR_DIR = str(tmp_path)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    reset_backends()
    yield
    reset_backends()


@pytest.fixture
def real_embedder():
    real = {
        "BACKEND": "search.embeddings.sentence_transformers.SentenceTransformerEmbedder",
        "OPTIONS": {"MODEL": "", "BATCH_SIZE": 64},
    }
    with override_settings(KM_EMBEDDER=real):
        reset_backends()
        yield real


def reset_celery_pools(app):
    """Drop connections so the next send uses the broker now configured."""
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def celery_worker_process(redis_url, transactional_db, settings, tmp_path):
    """A real Celery worker in its own process, on Redis, against the test
    database. Tasks sent by the test go to a queue of its own."""
    import subprocess
    import sys
    import time
    import uuid

    from django.db import connection

    from kmsite.celery import app

    queue = f"km-test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        database_url = f"sqlite:///{db['NAME']}"
    else:
        database_url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kmsite.settings.test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "KM_TEST_EAGER": "false",
        "KM_VAR_DIR": str(tmp_path),
    }
    log = open(tmp_path / "worker.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kmsite", "worker", "--pool=solo", "-Q", queue,
         "--loglevel=INFO", "-n", f"{queue}@%h", "--without-gossip", "--without-mingle"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(os.path.dirname(os.path.dirname(__file__))),
    )
    old = dict(broker_url=app.conf.broker_url, task_always_eager=app.conf.task_always_eager,
               task_default_queue=app.conf.task_default_queue)
    app.conf.update(broker_url=redis_url, task_always_eager=False, task_default_queue=queue)
    reset_celery_pools(app)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            log.seek(0)
            if "ready." in log.read():
                break
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"worker exited: {log.read()[-2000:]}")
            time.sleep(0.2)
        else:
            pytest.fail("worker did not become ready in 60 s")
        yield {"process": proc, "queue": queue, "log": tmp_path / "worker.log", "env": env}
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        app.conf.update(**old)
        reset_celery_pools(app)
        log.close()
