"""Development / quickstart settings: ``manage.py`` defaults here."""

from .base import *  # noqa: F401,F403
from .base import _bool

DEBUG = _bool("DEBUG", default=True)
# A fixed development key so that `make run` needs no set-up; production
# settings refuse to start without SECRET_KEY.
SECRET_KEY = SECRET_KEY or "govkm-development-key-not-for-production"  # noqa: F405
ALLOWED_HOSTS = ALLOWED_HOSTS + ["0.0.0.0", "[::1]"]  # noqa: F405
