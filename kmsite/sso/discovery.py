"""The provider's endpoints, from its OpenID Connect discovery document.

Fetched when first needed (never at start-up: the site and break-glass
sign-in must work while the IdP is down), kept per process for an hour, and
a copy up to a day old is used while the provider cannot be reached. The
document's ``issuer`` must be the configured issuer exactly (OpenID
Connect Discovery 1.0, section 4.3), so a document served elsewhere cannot
redirect sign-in to another provider.
"""

import logging
import threading
import time
from dataclasses import dataclass

import requests

from .conf import config
from .errors import Refusal

logger = logging.getLogger("govkm.sso")
FRESH_SECONDS = 3600
STALE_SECONDS = 24 * 3600
_lock = threading.Lock()
_documents = {}  # discovery URL -> (fetched at, ProviderMetadata)


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    end_session_endpoint: str = ""


def _fetch(cfg):
    try:
        response = requests.get(cfg.discovery_url, timeout=cfg.TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise Refusal("unreachable", f"discovery document {cfg.discovery_url}: {exc}") from exc
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != cfg.ISSUER:
        raise Refusal("issuer", f"discovery document names issuer {document.get('issuer')!r}, "
                                f"not the configured {cfg.ISSUER!r}")
    try:
        return ProviderMetadata(
            issuer=document["issuer"],
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            userinfo_endpoint=document["userinfo_endpoint"],
            jwks_uri=document["jwks_uri"],
            end_session_endpoint=document.get("end_session_endpoint", ""),
        )
    except KeyError as exc:
        raise Refusal("unreachable", f"discovery document lacks {exc}") from exc


def metadata():
    """The provider's metadata; ``Refusal("unreachable")`` when it cannot be
    fetched and no copy younger than a day is at hand."""
    cfg = config()
    url = cfg.discovery_url
    now = time.monotonic()
    with _lock:
        known = _documents.get(url)
    if known and now - known[0] < FRESH_SECONDS and known[1].issuer.rstrip("/") == cfg.ISSUER:
        return known[1]
    try:
        found = _fetch(cfg)
    except Refusal as exc:
        if exc.code == "unreachable" and known and now - known[0] < STALE_SECONDS:
            logger.warning("identity provider unreachable, using its metadata from %.0f s ago (%s)",
                           now - known[0], exc.detail)
            return known[1]
        raise
    with _lock:
        _documents[url] = (now, found)
    return found


def forget():
    """Drop every document kept (tests; a provider that moved its endpoints)."""
    with _lock:
        _documents.clear()
