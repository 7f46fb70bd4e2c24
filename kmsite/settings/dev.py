"""Development / quickstart settings: ``manage.py`` defaults here."""

from .base import *  # noqa: F401,F403
from .base import _bool

DEBUG = _bool("DEBUG", default=True)
# runserver and Granian alike serve static files through WhiteNoise's finders
WHITENOISE_AUTOREFRESH = WHITENOISE_USE_FINDERS = DEBUG
KM_DJANGO_ADMIN = _bool("KM_DJANGO_ADMIN", default=True)

# A fixed development key so that `make run` needs no set-up; production
# settings refuse to start without SECRET_KEY.
SECRET_KEY = SECRET_KEY or "govkm-development-key-not-for-production"  # noqa: F405
ALLOWED_HOSTS = ALLOWED_HOSTS + ["0.0.0.0", "[::1]"]  # noqa: F405
