"""The ``KM_SSO`` settings as a typed object.

``validate`` runs when the settings load, so a malformed value stops
start-up with a message naming its environment variable; ``config`` is what
the rest of the package reads (the settings of the moment, so tests can
override them).
"""

from dataclasses import dataclass, fields

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from mozilla_django_oidc.utils import import_from_settings

ENV_NAMES = {
    "ISSUER": "KM_OIDC_ISSUER",
    "DISCOVERY_URL": "KM_OIDC_DISCOVERY_URL",
    "CLIENT_ID": "KM_OIDC_CLIENT_ID",
    "CLIENT_SECRET": "KM_OIDC_CLIENT_SECRET",
    "SCOPES": "KM_OIDC_SCOPES",
    "SIGN_ALGORITHMS": "KM_OIDC_SIGN_ALGORITHMS",
    "PROVIDER_NAME": "KM_OIDC_PROVIDER_NAME",
    "CLAIM_EMAIL": "KM_OIDC_CLAIM_EMAIL",
    "CLAIM_GIVEN_NAME": "KM_OIDC_CLAIM_GIVEN_NAME",
    "CLAIM_FAMILY_NAME": "KM_OIDC_CLAIM_FAMILY_NAME",
    "CLAIM_GROUPS": "KM_OIDC_CLAIM_GROUPS",
    "CLAIM_UNIT": "KM_OIDC_CLAIM_UNIT",
    "REQUIRED_CLAIMS": "KM_OIDC_REQUIRED_CLAIMS",
    "GROUP_MAP": "KM_OIDC_GROUP_MAP",
    "REFRESH_MINUTES": "KM_OIDC_REFRESH_MINUTES",
    "LEAVER_ERRORS": "KM_OIDC_LEAVER_ERRORS",
    "BREAK_GLASS": "KM_OIDC_BREAK_GLASS",
    "TIMEOUT_SECONDS": "KM_OIDC_TIMEOUT",
    "CLOCK_SKEW_SECONDS": "KM_OIDC_CLOCK_SKEW",
}
# Asymmetric algorithms only: HS256 would sign with the client secret, which
# every holder of the secret could then forge.
SIGN_ALGORITHMS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}


@dataclass(frozen=True)
class SsoConfig:
    ISSUER: str = ""
    DISCOVERY_URL: str = ""
    CLIENT_ID: str = ""
    CLIENT_SECRET: str = ""
    SCOPES: str = "openid email profile"
    SIGN_ALGORITHMS: tuple = ("RS256",)
    PROVIDER_NAME: str = "your organisation account"
    CLAIM_EMAIL: str = "email"
    CLAIM_GIVEN_NAME: str = "given_name"
    CLAIM_FAMILY_NAME: str = "family_name"
    CLAIM_GROUPS: str = "groups"
    CLAIM_UNIT: str = ""
    REQUIRED_CLAIMS: tuple = ("email",)
    GROUP_MAP: tuple = ()  # ((idp group, (GovKM group, ...)), ...)
    REFRESH_MINUTES: int = 15
    LEAVER_ERRORS: tuple = ("access_denied",)
    BREAK_GLASS: bool = True
    TIMEOUT_SECONDS: float = 5.0
    CLOCK_SKEW_SECONDS: int = 60

    @property
    def enabled(self):
        return bool(self.ISSUER)

    @property
    def discovery_url(self):
        return self.DISCOVERY_URL or f"{self.ISSUER}/.well-known/openid-configuration"

    @property
    def group_map(self):
        return {idp: set(groups) for idp, groups in self.GROUP_MAP}


def _fail(key, message):
    raise ImproperlyConfigured(f"Environment variable {ENV_NAMES.get(key, key)} {message}")


