"""Embedding providers, chosen by ``settings.KM_EMBEDDER``."""

import threading

from django.conf import settings
from django.utils.module_loading import import_string

_lock = threading.Lock()
_cache = {}


def get_embedder(config=None):
    """The configured embedder, built once per process (models are heavy)."""
    config = config or settings.KM_EMBEDDER
    key = (config["BACKEND"], repr(sorted(config.get("OPTIONS", {}).items())))
    with _lock:
        if key not in _cache:
            cls = import_string(config["BACKEND"])
            _cache[key] = cls.from_options(config.get("OPTIONS", {}))
        return _cache[key]
