"""Silent re-authentication at the identity provider.

mozilla-django-oidc's ``SessionRefresh``: once ``KM_OIDC_REFRESH_MINUTES``
have passed since a single-sign-on session last signed in, the next GET is
sent to the provider with ``prompt=none``; the provider answers at once,
with a new code (groups, name, unit and email are applied again) or an
error (the session ends; a leaver's error also deactivates the account:
``views.CallbackView``). Requests other than GET carry on until the next
GET, so a form being submitted is not lost. Password (break-glass)
sessions are never sent to the provider.
"""

import time
from urllib.parse import parse_qs, urlsplit

from django.contrib import auth
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin
from mozilla_django_oidc.middleware import SessionRefresh as MozillaSessionRefresh

from . import discovery
from .conf import config, mozilla_setting
from .errors import Refusal


class SessionRefresh(MozillaSessionRefresh):
    get_settings = staticmethod(mozilla_setting)

    def __init__(self, get_response):  # mozilla's reads the endpoints from settings; ours come from discovery
        MiddlewareMixin.__init__(self, get_response)
        self.OIDC_EXEMPT_URLS = self.get_settings("OIDC_EXEMPT_URLS", [])
        self.OIDC_STATE_SIZE = 32
        self.OIDC_NONCE_SIZE = 32
        self.OIDC_USE_NONCE = True
        self.OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"

    def process_request(self, request):
        cfg = config()
        if not cfg.enabled or not self.is_refreshable_url(request) or request.path.startswith("/static/"):
            return None
        if request.session.get("oidc_id_token_expiration", 0) > time.time():
            return None
        try:
            meta = discovery.metadata()
        except Refusal as refusal:
            # Access cannot be confirmed: the session ends rather than outlive a refusal it cannot hear.
            auth.logout(request)
            return redirect(reverse("sso_refused") + f"?reason={refusal.code}")
        self.OIDC_OP_AUTHORIZATION_ENDPOINT = meta.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = cfg.CLIENT_ID
        self.OIDC_RP_SCOPES = cfg.SCOPES
        response = super().process_request(request)
        location = response.get("refresh_url") or response.get("Location", "")
        state = parse_qs(urlsplit(location).query).get("state", [None])[0]
        if state in request.session.get("oidc_states", {}):
            # so the callback knows an error answers a silent refresh, not a sign-in the person started
            request.session["oidc_states"][state]["silent"] = True
            request.session.modified = True
        return response
