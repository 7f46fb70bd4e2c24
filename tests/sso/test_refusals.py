"""Every refused sign-in gets a clear page, never a 500, and signs nobody
in: tokens the test provider spoils on request (wrong issuer or audience,
expired, not yet valid, bad signature, no signature, replayed), a replayed
state, a missing claim, a provider that cannot be reached; and the
break-glass path that still works meanwhile."""

import pytest
from django.contrib.auth import get_user_model

from kmsite.sso import discovery
from kmsite.sso.models import OidcIdentity
from tests import factories as f
from tests.conftest import free_port
from tests.sso.conftest import IdPBrowser, govkm_path, refresh, sign_in, sso_settings

pytestmark = pytest.mark.django_db


def assert_refused(response, status, *phrases):
    body = response.content.decode()
    assert response.status_code == status, body[:800]
    assert "<h1>" in body and "What you can do" in body
    for phrase in phrases:
        assert phrase in body, (phrase, body[:1500])
    assert "_auth_user_id" not in response.client.session


@pytest.mark.parametrize("mode, status, phrase, code", [
    ("wrong_iss", 400, "did not come from Test ID", "issuer"),
    ("wrong_aud", 400, "meant for another service", "audience"),
    ("expired", 400, "had expired", "expired"),
    ("not_yet_valid", 400, "dated in the future", "not_yet_valid"),
    ("bad_signature", 400, "could not be verified", "signature"),
    ("alg_none", 400, "could not be verified", "signature"),
    ("replay", 400, "did not belong to the sign-in you started", "nonce"),
])
def test_a_spoilt_id_token_is_refused_with_a_page_saying_why(client, sso, mode, status, phrase, code):
    sso.add_user("tom", email="tom@example.gov", groups=["govkm-owners"])
    if mode == "replay":  # a genuine token from an earlier sign-in, handed out again
        sign_in(client, IdPBrowser("tom"))
        client.post("/admin/logout/")
    users_before = get_user_model().objects.count()
    sso.tamper(mode)
    response = sign_in(client, IdPBrowser("tom"))
    assert_refused(response, status, phrase, f"sign-in problem <strong>{code}</strong>")
    assert get_user_model().objects.count() == users_before


def test_the_genuine_token_is_accepted_after_a_spoilt_one(client, sso):
    sso.add_user("tom", email="tom@example.gov", groups=[])
    sso.tamper("wrong_aud")
    assert sign_in(client, IdPBrowser("tom")).status_code == 400
    sso.tamper(None)
    assert sign_in(client, IdPBrowser("tom")).status_code == 302
    assert OidcIdentity.objects.filter(subject="tom").exists()


def test_a_replayed_callback_is_refused(client, sso):
    sso.add_user("val", email="val@example.gov", groups=[])
    idp = IdPBrowser("val")
    start = client.get("/oidc/authenticate/")
    back = idp.follow(start["Location"])
    assert client.get(govkm_path(back)).status_code == 302  # signed in
    client.post("/admin/logout/")
    again = client.get(govkm_path(back))  # the same code and state, a second time
    assert_refused(again, 400, "This sign-in link has expired", "<strong>state</strong>")


def test_a_callback_with_a_state_from_another_browser_is_refused(client, sso):
    from django.test import Client

    sso.add_user("val", email="val@example.gov", groups=[])
    start = client.get("/oidc/authenticate/")
    back = IdPBrowser("val").follow(start["Location"])
    other = Client()  # an attacker's browser handed the victim's callback link
    assert_refused(other.get(govkm_path(back)), 400, "This sign-in link has expired")
    assert not OidcIdentity.objects.exists()


def test_a_missing_required_claim_is_refused(client, sso):
    sso.add_user("nomail", groups=["staff"])  # the provider knows no email address for them
    response = sign_in(client, IdPBrowser("nomail"))
    assert_refused(response, 403, "did not tell us everything", "<strong>missing_claim</strong>")
    assert not OidcIdentity.objects.exists() and not get_user_model().objects.exists()


def test_the_provider_saying_no_is_a_page_not_an_error(client, sso):
    sso.add_user("quinn", email="q@example.gov", groups=[])
    start = client.get("/oidc/authenticate/")
    state = start["Location"].split("state=")[1].split("&")[0]
    response = client.get(f"/oidc/callback/?error=access_denied&error_description=no&state={state}")
    assert_refused(response, 403, "Test ID did not let you sign in")


def test_an_unreachable_provider_gets_a_page_and_break_glass_still_works(client, settings, provider):
    settings.KM_SSO = sso_settings(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    response = client.get("/oidc/authenticate/")
    assert_refused(response, 503, "could not reach Test ID", "sign in with a GovKM password")
    login = client.get("/admin/login/")
    assert login.status_code == 200 and "Sign in with Test ID" in login.content.decode()
    admin = f.user("root", role="administrator")
    response = client.post("/admin/login/", {"username": "root", "password": "pw"})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(admin.pk)


def test_a_provider_that_goes_away_mid_sign_in_gets_a_page(client, sso):
    sso.add_user("una", email="una@example.gov", groups=[])
    start = client.get("/oidc/authenticate/")
    back = IdPBrowser("una").follow(start["Location"])
    sso.stop()  # between the provider's redirect and GovKM's call to its token endpoint
    try:
        response = client.get(govkm_path(back))
        assert_refused(response, 503, "could not reach Test ID")
    finally:
        sso.start()


def test_a_refresh_with_the_provider_gone_ends_the_session(client, sso):
    sso.add_user("rae", email="rae@example.gov", groups=[])
    sign_in(client, IdPBrowser("rae"))
    discovery.forget()  # no copy of its metadata at hand either
    sso.stop()
    try:
        session = client.session
        session["oidc_id_token_expiration"] = 0
        session.save()
        response = client.get("/search/")
        assert response.status_code == 302 and "reason=unreachable" in response["Location"]
        assert "_auth_user_id" not in client.session
        assert_refused(client.get(response["Location"]), 503, "could not reach Test ID")
    finally:
        sso.start()


def test_a_refresh_answered_with_a_spoilt_token_ends_the_session(client, sso):
    sso.add_user("ray", email="ray@example.gov", groups=[])
    idp = IdPBrowser("ray")
    sign_in(client, idp)
    sso.tamper("bad_signature")
    response = refresh(client, idp)
    assert_refused(response, 400, "could not be verified")


def test_the_discovery_document_must_name_the_configured_issuer(client, settings, provider):
    settings.KM_SSO = sso_settings(provider.issuer + "/elsewhere",
                                   DISCOVERY_URL=f"{provider.issuer}/.well-known/openid-configuration")
    assert_refused(client.get("/oidc/authenticate/"), 400, "did not come from Test ID")


def test_nothing_at_the_callback_or_sign_in_without_single_sign_on(client):
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
