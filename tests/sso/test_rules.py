"""The provisioning and mapping rules on their own (no provider needed)."""

import pytest
from django.contrib.auth.models import Group

from kmsite.sso import provisioning
from kmsite.sso.errors import Refusal
from kmsite.sso.roles import apply_roles, idp_groups
from tests import factories as f
from tests.sso.conftest import sso_settings

pytestmark = pytest.mark.django_db
ISSUER = "https://id.example.gov"


@pytest.fixture
def sso_rules(settings):
    settings.KM_SSO = sso_settings(ISSUER)
    f.ensure_roles()


def claims(sub, **more):
    return {"sub": sub, "email": f"{sub}@example.gov", **more}


def test_an_entra_group_overage_removes_the_managed_groups_and_says_so(sso_rules, caplog):
    user = provisioning.sign_in(ISSUER, claims("o1", groups=["govkm-owners"]))
    assert set(user.groups.values_list("name", flat=True)) == {"Content owners", "Restricted readers"}
    overage = claims("o1", _claim_names={"groups": "src1"}, _claim_sources={"src1": {"endpoint": "https://graph"}})
    assert idp_groups(overage) == set()
    provisioning.sign_in(ISSUER, overage)
    assert not user.groups.exists()
    assert "left the groups out of the token" in caplog.text


def test_groups_claim_as_one_string_and_mapped_names_that_do_not_exist(sso_rules, settings, caplog):
    settings.KM_SSO = sso_settings(ISSUER, GROUP_MAP={"solo": ["Editors", "No such group"]})
    user = f.user("x", role="hr")
    assert apply_roles(user, idp_groups({"groups": "solo"})) == (["Editors"], [])
    assert set(user.groups.values_list("name", flat=True)) == {"Editors", "HR"}
    assert "No such group" in caplog.text


def test_user_names_are_unique_and_the_unit_claim_must_name_a_unit(sso_rules, settings):
    settings.KM_SSO = sso_settings(ISSUER, CLAIM_UNIT="department")
    f.user("kim")
    hr = f.unit("hr-directorate", "HR Directorate")
    first = provisioning.sign_in(ISSUER, claims("s1", preferred_username="kim", department="HR directorate"))
    second = provisioning.sign_in(ISSUER, claims("s2", preferred_username="kim", department="nowhere"))
    assert (first.username, second.username) == ("kim-2", "kim-3")
    assert first.staff_profile.unit == hr  # matched by name, any case
    assert not hasattr(second, "staff_profile") or second.staff_profile.unit is None
    provisioning.sign_in(ISSUER, claims("s1", department="nowhere"))  # an unknown unit changes nothing
    first.staff_profile.refresh_from_db()
    assert first.staff_profile.unit == hr


def test_a_missing_claim_is_refused_before_anything_is_written(sso_rules):
    with pytest.raises(Refusal) as refusal:
        provisioning.sign_in(ISSUER, {"sub": "m1"})
    assert refusal.value.code == "missing_claim"
    assert not Group.objects.filter(user__username="m1").exists()
