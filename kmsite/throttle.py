"""Sign-in throttling, on the password check itself.

The rule: failed password checks are counted per (user name, client
address). After ``LOGIN_FAILURES`` (5) of them, every further check for
that pair is refused, right password or wrong, for 2^n seconds after the
n-th failure (32 s after the fifth, 64 s after the sixth, ...), at most
``LOGIN_MAX_DELAY_SECONDS`` (15 minutes). Refused checks are not counted.
A successful sign-in clears the pair; otherwise it is forgotten
``LOGIN_FORGET_SECONDS`` (24 hours) after its first failure.

This is a delay, not a lock of the account: the same person signing in
from another address is not held up by someone guessing elsewhere.

It sits on Django's ``authenticate`` rather than on a URL, so every door
that checks a password shares it: the Wagtail admin's login, Wagtail's
front-end login (``/_util/login/``, where restricted pages send visitors),
the Django admin's when it is mounted, and single sign-on's break-glass
passwords. ``ThrottleBackend`` is listed first in
``AUTHENTICATION_BACKENDS``: while a pair is held back it raises
``PermissionDenied``, which makes Django stop before any backend checks
the password. Failures are counted from Django's ``user_login_failed``
signal, which ``authenticate`` sends after every failed check.
``kmsite.security.RateLimitMiddleware`` turns a refusal into a 429 page.

Counts live in the default cache (Redis in production, shared by every
web process). If the cache cannot be reached the check lets the attempt
through and says so in the log: a cache outage must not lock everyone out.
"""

import hashlib
import logging
import math

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from . import clock
from .cache import count_in_window
from .security import client_address, conf

logger = logging.getLogger("govkm.security")


def _key(request, username):
    address = client_address(request) if request is not None else ""
    name = str(username).strip().lower()[:254]
    return "km:login:" + hashlib.sha256(f"{name}\0{address}".encode()).hexdigest()[:40]


def delay_after(failures):
    """Seconds a pair is held back after its ``failures``-th failure."""
    if failures < conf("LOGIN_FAILURES"):
        return 0
    return min(2 ** min(failures, 30), conf("LOGIN_MAX_DELAY_SECONDS"))


def seconds_left(request, username):
    """How long the pair must still wait (0: a password may be checked)."""
    key = _key(request, username)
    try:
        found = cache.get_many([f"{key}:n", f"{key}:t"])
    except Exception:
        logger.warning("Sign-in throttle: the cache cannot be reached; attempt not limited", exc_info=True)
        return 0
    failures, last = found.get(f"{key}:n", 0), found.get(f"{key}:t")
    if last is None:
        return 0
    return max(0, math.ceil(last + delay_after(failures) - clock.now()))


def record_failure(request, username):
    key = _key(request, username)
    forget = conf("LOGIN_FORGET_SECONDS")
    try:
        count_in_window(cache, f"{key}:n", forget)
        cache.set(f"{key}:t", clock.now(), forget)
    except Exception:
        logger.warning("Sign-in throttle: the cache cannot be reached; failure not counted", exc_info=True)


def forget(request, username):
    key = _key(request, username)
    try:
        cache.delete_many([f"{key}:n", f"{key}:t"])
    except Exception:
        logger.warning("Sign-in throttle: the cache cannot be reached", exc_info=True)


def _username(credentials):
    return credentials.get("username") or credentials.get(get_user_model().USERNAME_FIELD)


class ThrottleBackend:
    """First of the authentication backends: signs nobody in, and stops
    every backend after it while the (user name, address) pair waits."""

    def authenticate(self, request, **credentials):
        username = _username(credentials)
        if not username:
            return None  # not a password check (single sign-on's callback)
        wait = seconds_left(request, username)
        if wait:
            if request is not None:
                request.km_login_retry_after = wait
            logger.info("Sign-in throttled for %s more seconds", wait)
            raise PermissionDenied
        return None

    # No get_user: this backend never holds a session (Django's force_login
    # takes the first backend that has one).


@receiver(user_login_failed, dispatch_uid="kmsite.throttle.failed")
def _count_failure(sender, credentials, request=None, **kwargs):
    username = _username(credentials)
    if not username or getattr(request, "km_login_retry_after", None):
        return  # not a password check, or refused without checking it
    record_failure(request, username)


@receiver(user_logged_in, dispatch_uid="kmsite.throttle.signed_in")
def _clear(sender, request, user, **kwargs):
    forget(request, user.get_username())
