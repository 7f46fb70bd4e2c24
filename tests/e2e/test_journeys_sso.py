"""Signing in through the organisation's identity provider, in a real
browser: GovKM's production web server configured for single sign-on
against the test OpenID provider (tests/node/oidc_provider.mjs), both on
loopback, on a database of their own."""

import os
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.conftest import free_port, kill_process_group
from tests.e2e.conftest import ROOT, database_url
from tests.sso.conftest import CLIENT_ID, CLIENT_SECRET, OidcTestProvider

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def sso_stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e-sso")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider = OidcTestProvider(tmp, [f"{base}/oidc/callback/"], [f"{base}/"]).start()
    provider.add_user("7f3a-ada", email="ada@example.gov", given_name="Ada", family_name="Lovelace",
                      preferred_username="ada", groups=["govkm-editors", "staff"])
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kmsite.settings.dev",
        "DEBUG": "true",
        "DATABASE_URL": database_url(tmp, "e2e_sso"),  # not the browser stack's database
        "KM_VAR_DIR": str(tmp),
        "HF_HUB_OFFLINE": "1",
        "KM_OIDC_ISSUER": provider.issuer,
        "KM_OIDC_CLIENT_ID": CLIENT_ID,
        "KM_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "KM_OIDC_SCOPES": "openid email profile groups",
        "KM_OIDC_PROVIDER_NAME": "Test ID",
        "KM_OIDC_GROUP_MAP": '{"govkm-editors": "Editors", "staff": "Civil servants"}',
    }
    for key in ("REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(key, None)
    log = open(tmp / "web.log", "w")
    for cmd in (["migrate", "--noinput", "-v0"],
                ["shell", "-c", "from knowledge.roles import ensure_roles; ensure_roles()"]):
        subprocess.run([sys.executable, "manage.py", *cmd], cwd=ROOT, env=env, check=True, stdout=log,
                       stderr=subprocess.STDOUT, timeout=600)
    web = subprocess.Popen(
        [sys.executable, "-m", "kmsite.server", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/admin/login/", timeout=10) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        kill_process_group(web)
        provider.stop()
        pytest.fail("the web server did not start:\n" + (tmp / "web.log").read_text()[-3000:])
    yield {"url": base, "provider": provider}
    web.terminate()
    try:
        web.wait(20)
    except subprocess.TimeoutExpired:
        pass
    kill_process_group(web)
    provider.stop()


def test_signing_in_with_the_identity_provider_gives_the_right_role(browser, sso_stack):
    context = browser.new_context(base_url=sso_stack["url"], viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto("/search/")
        page.get_by_role("link", name="Sign in").click()
        # the organisation's button comes first, then the administrators' password form
        button = page.get_by_role("link", name="Sign in with Test ID")
        expect(button).to_be_visible()
        expect(page.get_by_role("heading", name="Administrators: sign in with a password")).to_be_visible()
        button.click()
        # at the provider: its own sign-in form, then its consent page
        expect(page.get_by_role("heading", name="Test identity provider: sign in")).to_be_visible()
        page.get_by_label("User name").fill("7f3a-ada")
        page.get_by_label("Password").fill("pw")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="Test identity provider: allow access")).to_be_visible()
        page.get_by_role("button", name="Allow").click()
        # back on GovKM, where the sign-in started, as an editor
        page.wait_for_url(f"{sso_stack['url']}/search/")
        expect(page.get_by_text("Signed in as Ada Lovelace")).to_be_visible()
        admin_link = page.get_by_role("navigation", name="Account").get_by_role("link", name="Admin")
        expect(admin_link).to_be_visible()  # Editors may open the admin; civil servants may not
        admin_link.click()
        page.wait_for_url(f"{sso_stack['url']}/admin/")
        expect(page.get_by_role("link", name="Pages").first).to_be_visible()
        # signing out ends both sessions and lands on GovKM's home page
        page.goto("/search/")
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("button", name="Yes, sign me out").click()
        page.wait_for_url(f"{sso_stack['url']}/")
        page.goto("/search/")
        expect(page.get_by_role("link", name="Sign in")).to_be_visible()
        page.get_by_role("link", name="Sign in").click()
        page.get_by_role("link", name="Sign in with Test ID").click()
        # the provider's session ended too: it asks for the password again
        expect(page.get_by_role("heading", name="Test identity provider: sign in")).to_be_visible()
    except Exception:
        (ROOT / "tests" / "e2e" / "screenshots").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "tests" / "e2e" / "screenshots" / "sso-journey.png"), full_page=True)
        raise
    finally:
        context.close()
