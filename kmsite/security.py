"""Who the client is, the search rate limit, and the answer to a throttled
sign-in.

- ``client_address``: the address a request came from. ``X-Forwarded-For``
  is believed only as far as it was written by proxies listed in
  ``KM_TRUSTED_PROXIES``; without that setting, or from anyone else, it is
  ignored and ``REMOTE_ADDR`` is the client (docs/security.md, "Proxies").
- ``search_rate_limited``: one budget of searches a minute per signed-in user
  (or per address), shared by the search page and ``/api/search/``; over
  it, 429 with ``Retry-After`` (a page, or the API's JSON error).
- ``RateLimitMiddleware``: when the sign-in throttle (``kmsite.throttle``)
  refused a password check anywhere below it, whichever login page asked,
  the answer is a 429 page saying when to try again, not the form's
  "wrong password" (which a correct password would also get then).

Counters live in the cache (Redis in production, shared by every web
process); time comes from ``kmsite.clock``.
"""

import functools
import ipaddress
import math

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.shortcuts import render

from . import clock
from .cache import count_in_window

DEFAULTS = {
    "SEARCH_PER_MINUTE": 120,
    "LOGIN_FAILURES": 5,
    "LOGIN_MAX_DELAY_SECONDS": 900,
    "LOGIN_FORGET_SECONDS": 24 * 3600,
}


def conf(name):
    return {**DEFAULTS, **getattr(settings, "KM_RATE_LIMITS", {})}[name]


@functools.lru_cache(maxsize=8)
def _networks(entries):
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def _ip(text):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request):
    """The client's address. ``REMOTE_ADDR`` unless it is a trusted proxy;
    then ``X-Forwarded-For`` is read from the right (each proxy appends the
    address it was reached from), skipping trusted proxies, and the first
    address not among them is the client. An entry that is not an address
    ends the walk: the last trusted hop is answered, never the forged text."""
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = _networks(tuple(str(n) for n in getattr(settings, "KM_TRUSTED_PROXIES", ())))
    current = _ip(remote)
    if not trusted or current is None or not any(current in n for n in trusted):
        return remote
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            break
        current = address
        if not any(current in n for n in trusted):
            break
    return str(current)


def _too_many(request, message, retry, as_json):
    if as_json:
        response = JsonResponse({"error": {"message": message, "field": None}}, status=429)
    else:
        response = render(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = str(retry)
    return response


def search_rate_limited(as_json):
    """Decorate a view that runs searches: one counter per visitor (user id,
    or address when anonymous) and minute for every such view. Only
    requests that search (a ``q``) count; the empty search form is free."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.GET.get("q") or as_json:
                limit = conf("SEARCH_PER_MINUTE")
                who = f"user:{request.user.pk}" if request.user.is_authenticated else f"ip:{client_address(request)}"
                now = clock.now()
                bucket = int(now // 60)
                if count_in_window(cache, f"km:rl:search:{who}:{bucket}", 65) > limit:
                    retry = max(1, math.ceil((bucket + 1) * 60 - now))
                    return _too_many(request, f"Too many searches: at most {limit} a minute. "
                                              f"Try again in {retry} seconds.", retry, as_json)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class RateLimitMiddleware:
    """Answer 429 where the sign-in throttle refused a password check."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        retry = getattr(request, "km_login_retry_after", None)
        if retry:
            minutes = math.ceil(retry / 60)
            wait = f"{retry} seconds" if retry < 60 else f"{minutes} minute{'s' if minutes > 1 else ''}"
            return _too_many(request, "Too many failed sign-in attempts for this account from your address. "
                                      f"Try again in {wait}.", retry, as_json=False)
        return response

