"""Sign-in, its return, sign-out and the page that explains a refusal."""

import logging

from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.module_loading import import_string
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView, OIDCLogoutView
from wagtail.admin.views.account import LogoutView as WagtailLogoutView

from . import discovery, provisioning
from .backend import OIDCBackend
from .conf import config, mozilla_setting
from .errors import MESSAGES, Refusal

logger = logging.getLogger("govkm.sso")


def signed_in_through_sso(request):
    backend = request.session.get(BACKEND_SESSION_KEY)
    return bool(backend) and request.user.is_authenticated and issubclass(import_string(backend), OIDCBackend)


def refused(request, code, detail=""):
    """The page for a refused sign-in: what happened and what to do (GOV.UK's
    pattern for a problem page), with the refusal's code for the service
    desk. ``detail`` goes to the log only."""
    code = code if code in MESSAGES else "invalid"
    cfg = config()
    status, heading, happened, todo = MESSAGES[code]
    if detail:
        logger.warning("sign-in refused (%s): %s", code, detail)
    return render(request, "sso/refused.html", {
        "heading": heading,
        "happened": happened.format(idp=cfg.PROVIDER_NAME),
        "todo": todo.format(idp=cfg.PROVIDER_NAME),
        "code": code,
        "when": timezone.now(),
        "provider_name": cfg.PROVIDER_NAME,
        "break_glass": cfg.BREAK_GLASS,
        "retry": code not in ("inactive", "leaver"),
    }, status=status)


class SignInView(OIDCAuthenticationRequestView):
    """Off to the provider (authorization code flow with PKCE and a nonce)."""

    get_settings = staticmethod(mozilla_setting)

    def __init__(self, **kwargs):  # mozilla's reads the endpoints from settings; ours come from discovery
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request):
        cfg = config()
        if not cfg.enabled:
            raise Http404("single sign-on is not configured")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = discovery.metadata().authorization_endpoint
        except Refusal as refusal:
            return refused(request, refusal.code, refusal.detail)
        self.OIDC_RP_CLIENT_ID = cfg.CLIENT_ID
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """The provider's answer: signed in, or a page saying why not."""

    get_settings = staticmethod(mozilla_setting)

    def get(self, request):
        if not config().enabled:
            raise Http404("single sign-on is not configured")
        state = request.GET.get("state")
        entry = (request.session.get("oidc_states") or {}).get(state) if state else None
        silent = bool(entry and entry.get("silent")) and signed_in_through_sso(request)
        if request.GET.get("error"):
            return self._provider_error(request, silent)
        if request.GET.get("code") and entry is None:
            return refused(request, "state", f"state {str(state)[:12]!r}… is not one this session started")
        user_before = request.user if silent else None
        response = super().get(request)
        if request.user.is_authenticated and getattr(self, "user", None) == request.user and request.user.is_active:
            return response
        refusal = getattr(request, "sso_refusal", None)
        if user_before is not None:  # a silent refresh that did not succeed: the session ends here
            auth.logout(request)
        request.session.pop("oidc_id_token", None)
        if refusal is None:
            refusal = Refusal("inactive" if getattr(self, "user", None) else "invalid", "no user")
        return refused(request, refusal.code, refusal.detail)

    def _provider_error(self, request, silent):
        error = request.GET.get("error", "")[:100]
        description = request.GET.get("error_description", "")[:300]
        user = request.user if silent else None
        super().get(request)  # forgets the state and ends any session (mozilla-django-oidc)
        if user is None:
            return refused(request, "denied", f"provider answered {error}: {description}")
        leaver = provisioning.refresh_refused(user, error, description)
        return refused(request, "leaver" if leaver else "session_ended",
                       f"silent refresh of {user.username} refused: {error}: {description}")


class LogoutView(OIDCLogoutView):
    """Sign-out for the site and the admin: ends the GovKM session and, for
    a single-sign-on session, the provider's too (RP-initiated logout,
    ``logout.provider_logout_url``). Password sessions sign out as Wagtail's
    own view does."""

    http_method_names = ["post"]

    get_settings = staticmethod(mozilla_setting)

    def post(self, request):
        if not config().enabled or not signed_in_through_sso(request):
            return WagtailLogoutView.as_view()(request)
        return super().post(request)


def refused_page(request):
    """For redirects (the session refresh): ``?reason=`` picks one of the known messages."""
    return refused(request, request.GET.get("reason", "invalid"))
