"""Signing in through a real OpenID provider: provisioning, roles from its
groups, the silent refresh that applies what changed there, and leavers."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from kmsite.sso.models import GroupMapping, OidcIdentity
from knowledge.access import user_tokens, viewer_facts
from knowledge.models import OwnershipTransfer
from tests import factories as f
from tests.sso.conftest import IdPBrowser, refresh, sign_in

pytestmark = pytest.mark.django_db


def signed_in_user(client):
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id) if user_id else None


def groups_of(user):
    return set(user.groups.values_list("name", flat=True))


def test_first_sign_in_provisions_the_user_from_the_claims(client, sso):
    f.ensure_roles()
    finance = f.unit("finance", "Finance")
    sso.add_user("a1b2-ada", email="ada@example.gov", given_name="Ada", family_name="Lovelace",
                 preferred_username="ada", groups=["govkm-editors", "staff", "unmapped"], department="finance")
    idp = IdPBrowser("a1b2-ada")
    response = sign_in(client, idp, next_url="/search/")
    assert response.status_code == 302 and response["Location"] == "/search/"
    assert any("Test identity provider: sign in" in p for p in idp.pages)  # the provider's own form
    user = signed_in_user(client)
    assert (user.username, user.email, user.get_full_name()) == ("ada", "ada@example.gov", "Ada Lovelace")
    assert not user.has_usable_password() and not user.is_staff and not user.is_superuser
    assert groups_of(user) == {"Editors", "Civil servants"}
    assert user.staff_profile.unit == finance
    identity = OidcIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject) == (sso.issuer, "a1b2-ada") and identity.last_sign_in_at
    page = client.get("/search/")
    assert "Signed in as Ada Lovelace" in page.content.decode()


def test_identity_is_the_subject_not_the_email(client, sso):
    sso.add_user("sub-1", email="pat@example.gov", given_name="Pat", groups=[])
    sso.add_user("sub-2", email="pat@example.gov", given_name="Patricia", groups=[])
    sign_in(client, IdPBrowser("sub-1"))
    first = signed_in_user(client)
    client.post("/admin/logout/")
    sign_in(client, IdPBrowser("sub-2"))
    second = signed_in_user(client)
    assert first != second and first.email == second.email == "pat@example.gov"  # never merged
    # the provider changes sub-1's email: the same GovKM user follows it
    sso.update_user("sub-1", email="pat.smith@example.gov")
    client.post("/admin/logout/")
    sign_in(client, IdPBrowser("sub-1"))
    assert signed_in_user(client) == first
    first.refresh_from_db()
    assert first.email == "pat.smith@example.gov"
    assert get_user_model().objects.filter(oidc_identities__isnull=False).count() == 2


def test_a_local_account_with_the_same_email_is_not_taken_over(client, sso):
    local = f.user("boss", role="content_owner", email="boss@example.gov")
    sso.add_user("intruder", email="boss@example.gov", groups=[])
    sign_in(client, IdPBrowser("intruder"))
    user = signed_in_user(client)
    assert user != local and "Content owners" not in groups_of(user)


def test_groups_follow_the_provider_at_every_refresh_and_hand_assigned_ones_stay(client, sso):
    groups = f.ensure_roles()
    sso.add_user("eve", email="eve@example.gov", groups=["govkm-owners", "staff"])
    idp = IdPBrowser("eve")
    sign_in(client, idp)
    user = signed_in_user(client)
    user.groups.add(groups["HR"])  # handed out in the admin: no mapping leads to HR
    assert groups_of(user) == {"Content owners", "Restricted readers", "Civil servants", "HR"}
    sso.update_user("eve", groups=["govkm-editors", "staff"])  # moved to an editor's job
    response = refresh(client, idp, "/search/")
    assert response.status_code == 302 and response["Location"] == "/search/"
    assert signed_in_user(client) == user  # the same session goes on
    assert groups_of(user) == {"Editors", "Civil servants", "HR"}
    assert viewer_facts(get_user_model().objects.get(pk=user.pk))["groups"] == sorted(
        user.groups.values_list("pk", flat=True))


def test_an_administrators_mapping_in_the_admin_applies_at_the_next_sign_in(client, sso):
    f.ensure_roles()
    sso.add_user("aud", email="aud@example.gov", groups=["internal-audit"])
    idp = IdPBrowser("aud")
    sign_in(client, idp)
    user = signed_in_user(client)
    assert groups_of(user) == set()
    GroupMapping.objects.create(idp_group="internal-audit", group=Group.objects.get(name="Auditors"))
    refresh(client, idp)
    assert groups_of(user) == {"Auditors"}
    sso.update_user("aud", groups=[])
    refresh(client, idp)
    assert groups_of(user) == set()


def test_a_restricted_page_appears_in_search_with_the_role_and_vanishes_without_it(
        client, sso, django_capture_on_commit_callbacks):
    f.ensure_roles()
    with django_capture_on_commit_callbacks(execute=True):
        f.procedure("Investigate a suspicious payment", steps=("Investigators interview the payee.",),
                    audience="restricted")
        f.policy("Payment approval policy", body="Every payment is approved by two people.")

    def titles():
        return {r["title"] for r in client.get("/api/search/", {"q": "payment"}).json()["results"]}

    sso.add_user("rita", email="rita@example.gov", groups=["staff"])
    idp = IdPBrowser("rita")
    sign_in(client, idp)
    assert titles() == {"Payment approval policy"}
    sso.update_user("rita", groups=["staff", "govkm-owners"])
    refresh(client, idp)
    assert titles() == {"Payment approval policy", "Investigate a suspicious payment"}
    sso.update_user("rita", groups=["staff"])
    refresh(client, idp)
    assert titles() == {"Payment approval policy"}
    user = signed_in_user(client)
    restricted = Group.objects.get(name="Restricted readers")
    assert f"group:{restricted.pk}" not in user_tokens(user)


def test_a_leaver_disabled_at_the_provider_is_out_at_the_next_refresh_and_their_pages_handed_over(
        client, sso):
    f.ensure_roles()
    lead = f.user("lead", role="content_owner")
    finance = f.unit("finance", "Finance")
    finance.content_lead = lead
    finance.save()
    sso.add_user("leo", email="leo@example.gov", groups=["govkm-owners"], department="finance")
    idp = IdPBrowser("leo")
    sign_in(client, idp)
    leo = signed_in_user(client)
    page = f.policy("Budget policy", owner=leo, unit_=finance)
    assert client.get("/search/").status_code == 200
    sso.update_user("leo", disabled=True)
    response = refresh(client, idp, "/search/")
    assert response.status_code == 403
    body = response.content.decode()
    assert "You have been signed out" in body and "switched off" in body
    assert signed_in_user(client) is None
    leo.refresh_from_db()
    assert not leo.is_active
    page.refresh_from_db()
    assert page.owner_user == lead  # knowledge/ownership.py's hand-over, set off by the deactivation
    transfer = OwnershipTransfer.objects.get(page=page)
    assert (transfer.from_user, transfer.to_user, transfer.reason) == (leo, lead, OwnershipTransfer.Reason.DEACTIVATED)
    identity = OidcIdentity.objects.get(user=leo)
    assert identity.refused_at and identity.refusal.startswith("access_denied")
    # and they cannot sign in again, at the provider or here
    assert "Signed in as" not in client.get("/search/").content.decode()
    again = IdPBrowser("leo")
    start = client.get("/oidc/authenticate/")
    stopped = again.follow(start["Location"])
    assert not isinstance(stopped, str) and stopped.status_code == 403


def test_a_leaver_deleted_at_the_provider_is_out_too(client, sso):
    sso.add_user("del", email="del@example.gov", groups=[])
    idp = IdPBrowser("del")
    sign_in(client, idp)
    user = signed_in_user(client)
    sso.delete_user("del")
    response = refresh(client, idp)
    assert response.status_code == 403 and signed_in_user(client) is None
    user.refresh_from_db()
    assert not user.is_active


def test_an_ended_provider_session_signs_out_without_deactivating(client, sso):
    sso.add_user("sam", email="sam@example.gov", groups=[])
    idp = IdPBrowser("sam")
    sign_in(client, idp)
    user = signed_in_user(client)
    idp.http.cookies.clear()  # the provider's session is gone (expired, or signed out elsewhere)
    response = refresh(client, idp)
    assert response.status_code == 401 and "Your session with Test ID has ended" in response.content.decode()
    assert signed_in_user(client) is None
    user.refresh_from_db()
    assert user.is_active  # only signed out: login_required is not a leaver's answer
    sign_in(client, IdPBrowser("sam"))
    assert signed_in_user(client) == user


def test_a_deactivated_account_stays_off_until_an_administrator_turns_it_on(client, sso):
    sso.add_user("ann", email="ann@example.gov", groups=[])
    sign_in(client, IdPBrowser("ann"))
    user = signed_in_user(client)
    client.post("/admin/logout/")
    user.is_active = False
    user.save()
    response = sign_in(client, IdPBrowser("ann"))
    assert response.status_code == 403 and "Your GovKM account is switched off" in response.content.decode()
    assert signed_in_user(client) is None
