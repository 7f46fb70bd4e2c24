import os
import socket

import pytest
from django.test import override_settings
from hypothesis import settings as hypothesis_settings

from search.backends import reset_backends

REQUIRE_SERVICES = os.environ.get("KM_REQUIRE_SERVICES") == "1"
# A developer's .env never reaches the suite or the processes it starts
# (the test settings skip it too: kmsite/environment.py).
os.environ["KM_DOTENV"] = "0"

# Property tests draw the same examples on every machine and every run
# (derandomised, no example database that only one machine has): what CI
# finds, a newcomer's `make test` finds. A test that wants fresh examples
# each run says `derandomize=False` itself.
hypothesis_settings.register_profile("govkm", derandomize=True, database=None, deadline=None)
hypothesis_settings.load_profile("govkm")


def wait_for(predicate, timeout=60.0, interval=0.2):
    """Poll ``predicate`` until it returns something true or time runs out;
    returns its last value (for asynchronous work done by other processes)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class Today:
    """The local date when the test began its action, and when it checks.
    A date the code stored as "today" (or today plus a delay) is one of the
    two, so a run that crosses midnight passes: ``assert stored in
    today.plus(days=30)``."""

    def __init__(self):
        from django.utils import timezone

        self.first = timezone.localdate()

    def plus(self, **delta):
        import datetime

        from django.utils import timezone

        step = datetime.timedelta(**delta)
        return {self.first + step, timezone.localdate() + step}

    def __contains__(self, day):
        return day in self.plus()


def service_missing(reason):
    """Skip for a missing service locally; fail in CI (KM_REQUIRE_SERVICES=1)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def free_port():
    """A TCP port on the loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_process_group(proc):
    """SIGKILL ``proc`` and the rest of its process group (it must have been
    started with ``start_new_session=True``): the web server's workers
    outlive a main process that is killed alone."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # the group is gone already
        pass
    proc.wait(10)


def port_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class RedisServer:
    """A throw-away real ``redis-server`` on a free loopback port, owned by
    the test that starts it (which may stop and start it again)."""

    def __init__(self, directory):
        self.port, self.dir = free_port(), directory
        self.proc = None

    def start(self):
        import shutil
        import subprocess
        import time

        if shutil.which("redis-server") is None:
            service_missing("redis-server is not installed (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not port_open("127.0.0.1", self.port):
            if time.time() > deadline or self.proc.poll() is not None:
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture(scope="session")
def _session_redis(tmp_path_factory):
    """The Redis the suite talks to: ``KM_TEST_REDIS_URL`` when it is set
    (a database the suite may empty: some tests FLUSHDB), else a ``redis-server`` of the
    suite's own, so that nothing needs to be running or exported and two
    checkouts never share one."""
    url = os.environ.get("KM_TEST_REDIS_URL")
    if url:
        host_port = url.split("//", 1)[1].split("/", 1)[0]
        host, _, port = host_port.partition(":")
        if not port_open(host, int(port or 6379)):
            service_missing(f"Redis at KM_TEST_REDIS_URL={url} is not reachable")
        yield url
        return
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_url(_session_redis):
    return _session_redis


@pytest.fixture(autouse=True)
def _fresh_search_backends(settings, tmp_path):
    """Each test gets its own backend objects and its own index directory
    (a worker process the test starts uses the same: KM_VAR_DIR)."""
    settings.KM_VAR_DIR = str(tmp_path)
    settings.KM_SEARCH_INDEX_DIR = tmp_path / "search-index"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()
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
    """Drop every connection and producer pool (kombu keeps them in global
    registries) so the next send uses the broker now configured."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


def test_database_url():
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """A real Celery worker process on ``broker_url`` consuming ``queue``,
    against the test database. Can be killed and started again."""

    def __init__(self, broker_url, queue, log_path, var_dir):
        import subprocess  # noqa: F401

        self.broker_url, self.queue, self.log_path = broker_url, queue, log_path
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kmsite.settings.test",
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": broker_url,
            "KM_TEST_EAGER": "false",
            "KM_VAR_DIR": str(var_dir),
            # the worker's own cache: a file cache under var_dir, never a
            # Redis the environment names (CI's, with another run's locks in it)
            "REDIS_URL": "",
        }
        self.proc = None

    def start(self, timeout=60):
        import subprocess
        import sys
        import time

        self.log = open(self.log_path, "a+")
        start_at = self.log.tell()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kmsite", "worker", "--pool=solo", "-Q", self.queue,
             "--loglevel=INFO", "-n", f"{self.queue}@%h", "--without-gossip", "--without-mingle"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            cwd=str(os.path.dirname(os.path.dirname(__file__))),
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.log.seek(start_at)
            if "ready." in self.log.read():
                return self
            if self.proc.poll() is not None:
                pytest.fail(f"worker exited: {self.read_log()[-2000:]}")
            time.sleep(0.2)
        pytest.fail("worker did not become ready in time")

    def kill(self):
        import signal

        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        import subprocess

        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def read_log(self):
        return open(self.log_path).read()

    def __getitem__(self, key):  # backwards-compatible mapping access
        return {"process": self.proc, "queue": self.queue, "log": self.log_path, "env": self.env}[key]


def use_broker(broker_url, queue):
    """Point this test process's Celery app at ``broker_url``/``queue``; returns an undo function."""
    from kmsite.celery import app

    old = dict(broker_url=app.conf.broker_url, task_always_eager=app.conf.task_always_eager,
               task_default_queue=app.conf.task_default_queue)
    app.conf.update(broker_url=broker_url, task_always_eager=False, task_default_queue=queue,
                    broker_connection_timeout=2, broker_connection_retry=False)
    reset_celery_pools(app)

    def undo():
        app.conf.update(**old)
        reset_celery_pools(app)

    return undo


@pytest.fixture
def celery_worker_process(redis_url, transactional_db, django_db_serialized_rollback, tmp_path):
    """A real Celery worker in its own process, on Redis, against the test
    database. Tasks sent by the test go to a queue of its own."""
    import uuid

    queue = f"km-test-{uuid.uuid4().hex[:8]}"
    worker = WorkerProcess(redis_url, queue, tmp_path / "worker.log", tmp_path)
    undo = use_broker(redis_url, queue)
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()
        undo()
