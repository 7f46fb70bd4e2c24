"""System checks: a misspelt search or analytics setting stops start-up
instead of being ignored in favour of its default."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_search_settings(app_configs, **kwargs):
    from .analytics import DEFAULTS as ANALYTICS_DEFAULTS
    from .conf import DEFAULTS as SEARCH_DEFAULTS

    errors = []
    for name, known in (("KM_SEARCH", SEARCH_DEFAULTS), ("KM_ANALYTICS", ANALYTICS_DEFAULTS)):
        value = getattr(settings, name, {})
        if not isinstance(value, dict):
            errors.append(Error(f"{name} must be a dict, not {type(value).__name__}", id="kmsearch.E001"))
            continue
        unknown = sorted(set(value) - set(known))
        if unknown:
            errors.append(Error(
                f"Unknown key(s) {', '.join(unknown)} in {name}",
                hint=f"Known keys: {', '.join(sorted(known))}",
                id="kmsearch.E002",
            ))
    return errors
