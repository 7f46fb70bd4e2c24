from django import template

from kmsite.sso.conf import config

register = template.Library()


@register.simple_tag
def sso_options():
    """What the sign-in pages show: the provider's button, the password form or both."""
    cfg = config()
    return {"enabled": cfg.enabled, "provider_name": cfg.PROVIDER_NAME,
            "password_form": not cfg.enabled or cfg.BREAK_GLASS}
