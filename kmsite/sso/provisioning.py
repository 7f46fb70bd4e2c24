"""GovKM accounts from the identity provider's claims.

Rules:
- a person is their (issuer, subject): the first sign-in of a new pair
  creates a user, later ones find it, whatever their email says now; two
  provider accounts with the same email are two GovKM users;
- name and email follow the provider at every sign-in;
- the unit follows the provider's unit claim (when one is configured) if it
  names a GovKM unit, by slug or by name; an unknown unit changes nothing;
- groups follow the provider's groups (``roles.apply_roles``);
- a deactivated GovKM user stays deactivated: only an administrator turns
  an account back on;
- a leaver (the provider refuses their silent refresh with one of
  ``KM_OIDC_LEAVER_ERRORS``) is deactivated, which hands their pages over
  (knowledge/ownership.py, through the user's post_save signal).
"""

import logging
import re

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from knowledge.access import forget_viewers
from knowledge.models import OrgUnit

from .conf import config
from .errors import Refusal
from .models import OidcIdentity
from .roles import apply_roles, idp_groups

logger = logging.getLogger("govkm.sso")


def _text(claims, name, limit):
    value = claims.get(name) if name else None
    return str(value).strip()[:limit] if isinstance(value, str | int) else ""


def _new_username(claims, cfg):
    """A readable, unique user name: the provider's preferred user name or
    the email's local part, with a number added if it is taken."""
    User = get_user_model()
    seed = _text(claims, "preferred_username", 140) or _text(claims, cfg.CLAIM_EMAIL, 140).split("@")[0]
    base = re.sub(r"[^\w.@+-]", "", seed)[:140] or "user"
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def missing_claims(claims, cfg=None):
    """The required claims (``KM_OIDC_REQUIRED_CLAIMS``, and ``sub``) that
    ``claims`` lacks or leaves empty."""
    cfg = cfg or config()
    return [name for name in ("sub", *cfg.REQUIRED_CLAIMS) if claims.get(name) in (None, "", [])]


def _identity(issuer, claims, cfg):
    try:
        return OidcIdentity.objects.select_related("user").get(issuer=issuer, subject=claims["sub"])
    except OidcIdentity.DoesNotExist:
        pass
    User = get_user_model()
    try:
        with transaction.atomic():
            user = User.objects.create_user(_new_username(claims, cfg))  # no usable password
            identity = OidcIdentity.objects.create(user=user, issuer=issuer, subject=claims["sub"])
    except IntegrityError:  # the same person signing in twice at once: the other request made them
        return OidcIdentity.objects.select_related("user").get(issuer=issuer, subject=claims["sub"])
    logger.info("provisioned %s for subject %s at %s", user.username, claims["sub"], issuer)
    return identity


def update_profile(user, claims, cfg=None):
    """Name and email as the provider has them now; saved only if changed."""
    cfg = cfg or config()
    wanted = {
        "email": _text(claims, cfg.CLAIM_EMAIL, 254),
        "first_name": _text(claims, cfg.CLAIM_GIVEN_NAME, 150),
        "last_name": _text(claims, cfg.CLAIM_FAMILY_NAME, 150),
    }
    changed = [field for field, value in wanted.items() if value and getattr(user, field) != value]
    for field in changed:
        setattr(user, field, wanted[field])
    if changed:
        user.save(update_fields=changed)
    return changed


def find_unit(value):
    """The GovKM unit a unit claim names, by slug, else by name (any case)."""
    if not value:
        return None
    return OrgUnit.objects.filter(slug=value).first() or OrgUnit.objects.filter(name__iexact=value).first()


def update_unit(user, claims, cfg=None):
    """Put ``user`` in the unit the provider's unit claim names. A move hands
    the pages of the unit left to its content lead (knowledge/ownership.py).
    Returns the unit set, or None when nothing changed."""
    cfg = cfg or config()
    if not cfg.CLAIM_UNIT or not apps.is_installed("training"):
        return None
    value = _text(claims, cfg.CLAIM_UNIT, 150)
    unit = find_unit(value)
    if unit is None:
        if value:
            logger.warning("unit claim %r of %s names no GovKM unit; unit left as it was", value, user.username)
        return None
    StaffProfile = apps.get_model("training", "StaffProfile")
    profile, _ = StaffProfile.objects.get_or_create(user=user)
    if profile.unit_id == unit.pk:
        return None
    profile.unit = unit
    profile.save()
    return unit


@transaction.atomic
def sign_in(issuer, claims):
    """The GovKM user for verified ``claims`` from ``issuer``, created on
    first sign-in and brought up to date (profile, unit, groups)."""
    cfg = config()
    missing = missing_claims(claims, cfg)
    if missing:
        raise Refusal("missing_claim", f"claims {', '.join(missing)} missing for subject {claims.get('sub')!r}")
    identity = _identity(issuer, claims, cfg)
    user = identity.user
    if not user.is_active:
        raise Refusal("inactive", f"{user.username} is deactivated")
    update_profile(user, claims, cfg)
    update_unit(user, claims, cfg)
    added, removed = apply_roles(user, idp_groups(claims))
    if added or removed:
        logger.info("groups of %s from the provider: added %s, removed %s", user.username, added, removed)
        # the membership signals forgot the viewer's cached groups already; once more after commit,
        # so a request that read the old groups meanwhile cannot leave them cached
        transaction.on_commit(lambda: forget_viewers([user.pk]))
    identity.last_sign_in_at = timezone.now()
    identity.refused_at, identity.refusal = None, ""
    identity.save(update_fields=["last_sign_in_at", "refused_at", "refusal"])
    return user


def refresh_refused(user, error, description=""):
    """The provider refused ``user``'s silent refresh with ``error``. Always
    recorded; a leaver's error (``KM_OIDC_LEAVER_ERRORS``) also deactivates
    the account, which hands their pages over. Returns True for a leaver."""
    leaver = error in config().LEAVER_ERRORS
    OidcIdentity.objects.filter(user=user).update(refused_at=timezone.now(),
                                                  refusal=f"{error}: {description}"[:255])
    if leaver and user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])  # knowledge's signal hands the pages over
        logger.warning("deactivated %s: the identity provider refused them (%s %s)", user.username, error, description)
    return leaver
