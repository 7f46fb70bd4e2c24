import os
import socket

import pytest
from django.test import override_settings

from search.backends import reset_backends

REQUIRE_SERVICES = os.environ.get("KM_REQUIRE_SERVICES") == "1"


def service_missing(reason):
    """Skip for a missing service locally; fail in CI (KM_REQUIRE_SERVICES=1)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def port_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url():
    url = os.environ.get("KM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    if not port_open(host, int(port or 6379)):
        service_missing(f"Redis at {url} is not reachable")
    return url


@pytest.fixture(autouse=True)
def _fresh_search_backends(settings, tmp_path):
    """Each test gets its own backend objects (and so its own in-memory index)."""
    settings.KM_VAR_DIR = str(tmp_path)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    reset_backends()
    yield
    reset_backends()


@pytest.fixture
def real_embedder():
    real = {
        "BACKEND": "search.embeddings.sentence_transformers.SentenceTransformerEmbedder",
        "OPTIONS": {"MODEL": "", "BATCH_SIZE": 64},
    }
    with override_settings(KM_EMBEDDER=real):
        reset_backends()
        yield real
