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
    errors += _ranking_errors(getattr(settings, "KM_SEARCH", {}))
    return errors


def _ranking_errors(value):
    """The ranking settings (search/ranking.py) that would fail on a search."""
    if not isinstance(value, dict):
        return []
    from .conf import DEFAULTS

    problems = []
    fusion = value.get("FUSION", DEFAULTS["FUSION"])
    if fusion not in ("rrf", "convex"):
        problems.append(f"KM_SEARCH['FUSION'] is {fusion!r}; use 'rrf' or 'convex'")
    for side, method in value.get("CALIBRATION", {}).items():
        if side not in ("lexical", "semantic") or method not in ("max", "minmax", "floor"):
            problems.append(f"KM_SEARCH['CALIBRATION'] {side!r}: {method!r}; sides lexical, semantic; "
                            "methods max, minmax, floor")
    for state, margin in value.get("TRUST_MARGIN", {}).items():
        if not isinstance(margin, int | float) or not 0 <= margin <= 1:
            problems.append(f"KM_SEARCH['TRUST_MARGIN'][{state!r}] must be a number from 0 to 1")
    for kind, margin in value.get("TYPE_MARGIN", {}).items():
        if kind not in ("policy", "procedure", "lesson") or not isinstance(margin, int | float) or not 0 <= margin <= 1:
            problems.append(f"KM_SEARCH['TYPE_MARGIN'][{kind!r}]: types policy, procedure, lesson; "
                            "margins a number from 0 to 1")
    adaptive = value.get("ADAPTIVE_WEIGHTS", 0.0)
    if not isinstance(adaptive, int | float) or adaptive < 0:
        problems.append("KM_SEARCH['ADAPTIVE_WEIGHTS'] must be a number from 0")
    return [Error(p, id="kmsearch.E003") for p in problems]
