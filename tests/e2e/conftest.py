"""End-to-end fixtures: the real stack (the production web server,
``python -m kmsite.server``, and a Celery worker with beat on Redis,
PostgreSQL in CI) on its own database, loaded with the demo content, and
Debian's Chromium driven by Playwright. A failing journey saves a
screenshot under tests/e2e/screenshots/."""

import http.client
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import RedisServer, free_port, kill_process_group, service_missing, wait_for

ROOT = Path(__file__).resolve().parent.parent.parent
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORD = "govkm-demo"


def database_url(tmp, suffix="e2e"):
    """A database of this stack's own: on PostgreSQL, ``<suite's database>_<suffix>``
    (dropped and made anew), else an SQLite file in ``tmp``."""
    main = os.environ.get("DATABASE_URL", "")
    if main.startswith(("postgres://", "postgresql://")):
        import psycopg

        base, _, name = main.rpartition("/")
        name = f"{name.split('?')[0] or 'govkm'}_{suffix}"  # one per checkout's database, never shared
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{base}/{name}"
    return f"sqlite:///{tmp / f'{suffix}.sqlite3'}"


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        service_missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("e2e")
    # a redis-server of the stack's own: broker and cache, empty at start
    redis_server = RedisServer(tmp).start()
    redis_url = redis_server.url
    # a real SMTP server (aiosmtpd on loopback, tests/smtp.py): the stack's e-mail goes there
    from tests.smtp import SMTPServer

    smtp = SMTPServer().start()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kmsite.settings.dev",
        "DEBUG": "true",
        "DATABASE_URL": database_url(tmp),
        "CELERY_BROKER_URL": redis_url,
        "REDIS_URL": redis_url,
        "KM_VAR_DIR": str(tmp),
        "KM_SEARCH_PER_MINUTE": "100000",
        "HF_HUB_OFFLINE": "1",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
    }
    logs = tmp / "logs"
    logs.mkdir()
    for cmd in (["migrate", "--noinput", "-v0"], ["load_demo", "--noinput"]):
        subprocess.run([sys.executable, "manage.py", *cmd], cwd=ROOT, env=env, check=True,
                       stdout=open(logs / "setup.log", "a"), stderr=subprocess.STDOUT, timeout=900)
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "kmsite.server", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"],
        cwd=ROOT, env=env, stdout=open(logs / "web.log", "w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kmsite", "worker", "--beat", "--pool=solo", "--loglevel=INFO",
         f"--schedule={tmp / 'beat-schedule'}"],
        cwd=ROOT, env=env, stdout=open(logs / "worker.log", "w"), stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/")
            if conn.getresponse().status == 200:
                break
        except OSError:
            pass
        time.sleep(0.5)
    else:
        kill_process_group(web)
        worker.kill()
        pytest.fail("the web server did not start:\n" + (logs / "web.log").read_text()[-3000:])
    yield {"url": base, "env": env, "logs": logs, "web": web, "worker": worker, "tmp": tmp, "smtp": smtp}
    for proc in (web, worker):
        proc.terminate()
    for proc in (web, worker):
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    kill_process_group(web)  # any worker its main process left behind
    redis_server.stop()
    smtp.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # as the pages' own timeout: a slow machine is not a failure

    if not Path(CHROMIUM).exists():
        service_missing(f"{CHROMIUM} is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def new_page(browser, stack, request):
    """Open browser pages (one per role if needed); screenshot them on failure.
    Anything the Content-Security-Policy refused (Chromium says so on the
    console) fails the journey: a page that needs it is broken in browsers."""
    contexts = []
    refused = []

    def make(user=None):
        context = browser.new_context(base_url=stack["url"], viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on("console", lambda msg: refused.append(f"{page.url}: {msg.text}")
                if "Content Security Policy" in msg.text else None)
        contexts.append((context, page, user))
        if user:
            login(page, user)
        return page

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for i, (context, page, user) in enumerate(contexts):
        if failed:
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-{i}-{user or 'anonymous'}.png"), full_page=True)
        context.close()
    assert failed or not refused, "refused by the Content-Security-Policy:\n" + "\n".join(refused)


def login(page, username, next_url="/"):
    """Sign in through the admin login form, as the site's "Sign in" link does
    (with ``next``): people without admin access, such as civil servants, are
    otherwise sent back to the login page after signing in."""
    page.goto("/admin/login/?" + urlencode({"next": next_url}))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def wait_until(predicate, timeout=30.0, interval=0.25):
    """The suite's polling helper with the browser journeys' defaults."""
    return wait_for(predicate, timeout=timeout, interval=interval)


def api_json(page_or_stack, path):
    """GET a JSON API: with a browser page, as its signed-in user (the page's
    cookies); with the ``stack``, anonymously."""
    if isinstance(page_or_stack, dict):
        with urllib.request.urlopen(page_or_stack["url"] + path, timeout=30) as response:
            return json.loads(response.read())
    response = page_or_stack.request.get(path, timeout=30_000)
    assert response.ok, (path, response.status, response.text()[:500])
    return response.json()


def admin_messages(page):
    """The text of the Wagtail admin's flash messages on the current page."""
    messages = page.locator(".messages")
    return messages.inner_text() if messages.count() else ""


# --- shared by the accessibility audit and the keyboard tests -------------------------------

@pytest.fixture(scope="session")
def audit_targets(stack):
    """Addresses of the demo's pages in each state (tests/e2e/a11y_targets.py)."""
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from tests.e2e.a11y_targets import main; main()"],
        cwd=ROOT, env=stack["env"], capture_output=True, text=True, timeout=300, check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("A11Y-TARGETS "))
    return json.loads(line.removeprefix("A11Y-TARGETS "))


@pytest.fixture(scope="session")
def role_contexts(browser, stack):
    """One browser context per role, signed in once for the whole audit."""
    contexts = {}

    def get(role):
        if role not in contexts:
            # axe-core is injected as a script of the page's own, which the
            # site's Content-Security-Policy refuses; the audit measures
            # accessibility (the journeys hold pages to the policy)
            context = browser.new_context(base_url=stack["url"], viewport={"width": 1280, "height": 900},
                                          bypass_csp=True)
            if role:
                page = context.new_page()
                page.set_default_timeout(20_000)
                login(page, role)
                page.close()
            contexts[role] = context
        return contexts[role]

    yield get
    for context in contexts.values():
        context.close()
