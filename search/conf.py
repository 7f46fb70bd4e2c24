"""The keys ``settings.KM_SEARCH`` may hold, with the value each takes when
it is left out. ``kmsite/settings/base.py`` sets them (some from the
environment); the system check in ``checks.py`` refuses any other key."""

from django.conf import settings

DEFAULTS = {
    "CHUNK_TOKENS": 180,
    "CHUNK_OVERLAP": 40,
    "RRF_K": 60,
    "LEXICAL_WEIGHT": 1.0,
    "SEMANTIC_WEIGHT": 1.0,
    "MIN_SIMILARITY": 0.25,
    "CANDIDATES": 200,
    "DEMOTION": {"superseded": 0.5, "rescinded": 0.4, "overdue": 0.85},
}


def search_setting(name):
    return settings.KM_SEARCH.get(name, DEFAULTS[name])
