"""The authentication backend for sign-in through the identity provider.

mozilla-django-oidc's backend, with the endpoints from discovery (looked up
when a sign-in comes back, never when the backend is built, so password
sign-in does not wait on the IdP), GovKM's checks of the ID token
(``tokens``), userinfo for the same subject only, and accounts keyed on
(issuer, subject) (``provisioning``). ``authenticate(request, **kwargs)``
keeps Django's contract: it returns a user or None, and never raises for a
refused sign-in; the reason is left on ``request.sso_refusal`` for the
callback view to explain.
"""

import logging

import requests
from django.contrib.auth import get_user_model
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from . import discovery, provisioning, tokens
from .conf import config, mozilla_setting
from .errors import Refusal

logger = logging.getLogger("govkm.sso")


class OIDCBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(mozilla_setting)

    def __init__(self, *args, **kwargs):  # mozilla's reads endpoints from settings; ours come from discovery
        self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        cfg = config()
        if not cfg.enabled or request is None or "password" in kwargs or not (
                request.GET.get("code") and request.GET.get("state")):
            return None
        try:
            self.meta = discovery.metadata()
            self.OIDC_OP_TOKEN_ENDPOINT = self.meta.token_endpoint
            self.OIDC_OP_USER_ENDPOINT = self.meta.userinfo_endpoint
            self.OIDC_OP_JWKS_ENDPOINT = self.meta.jwks_uri
            self.OIDC_RP_CLIENT_ID, self.OIDC_RP_CLIENT_SECRET = cfg.CLIENT_ID, cfg.CLIENT_SECRET
            self.OIDC_RP_SIGN_ALGO, self.OIDC_RP_IDP_SIGN_KEY = cfg.SIGN_ALGORITHMS[0], None
            return super().authenticate(request, **kwargs)
        except Refusal as refusal:
            request.sso_refusal = refusal
        except requests.HTTPError as exc:  # the token endpoint answered with an error (a used or bad code)
            request.sso_refusal = Refusal("invalid", str(exc)[:500])
        except requests.RequestException as exc:
            request.sso_refusal = Refusal("unreachable", str(exc)[:500])
        logger.warning("sign-in refused: %s", request.sso_refusal)
        return None

    def verify_token(self, token, **kwargs):
        cfg = config()
        key, algorithm = tokens.signing_key(token, self.meta.jwks_uri, set(cfg.SIGN_ALGORITHMS), cfg.TIMEOUT_SECONDS)
        return tokens.verify_id_token(
            token, key=key, algorithm=algorithm, issuer=self.meta.issuer, client_id=cfg.CLIENT_ID,
            nonce=kwargs.get("nonce") if "nonce" in kwargs else None, leeway=cfg.CLOCK_SKEW_SECONDS,
        )

    def get_userinfo(self, access_token, id_token, payload):
        response = requests.get(self.OIDC_OP_USER_ENDPOINT, headers={"Authorization": f"Bearer {access_token}"},
                                timeout=config().TIMEOUT_SECONDS)
        response.raise_for_status()
        if response.headers.get("content-type", "").lower().startswith("application/jwt"):
            raise Refusal("invalid", "signed userinfo responses are not supported")
        return response.json()

    def get_or_create_user(self, access_token, id_token, payload):
        """Claims from the ID token, completed by userinfo (which must be
        about the same subject: OpenID Connect Core 5.3.2), to a GovKM user."""
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload["sub"]:
            raise Refusal("invalid", "userinfo is about another subject than the ID token")
        claims = {**userinfo, **payload}
        return provisioning.sign_in(self.meta.issuer.rstrip("/"), claims)

    def get_user(self, user_id):
        """The session's user, by primary key, if they may still sign in
        (as Django's ``ModelBackend.get_user``)."""
        user = self.UserModel._default_manager.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

