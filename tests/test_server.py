"""The production web server (kmsite/server.py): its settings, and that the
process environment never reaches a request."""

import gc
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import weakref
from pathlib import Path

import pytest

from kmsite.environment import read_dotenv
from kmsite.server import WithoutProcessEnvironment, options
from tests import conftest

ROOT = Path(__file__).resolve().parent.parent


# --- the heap a worker serves from -------------------------------------------

class _Node:
    pass


@pytest.fixture
def unfrozen():
    """Puts back what a test froze, so later tests see an ordinary heap."""
    yield
    gc.unfreeze()


def _tracked(obj):
    """Whether the cyclic collector still walks ``obj`` (frozen objects are in
    no generation that ``gc.get_objects`` lists)."""
    return any(o is obj for o in gc.get_objects())


def test_a_worker_freezes_what_warming_up_built_after_collecting_its_garbage(monkeypatch, unfrozen):
    built = []

    def warm_up():  # stands in for loading the model and the index
        model = _Node()
        litter = _Node()
        litter.self = litter  # a reference cycle: only the collector frees it
        built.extend([model, weakref.ref(litter)])

    monkeypatch.setattr("search.warmup.warm_up", warm_up)
    from kmsite.server import create_application

    app = create_application()
    model, litter = built
    assert isinstance(app, WithoutProcessEnvironment)
    assert litter() is None, "the garbage was frozen instead of collected"
    assert not _tracked(model), "what warming up built is still walked by every full collection"
    later = _Node()
    assert _tracked(later), "objects made after start-up must stay collectable"


# --- what a worker loads before its first request ----------------------------