def _group_map(raw):
    if not isinstance(raw, dict):
        _fail("GROUP_MAP", "must be a JSON object of IdP group to GovKM group name (or list of names)")
    pairs = []
    for idp, groups in raw.items():
        groups = [groups] if isinstance(groups, str) else groups
        if not idp.strip() or not isinstance(groups, list) or not groups or not all(
                isinstance(g, str) and g.strip() for g in groups):
            _fail("GROUP_MAP", f"has a bad entry for {idp!r}: give a GovKM group name or a list of names")
        pairs.append((idp.strip(), tuple(g.strip() for g in groups)))
    return tuple(sorted(pairs))


def parse(raw):
    """An ``SsoConfig`` from the ``KM_SSO`` dict; unknown keys and values out
    of range are ``ImproperlyConfigured``, naming the variable."""
    known = {f.name for f in fields(SsoConfig)}
    unknown = set(raw) - known
    if unknown:
        raise ImproperlyConfigured(f"Unknown KM_SSO settings: {', '.join(sorted(unknown))}")
    values = dict(raw)
    values["ISSUER"] = (values.get("ISSUER") or "").rstrip("/")
    for key in ("SIGN_ALGORITHMS", "REQUIRED_CLAIMS", "LEAVER_ERRORS"):
        if key in values:
            values[key] = tuple(str(v).strip() for v in values[key] if str(v).strip())
    bad = set(values.get("SIGN_ALGORITHMS", ())) - SIGN_ALGORITHMS
    if bad or values.get("SIGN_ALGORITHMS") == ():
        _fail("SIGN_ALGORITHMS", f"must list asymmetric JWS algorithms ({', '.join(sorted(SIGN_ALGORITHMS))}); "
                                 f"not {', '.join(sorted(bad)) or 'nothing'}")
    if "GROUP_MAP" in values:
        values["GROUP_MAP"] = _group_map(values["GROUP_MAP"])
    if values.get("REFRESH_MINUTES", 15) < 1:
        _fail("REFRESH_MINUTES", "must be at least 1 (minutes between silent re-authentications)")
    if values.get("TIMEOUT_SECONDS", 5.0) <= 0:
        _fail("TIMEOUT_SECONDS", "must be a positive number of seconds")
    if values.get("CLOCK_SKEW_SECONDS", 60) < 0:
        _fail("CLOCK_SKEW_SECONDS", "must not be negative")
    if "openid" not in str(values.get("SCOPES", "openid")).split():
        _fail("SCOPES", "must include openid")
    for key in ("CLAIM_EMAIL", "CLAIM_GIVEN_NAME", "CLAIM_FAMILY_NAME", "CLAIM_GROUPS"):
        if key in values and not str(values[key]).strip():
            _fail(key, "must name a claim")
    config = SsoConfig(**values)
    if config.enabled:
        for key in ("CLIENT_ID", "CLIENT_SECRET"):
            if not getattr(config, key):
                _fail(key, "must be set when KM_OIDC_ISSUER is set")
    return config


def validate(raw):
    """For the settings module: raise at start-up rather than at first sign-in."""
    parse(raw)
    return raw


_memo = (None, None)  # (the KM_SSO dict parsed last, its SsoConfig)


def config():
    """The ``SsoConfig`` of the current settings (parsed once per settings
    dict: every request asks, through the session refresh middleware)."""
    global _memo
    raw = getattr(settings, "KM_SSO", {})
    seen, parsed = _memo
    if seen is not raw:
        parsed = parse(raw)
        _memo = (raw, parsed)
    return parsed


def enabled():
    return config().enabled


def mozilla_setting(attr, *args):
    """mozilla-django-oidc's ``get_settings``, answering from ``KM_SSO`` for
    what GovKM configures there, so there is one source for each value."""
    cfg = config()
    derived = {
        "OIDC_RP_CLIENT_ID": cfg.CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": cfg.CLIENT_SECRET,
        "OIDC_RP_SCOPES": cfg.SCOPES,
        "OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS": cfg.REFRESH_MINUTES * 60,
        "OIDC_TIMEOUT": cfg.TIMEOUT_SECONDS,
    }
    return derived[attr] if attr in derived else import_from_settings(attr, *args)
