"""The sign-in page with single sign-on (the provider's button first),
passwords for break-glass only, and signing out of GovKM and the provider."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests import factories as f
from tests.sso.conftest import GOVKM, IdPBrowser, sign_in, sso_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def sso_configured(settings):
    """Single sign-on on, no provider needed (nothing here talks to it)."""
    settings.KM_SSO = sso_settings("http://127.0.0.1:9")
    return settings


def test_without_single_sign_on_the_login_page_and_passwords_are_as_before(client):
    f.user("civil")
    page = client.get("/admin/login/").content.decode()
    assert "Sign in with" not in page and 'name="password"' in page
    assert client.post("/admin/login/", {"username": "civil", "password": "pw"}).status_code == 302
    assert "_auth_user_id" in client.session


def test_the_providers_button_comes_first_then_the_break_glass_form(client, sso_configured):
    page = client.get("/admin/login/?next=/search/").content.decode()
    button = page.index("Sign in with Test ID")
    form = page.index('name="password"')
    assert button < form
    assert 'href="/oidc/authenticate/?next=/search/"' in page
    assert re.search(r'<h1>Sign in to GovKM</h1>', page)
    assert re.search(r'<h2 id="password-sign-in">Administrators: sign in with a password</h2>', page)
    assert 'aria-labelledby="password-sign-in"' in page and '<label' in page
    site = client.get("/search/").content.decode()
    assert 'href="/admin/login/?next=' in site  # the site's "Sign in" leads to this page


def test_only_superusers_sign_in_with_a_password(client, sso_configured):
    f.user("civil")
    f.user("owner", role="content_owner")
    root = f.user("root", role="administrator")
    for name in ("civil", "owner"):
        response = client.post("/admin/login/", {"username": name, "password": "pw"})
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert client.post("/admin/login/", {"username": "root", "password": "pw"}).status_code == 302
    assert client.session["_auth_user_id"] == str(root.pk)


def test_turning_single_sign_on_on_ends_other_password_sessions(client, settings):
    civil = f.user("civil")
    client.force_login(civil, backend="kmsite.auth.ModelBackend")
    assert "Signed in as" in client.get("/search/").content.decode()
    settings.KM_SSO = sso_settings("http://127.0.0.1:9")
    assert "Signed in as" not in client.get("/search/").content.decode()


def test_break_glass_switched_off_refuses_every_password(client, settings):
    settings.KM_SSO = sso_settings("http://127.0.0.1:9", BREAK_GLASS=False)
    f.user("root", role="administrator")
    page = client.get("/admin/login/").content.decode()
    assert "Sign in with Test ID" in page and 'name="password"' not in page
    assert client.post("/admin/login/", {"username": "root", "password": "pw"}).status_code == 200
    assert "_auth_user_id" not in client.session


def test_signing_out_ends_the_govkm_session_and_the_providers(client, sso):
    sso.add_user("ola", email="ola@example.gov", groups=[])
    idp = IdPBrowser("ola")
    sign_in(client, idp)
    id_token = client.session["oidc_id_token"]
    response = client.post("/admin/logout/")
    assert response.status_code == 302 and "_auth_user_id" not in client.session
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{sso.issuer}/session/end"
    params = parse_qs(location.query)
    assert params["id_token_hint"] == [id_token] and params["post_logout_redirect_uri"] == [f"{GOVKM}/"]
    # at the provider: confirm, and it sends the browser back to GovKM's home page
    confirm = idp.http.get(response["Location"], timeout=10)
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', confirm.text))
    action = re.search(r'action="([^"]+)"', confirm.text).group(1)
    done = idp.http.post(requests_url(sso.issuer, action), data={**form, "logout": "yes"}, allow_redirects=False,
                         timeout=10)
    assert done.status_code in (302, 303) and done.headers["Location"] == f"{GOVKM}/"
    # the provider's session is over: signing in again asks for the password
    idp.pages.clear()
    sign_in(client, idp)
    assert any("Test identity provider: sign in" in p for p in idp.pages)


def requests_url(base, action):
    return action if action.startswith("http") else base + action


def test_a_password_session_signs_out_as_in_wagtail(client, sso_configured):
    root = f.user("root", role="administrator")
    client.force_login(root, backend="kmsite.auth.ModelBackend")
    response = client.post("/admin/logout/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert "_auth_user_id" not in client.session


def test_group_mappings_are_kept_by_administrators_in_the_admin(client):
    from django.contrib.auth.models import Group

    from kmsite.sso.models import GroupMapping

    f.user("editor", role="editor")
    root = f.user("root", role="administrator")
    client.force_login(f.user("editor", role="editor"))
    assert client.get("/admin/sso_group_mappings/").status_code in (302, 403)
    client.force_login(root)
    assert client.get("/admin/sso_group_mappings/").status_code == 200
    editors = Group.objects.get(name="Editors")
    response = client.post("/admin/sso_group_mappings/new/", {"idp_group": " /govkm/editors ", "group": editors.pk,
                                                               "note": "Keycloak group"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert GroupMapping.objects.get().idp_group == "/govkm/editors"
    listing = client.get("/admin/sso_group_mappings/").content.decode()
    assert "/govkm/editors" in listing and "Editors" in listing
