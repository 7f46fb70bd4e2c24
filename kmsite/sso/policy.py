"""Who may sign in with a GovKM password."""

from .conf import config


def password_sign_in_allowed(user):
    """Without single sign-on, everyone with a password. With it, only
    superusers (break-glass, for when the provider is down or misconfigured),
    and nobody once ``KM_OIDC_BREAK_GLASS`` is false. The rule applies to
    signing in and to every request of a password session, so turning
    single sign-on on ends the other password sessions."""
    cfg = config()
    if not cfg.enabled:
        return True
    return cfg.BREAK_GLASS and user.is_superuser