FIRST_REQUESTS = """
import json, sys
from django.test import Client
from kmsite.wsgi import application  # as a worker starts: Django set up, middleware loaded
if sys.argv[1] == "warm":  # what each worker process runs before it takes traffic
    from kmsite.server import create_application
    create_application()
before = set(sys.modules)
client = Client(HTTP_HOST="127.0.0.1")
for path in ("/search/?q=annual+leave", "/api/search/?q=annual+leave", sys.argv[2]):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def _modules_first_requests_import(tmp_path, warm, page_url, redis_url):
    # The worker's cache is Redis, as in production: the warm-up's Redis
    # client and connection are part of what is checked.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kmsite.settings.test",
           "DATABASE_URL": conftest.test_database_url(), "KM_VAR_DIR": str(tmp_path), "REDIS_URL": redis_url}
    done = subprocess.run([sys.executable, "-c", FIRST_REQUESTS, "warm" if warm else "cold", page_url], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_warmed_worker_imports_nothing_more_on_its_first_requests(tmp_path, redis_url):
    """A new process imports the URLconf, template libraries, the Redis
    client and more on its first request, under the import lock, while its
    other threads wait; a worker's start-up (``create_application``, with
    ``warm_django``) does it before the worker takes traffic."""
    from tests import factories as f

    page = f.procedure("Book a train", implements=[f.policy("Travel policy")])  # committed: the process sees it
    cold = _modules_first_requests_import(tmp_path, False, page.url, redis_url)
    assert "redis.client" in cold and "search.urls" in cold, cold  # what the warm-up is for
    assert _modules_first_requests_import(tmp_path, True, page.url, redis_url) == []


def test_warming_up_survives_an_unreachable_cache(settings, caplog):
    """The cache down at start-up: the worker still starts, and says so."""
    from kmsite.server import warm_django

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{conftest.free_port()}/0"}}
    warm_django()
    assert any("cache connection skipped" in r.getMessage() for r in caplog.records), caplog.text


# --- settings ---------------------------------------------------------------

def test_defaults_come_from_the_environment():
    got = options([], {"WEB_BIND": "127.0.0.1:9001", "WEB_WORKERS": "3", "WEB_THREADS": "2", "WEB_ACCESS_LOG": "yes"})
    assert got == {"address": "127.0.0.1", "port": 9001, "workers": 3, "blocking_threads": 2, "log_access": True}
    plain = options([], {})
    assert (plain["address"], plain["port"], plain["blocking_threads"], plain["log_access"]) == ("0.0.0.0", 8000, 4, False)
    assert plain["workers"] == (os.cpu_count() or 1)


def test_the_command_line_wins_over_the_environment():
    got = options(["--bind", "[::1]:8080", "--workers", "1", "--threads", "8", "--access-log"],
                  {"WEB_BIND": "0.0.0.0:1", "WEB_WORKERS": "9", "WEB_THREADS": "9", "WEB_ACCESS_LOG": "false"})
    assert got == {"address": "::1", "port": 8080, "workers": 1, "blocking_threads": 8, "log_access": True}


def test_dot_env_supplies_what_the_environment_does_not_set(tmp_path, monkeypatch):
    dotenv = tmp_path / ".env"
    dotenv.write_text("WEB_THREADS=3\nWEB_WORKERS=5\n")
    monkeypatch.setenv("WEB_THREADS", "unset below")  # so that teardown puts back its absence too,
    monkeypatch.delenv("WEB_THREADS")  # after read_dotenv has set it
    monkeypatch.setenv("WEB_WORKERS", "2")
    monkeypatch.delenv("KM_DOTENV", raising=False)  # the suite turns .env off; this test reads one
    read_dotenv(dotenv)  # as main() does with the project's .env before reading its options
    got = options([])
    assert (got["blocking_threads"], got["workers"]) == (3, 2)


@pytest.mark.parametrize("argv, environ, named", [
    (["--workers", "two"], {}, "--workers='two'"),
    (["--threads", "0"], {}, "--threads='0'"),
    ([], {"WEB_WORKERS": "-1"}, "WEB_WORKERS='-1'"),
    ([], {"WEB_BIND": "8000"}, "WEB_BIND='8000'"),
    (["--bind", "host:99999"], {}, "at most 65535"),
    ([], {"WEB_ACCESS_LOG": "ture"}, "WEB_ACCESS_LOG='ture'"),
])
def test_a_malformed_setting_stops_start_up_naming_it(argv, environ, named, capsys):
    with pytest.raises(SystemExit) as stopped:
        options(argv, environ)
    assert stopped.value.code == 2
    assert named in capsys.readouterr().err


# --- the process environment ------------------------------------------------

def _call(app, environ):
    """Pass ``environ`` through ``app``; returns it as the application saw it."""
    app(environ, lambda status, headers: None)
    return environ


def _inner(environ, start_response):
    start_response("200 OK", [])
    return [b""]


def test_inherited_entries_are_removed_and_the_requests_own_kept():
    process = {"DATABASE_URL": "postgres://u:secret@db/govkm", "HTTP_X_FORWARDED_PROTO": "https",
               "HTTP_COOKIE": "sessionid=stolen", "CONTENT_TYPE": "text/x-process", "REMOTE_ADDR": "10.0.0.9"}
    app = WithoutProcessEnvironment(_inner, process)
    # as granian builds it: the process environment, the request's values on top
    request = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "REMOTE_ADDR": "127.0.0.1", "HTTP_COOKIE": "sessionid=mine"}
    environ = _call(app, {**process, **request})
    assert "DATABASE_URL" not in environ  # a secret, never in request.META
    assert "HTTP_X_FORWARDED_PROTO" not in environ  # no client sent it
    assert "CONTENT_TYPE" not in environ
    assert environ["HTTP_COOKIE"] == "sessionid=mine"  # the request's own header stays
    assert environ["REMOTE_ADDR"] == "127.0.0.1"

    # a request without a cookie does not get the process's
    environ = _call(app, {**process, "REQUEST_METHOD": "GET", "PATH_INFO": "/", "REMOTE_ADDR": "127.0.0.1"})
    assert "HTTP_COOKIE" not in environ
    # what the server always sets is left alone, even if the process has it too
    assert environ["REMOTE_ADDR"] == "127.0.0.1"


# --- the real server ----------------------------------------------------------

def _get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Location", ""), response.read()
    finally:
        conn.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_server_serves_and_a_cookie_in_its_environment_logs_nobody_in(tmp_path, admin_user, settings):
    """Started as production starts it, the server answers requests, and a
    session cookie planted in its environment (HTTP_COOKIE, a name granian
    copies into every request's environ) does not open the admin to a
    visitor who sent none. Stopped with SIGTERM, it exits cleanly."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore

    def signed_in_cookie():
        session = SessionStore()
        session.update({SESSION_KEY: str(admin_user.pk), BACKEND_SESSION_KEY: "kmsite.auth.ModelBackend",
                        HASH_SESSION_KEY: admin_user.get_session_auth_hash()})
        session.create()
        return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"

    # two sessions of the same administrator: one planted in the server's
    # environment, one sent by a client (an entry equal to the process's
    # own value is indistinguishable from it, and is dropped too)
    planted, own = signed_in_cookie(), signed_in_cookie()

    port = conftest.free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kmsite.settings.test", "DATABASE_URL": conftest.test_database_url(),
           "KM_VAR_DIR": str(tmp_path), "HTTP_COOKIE": planted, "WEB_WORKERS": "1", "WEB_THREADS": "2",
           "REDIS_URL": ""}
    log = open(tmp_path / "server.log", "w+")
    server = subprocess.Popen([sys.executable, "-m", "kmsite.server", "--bind", f"127.0.0.1:{port}"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, _ = _get(port, "/admin/login/")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail("the server did not start:\n" + log.read()[-3000:])
                time.sleep(0.3)
        assert status == 200

        status, location, _ = _get(port, "/admin/")  # no cookie sent
        assert status == 302 and "/admin/login/" in location

        status, location, body = _get(port, "/admin/", {"Cookie": own})  # a session the client holds
        log.seek(0)
        assert status == 200 and b"Dashboard" in body, (status, location, log.read()[-2000:])

        server.send_signal(signal.SIGTERM)
        assert server.wait(40) == 0
    finally:
        conftest.kill_process_group(server)
