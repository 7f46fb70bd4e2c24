"""Settings for the test suite (pytest-django uses these)."""

from .base import *  # noqa: F401,F403
from .base import _bool

# Tests that start a real worker need a database file both processes open.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-govkm.sqlite3")}  # noqa: F405

SECRET_KEY = "govkm-test-key"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A worker started by the notification tests sends to their real SMTP server (EMAIL_URL).
if not _bool("KM_TEST_REAL_EMAIL", default=False):
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests use a deterministic hashing embedder; the tests that measure
# retrieval quality switch to the real model explicitly.
KM_EMBEDDER = {
    "BACKEND": "search.embeddings.fake.HashingEmbedder",
    "OPTIONS": {"DIMENSION": 64},
}
# Tasks are enqueued on commit; the tests that exercise asynchronous work
# start a real worker, the others run the queued work in-process.
CELERY_TASK_ALWAYS_EAGER = _bool("KM_TEST_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
KM_ANALYTICS = {**KM_ANALYTICS, "ASYNC": False}  # noqa: F405  (write inline so tests see rows)
LOGGING["loggers"]["govkm"]["level"] = "WARNING"  # noqa: F405
