"""A real OpenID provider for the single sign-on tests: the certified
``oidc-provider`` package under Node.js (tests/node/oidc_provider.mjs), on a
free loopback port, with its users, groups and deliberate faults written by
the test to a JSON file it re-reads at every request.

``sign_in`` drives the authorization code flow as a browser would: GovKM's
side through Django's test client (so the test database is the one GovKM
writes), the provider's side over HTTP with its own cookie jar (its login
and consent forms, its session for later silent refreshes).
"""

import json
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from kmsite.sso import discovery
from tests.conftest import free_port, service_missing

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
SCRIPT = NODE_DIR / "oidc_provider.mjs"
CLIENT_ID, CLIENT_SECRET = "govkm", "govkm-test-secret"
GOVKM = "http://testserver"


class OidcTestProvider:
    """The provider process and the state it reads."""

    def __init__(self, directory, redirect_uris, post_logout_uris):
        self.port = free_port()
        self.state_path = Path(directory) / "provider-state.json"
        self.log_path = Path(directory) / "provider.log"
        self.clients = [{
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "redirect_uris": redirect_uris, "post_logout_redirect_uris": post_logout_uris,
            "grant_types": ["authorization_code"], "response_types": ["code"],
        }]
        self.reset()
        self.proc = None

    @property
    def issuer(self):
        return f"http://127.0.0.1:{self.port}"

    def reset(self):
        self.state = {"clients": self.clients, "users": {}, "tamper": None}
        self._write()

    def _write(self):
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state))
        tmp.replace(self.state_path)  # atomic: the provider never reads half a file

    def add_user(self, sub, password="pw", **claims):  # noqa: S107 (a test account)
        self.state["users"][sub] = {"password": password, **claims}
        self._write()

    def update_user(self, sub, **claims):
        self.state["users"][sub].update(claims)
        self._write()

    def delete_user(self, sub):
        del self.state["users"][sub]
        self._write()

    def tamper(self, mode):
        self.state["tamper"] = mode
        self._write()

    def start(self):
        if shutil.which("node") is None:
            service_missing("Node.js is not installed (the test OpenID provider runs under it)")
        if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
            service_missing("oidc-provider is not installed: npm ci --prefix tests/node (make test does it)")
        self.proc = subprocess.Popen(
            ["node", str(SCRIPT), "--port", str(self.port), "--state", str(self.state_path)],
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                service_missing(f"the test OpenID provider exited: {self.log_path.read_text()[-1500:]}")
            try:
                if requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        service_missing(f"the test OpenID provider did not start: {self.log_path.read_text()[-1500:]}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="session")
def provider_process(tmp_path_factory):
    provider = OidcTestProvider(tmp_path_factory.mktemp("oidc"), [f"{GOVKM}/oidc/callback/"], [f"{GOVKM}/"]).start()
    yield provider
    provider.stop()


@pytest.fixture
def provider(provider_process):
    provider_process.reset()
    discovery.forget()
    yield provider_process
    discovery.forget()


def sso_settings(issuer, **overrides):
    return {
        "ISSUER": issuer, "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET,
        "SCOPES": "openid email profile groups department", "PROVIDER_NAME": "Test ID",
        "CLAIM_UNIT": "department", "TIMEOUT_SECONDS": 3.0,
        "GROUP_MAP": {"govkm-editors": "Editors", "govkm-owners": ["Content owners", "Restricted readers"],
                      "staff": "Civil servants"},
        **overrides,
    }


@pytest.fixture
def sso(settings, provider):
    """Single sign-on on, against the test provider."""
    settings.KM_SSO = sso_settings(provider.issuer)
    return provider


class IdPBrowser:
    """The provider's side of one browser: its cookies (the provider's
    session) and the forms a person fills in there."""

    def __init__(self, login=None, password="pw"):  # noqa: S107 (a test account)
        self.http = requests.Session()
        self.login, self.password = login, password
        self.pages = []  # what the provider showed, for assertions

    def follow(self, url):
        """Follow the provider's redirects, filling in its forms, until it
        sends the browser back to GovKM; returns that URL, or the response
        of a page it stopped on."""
        for _ in range(20):
            if url.startswith(GOVKM):
                return url
            response = self.http.get(url, allow_redirects=False, timeout=10)
            if response.is_redirect:
                url = requests.compat.urljoin(url, response.headers["Location"])
                continue
            self.pages.append(response.text)
            if 'name="login"' in response.text and self.login:
                action = url.rstrip("/") + "/login"
                response = self.http.post(action, data={"login": self.login, "password": self.password},
                                          allow_redirects=False, timeout=10)
            elif 'action="/interaction/' in response.text and "/confirm" in response.text:
                response = self.http.post(url.rstrip("/") + "/confirm", allow_redirects=False, timeout=10)
            else:
                return response
            if not response.is_redirect:
                self.pages.append(response.text)
                return response
            url = requests.compat.urljoin(url, response.headers["Location"])
        raise AssertionError("too many redirects at the provider")


def govkm_path(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sign_in(client, idp, next_url="/"):
    """Start at GovKM's "Sign in with ...", go through the provider, and
    return GovKM's answer to the callback."""
    start = client.get("/oidc/authenticate/?" + urlencode({"next": next_url}))
    assert start.status_code == 302, start.content[:500]
    back = idp.follow(start["Location"])
    assert isinstance(back, str), f"stopped at the provider: {back.status_code} {back.text[:300]}"
    return client.get(govkm_path(back))


def refresh(client, idp, path="/"):
    """A GET after the refresh interval: GovKM sends the browser to the
    provider with prompt=none; returns GovKM's answer to the callback."""
    session = client.session
    session["oidc_id_token_expiration"] = 0  # the interval has passed
    session.save()
    response = client.get(path)
    assert response.status_code == 302 and "prompt=none" in response["Location"], response
    back = idp.follow(response["Location"])
    assert isinstance(back, str), f"stopped at the provider: {back.status_code} {back.text[:300]}"
    return client.get(govkm_path(back))
