"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)."""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import resolve_url

from . import discovery
from .conf import config
from .errors import Refusal

logger = logging.getLogger("govkm.sso")


def provider_logout_url(request):
    """Where to send someone signing out of a single-sign-on session: the
    provider's ``end_session_endpoint`` with ``id_token_hint`` and
    ``post_logout_redirect_uri`` (GovKM's home page, which must be
    registered at the provider), or GovKM's home page when the provider has
    no such endpoint or cannot be reached (the GovKM session ends anyway)."""
    home = request.build_absolute_uri(resolve_url(getattr(settings, "LOGOUT_REDIRECT_URL", "/")))
    try:
        endpoint = discovery.metadata().end_session_endpoint
    except Refusal as refusal:
        logger.warning("signing out of GovKM only: %s", refusal)
        return home
    if not endpoint:
        return home
    params = {"post_logout_redirect_uri": home, "client_id": config().CLIENT_ID}
    id_token = request.session.get("oidc_id_token")
    if id_token:
        params["id_token_hint"] = id_token
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"
