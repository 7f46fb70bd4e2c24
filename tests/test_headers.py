"""Response headers and what they depend on: the Content-Security-Policy
(strict on the site, its own under the admin), no inline code in the site's
templates, ``Cache-Control: private, no-store`` for signed-in visitors, and
two dev-server and login-page answers (finding 11 of issue 21)."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests import factories as f
from tests.training import factories as tf
from training.certificates import issue_certificate

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def directives(response):
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_the_site_has_a_strict_policy(client):
    page = f.policy("Travel policy")
    for response in (client.get("/"), client.get(page.url), client.get("/search/", {"q": "travel"})):
        assert response.status_code == 200
        policy = directives(response)
        assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
        assert policy["script-src"][0] == "'self'" and "'unsafe-inline'" not in policy["script-src"]
        assert policy["style-src"] == ["'self'"]
        assert policy["base-uri"] == ["'self'"] and policy["frame-ancestors"] == ["'self'"]


def test_a_nonce_is_offered_when_a_template_asks_for_one(rf):
    from django.template import engines

    from kmsite.headers import ContentSecurityPolicy

    request = rf.get("/")
    middleware = ContentSecurityPolicy(lambda r: None)
    middleware.process_request(request)
    html = engines["django"].from_string('<script nonce="{{ request.csp_nonce }}">1</script>').render(
        {"request": request})
    nonce = re.search(r'nonce="([^"]+)"', html).group(1)
    from django.http import HttpResponse

    response = middleware.process_response(request, HttpResponse(html))
    assert f"'nonce-{nonce}'" in directives(response)["script-src"]


def test_the_admin_has_its_own_policy(client):
    client.force_login(f.user("csp-owner", "content_owner"))
    response = client.get("/admin/")
    assert response.status_code == 200
    policy = directives(response)
    # Wagtail's templates carry inline scripts and styles without nonces
    assert "'unsafe-inline'" in policy["script-src"] and not any("nonce" in v for v in policy["script-src"])
    assert policy["object-src"] == ["'none'"] and policy["default-src"] == ["'self'"]
    assert "https:" not in response["Content-Security-Policy"] and "*" not in response["Content-Security-Policy"]


class InlineCode(HTMLParser):
    """Inline scripts, style attributes, <style> and on* handlers."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") not in ("application/json", "text/template"):
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"{tag} {name}=" for name in names if name == "style" or name.startswith("on")]


SITE_TEMPLATES = [p for app in ("kmsite", "knowledge", "search", "training")
                  for p in (ROOT / app / "templates").rglob("*.html")
                  # the admin's are served under its own policy; e-mail bodies are never
                  # served at all, and mail clients honour only inline styles
                  if not {"admin", "wagtailadmin", "email"} & set(p.parts)]


def test_site_templates_carry_no_inline_code():
    """The site's policy refuses inline scripts, styles and handlers: none
    may be written into a template served outside the admin (use a static
    file, or an SVG attribute for a colour or a width)."""
    assert len(SITE_TEMPLATES) > 30
    offenders = {}
    for path in SITE_TEMPLATES:
        parser = InlineCode()
        parser.feed(re.sub(r"{%.*?%}|{{.*?}}", "x", path.read_text(), flags=re.S))
        if parser.found:
            offenders[str(path.relative_to(ROOT))] = parser.found
    assert offenders == {}


# --- Cache-Control -------------------------------------------------------------
def test_signed_in_pages_hr_records_and_certificates_are_never_stored(client, settings):
    page = f.policy("Travel policy")
    anonymous = client.get(page.url)
    assert "no-store" not in anonymous.get("Cache-Control", "")
    learner = tf.staff("cc-learner")
    cert = issue_certificate(learner, tf.curriculum("Records essentials", is_open=True))
    client.force_login(learner)
    urls = [page.url, "/learning/", f"/learning/certificates/{cert.code}/", f"/learning/certificates/{cert.code}/pdf/"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        directives_ = {d.strip() for d in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives_ and "public" not in directives_, url
    client.force_login(tf.staff("cc-hr", role="hr"))
    for url in ("/learning/reports/", f"/learning/people/{learner.username}/", "/learning/api/gap-report/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], url


# --- finding 11 --------------------------------------------------------------
def test_the_dev_server_answers_404_to_a_path_out_of_static(tmp_path):
    """``manage.py runserver`` itself, in its own process with the dev
    settings (DEBUG): Django's own static handler raised
    SuspiciousFileOperation (500) for a path climbing out of static/. Run
    apart from the suite, whose process-wide caches (finders, commands)
    earlier tests have filled."""
    import http.client
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import free_port, port_open

    # a database of its own (a 404 page looks up the site; sharing the suite's
    # test database let the server's rows collide with later tests' fixtures)
    database_url = f"sqlite:///{tmp_path / 'dev.sqlite3'}"
    port = free_port()
    env = {"DATABASE_URL": database_url, "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "KM_DOTENV": "0", "KM_VAR_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "kmsite.settings.dev", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not port_open("127.0.0.1", port):
            assert server.poll() is None, server.stdout.read().decode(errors="replace")
            assert time.monotonic() < deadline, "runserver did not start"
            time.sleep(0.2)
        statuses = {}
        for path in ("/static/..%2f..%2fsettings%2fbase.py", "/static/../../settings/base.py", "/static/css/govkm.css"):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            connection.close()
            statuses[path] = str(response.status)
            assert b"SECRET_KEY = " not in body and b"import environ" not in body  # not the settings file
    finally:
        server.terminate()
        server.wait(10)
    assert statuses == {"/static/..%2f..%2fsettings%2fbase.py": "404", "/static/../../settings/base.py": "404",
                        "/static/css/govkm.css": "200"}


@pytest.mark.parametrize("next_url,expected", [("/learning/", "/learning/"), ("", "/"),
                                                ("https://evil.example/", "/"), ("//evil.example/x", "/")])
def test_the_front_end_login_sends_people_back_or_home(client, next_url, expected):
    f.user("front", "civil_servant")
    data = {"username": "front", "password": "pw"}
    if next_url:
        data["next"] = next_url
    response = client.post("/_util/login/", data)
    assert response.status_code == 302 and response["Location"] == expected


def test_with_single_sign_on_forms_may_end_at_the_provider():
    """Signing out posts a form whose redirect ends at the provider's logout
    page; browsers apply form-action to that redirect."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kmsite.settings.test",
           "KM_OIDC_ISSUER": "https://login.example.gov/realms/gov", "KM_OIDC_CLIENT_ID": "govkm",
           "KM_OIDC_CLIENT_SECRET": "s"}
    code = ("from django.conf import settings as s; "
            "print(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action'], s.KM_CSP_ADMIN_POLICY['form-action'])")
    result = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.split("] [") == ["[\"'self'\", 'https://login.example.gov'",
                                          "\"'self'\", 'https://login.example.gov']\n"], result.stderr
