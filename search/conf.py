"""The keys ``settings.KM_SEARCH`` may hold, with the value each takes when
it is left out. ``kmsite/settings/base.py`` sets them (some from the
environment); the system check in ``checks.py`` refuses any other key."""

from django.conf import settings

DEFAULTS = {
    "CHUNK_TOKENS": 180,
    "CHUNK_OVERLAP": 40,
    "SUMMARY_PASSAGE": True,
    "FUSION": "rrf",
    "RRF_K": 2,
    "LEXICAL_WEIGHT": 1.0,
    "SEMANTIC_WEIGHT": 2.0,
    "AGGREGATE_DECAY": {"lexical": 0.0, "semantic": 0.0},
    "CALIBRATION": {"lexical": "max", "semantic": "max"},
    "MIN_SIMILARITY": 0.25,
    "CANDIDATES": 200,
    "TRUST_MARGIN": {"superseded": 0.5, "rescinded": 0.5, "overdue": 0.05, "needs_review": 0.05},
    "OLD_ASKED_WITHIN": 0.2,
    "TYPE_MARGIN": {"lesson": 0.1},
    "ADAPTIVE_WEIGHTS": 0.0,
}


def search_setting(name):
    return settings.KM_SEARCH.get(name, DEFAULTS[name])
