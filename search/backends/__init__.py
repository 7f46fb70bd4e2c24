"""Search backends, chosen by alias like Django's cache framework.

``settings.KM_SEARCH_BACKENDS = {"default": {"BACKEND": "search.backends.local",
"OPTIONS": {...}}}``; each backend module exports ``SearchBackend``.
"""

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

_lock = threading.Lock()
_backends = {}


def load_backend(alias, config):
    path = config.get("BACKEND")
    if not path:
        raise ImproperlyConfigured(f"KM_SEARCH_BACKENDS[{alias!r}] has no BACKEND")
    unknown = sorted(set(config) - {"BACKEND", "OPTIONS"})
    if unknown:
        raise ImproperlyConfigured(f"Unknown key(s) {', '.join(unknown)} in KM_SEARCH_BACKENDS[{alias!r}]")
    try:
        module_cls = import_string(f"{path}.SearchBackend")
    except ImportError:
        module_cls = import_string(path)
    return module_cls(alias, config.get("OPTIONS", {}))


def get_search_backend(alias=None):
    alias = alias or settings.KM_SEARCH_BACKEND
    with _lock:
        if alias not in _backends:
            try:
                config = settings.KM_SEARCH_BACKENDS[alias]
            except KeyError:
                raise ImproperlyConfigured(
                    f"No search backend {alias!r}; configured: {', '.join(settings.KM_SEARCH_BACKENDS)}"
                ) from None
            _backends[alias] = load_backend(alias, config)
        return _backends[alias]


def reset_backends():
    """Forget built backends (tests that change settings call this)."""
    with _lock:
        _backends.clear()
