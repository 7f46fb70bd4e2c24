"""Single sign-on's configuration: malformed values stop start-up naming
their variable; without an issuer GovKM signs in with passwords as before."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from kmsite.sso.conf import parse
from tests.test_settings_and_compose import run_settings

ISSUER = {"KM_OIDC_ISSUER": "https://id.example.gov", "KM_OIDC_CLIENT_ID": "govkm", "KM_OIDC_CLIENT_SECRET": "s"}


@pytest.mark.parametrize("env, named", [
    ({"KM_OIDC_ISSUER": "id.example.gov"}, "KM_OIDC_ISSUER"),
    ({"KM_OIDC_ISSUER": "https://id.example.gov"}, "KM_OIDC_CLIENT_ID"),
    ({**ISSUER, "KM_OIDC_GROUP_MAP": '{"editors": '}, "KM_OIDC_GROUP_MAP"),
    ({**ISSUER, "KM_OIDC_GROUP_MAP": '{"editors": 3}'}, "KM_OIDC_GROUP_MAP"),
    ({**ISSUER, "KM_OIDC_REFRESH_MINUTES": "0"}, "KM_OIDC_REFRESH_MINUTES"),
    ({**ISSUER, "KM_OIDC_REFRESH_MINUTES": "soon"}, "KM_OIDC_REFRESH_MINUTES"),
    ({**ISSUER, "KM_OIDC_BREAK_GLASS": "ture"}, "KM_OIDC_BREAK_GLASS"),
    ({**ISSUER, "KM_OIDC_SIGN_ALGORITHMS": "HS256"}, "KM_OIDC_SIGN_ALGORITHMS"),
    ({**ISSUER, "KM_OIDC_SCOPES": "email profile"}, "KM_OIDC_SCOPES"),
    ({**ISSUER, "KM_OIDC_TIMEOUT": "-1"}, "KM_OIDC_TIMEOUT"),
])
def test_a_malformed_value_stops_start_up_naming_it(env, named):
    result = run_settings("kmsite.settings.dev", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and named in result.stderr, result.stderr[-800:]


def test_a_complete_configuration_starts():
    result = run_settings("kmsite.settings.dev", **ISSUER, KM_OIDC_GROUP_MAP='{"g1": "Editors", "g2": ["HR"]}')
    assert result.returncode == 0, result.stderr[-800:]


def test_unknown_keys_are_refused_and_the_map_is_normalised():
    with pytest.raises(ImproperlyConfigured, match="REFRESH_MINUTS"):
        parse({"REFRESH_MINUTS": 5})
    config = parse({"GROUP_MAP": {" /govkm/editors ": "Editors", "owners": ["Content owners", "Restricted readers"]}})
    assert config.group_map == {"/govkm/editors": {"Editors"}, "owners": {"Content owners", "Restricted readers"}}
    assert not config.enabled and parse({"ISSUER": "https://id.example.gov/", "CLIENT_ID": "a",
                                         "CLIENT_SECRET": "b"}).ISSUER == "https://id.example.gov"
