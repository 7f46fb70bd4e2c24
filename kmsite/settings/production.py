"""Production settings: secrets have no default and fail loudly."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import _bool, _checked, env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set in the environment to a random string of at least 50 characters "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )
# Wagtail's page preview shows the page in an iframe of the admin itself, so
# frames stay allowed from the same origin (X_FRAME_OPTIONS = "SAMEORIGIN").
SILENCED_SYSTEM_CHECKS = ["security.W019"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = _checked("SECURE_HSTS_SECONDS", env.int, default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}
