"""The project app's own models: single sign-on's (kmsite/sso/models.py)."""

from kmsite.sso.models import GroupMapping, OidcIdentity

__all__ = ["GroupMapping", "OidcIdentity"]
