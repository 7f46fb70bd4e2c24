"""Rate limits: the search API and sign-in attempts.

Counters live in the cache (Redis in production, so limits hold across web
processes). Over the limit, the API answers 429 with a JSON error and a
Retry-After header; sign-in answers 429 with a plain page, and failed
attempts are counted per address and per user name.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse

from .cache import count_in_window

DEFAULTS = {
    "SEARCH_API_PER_MINUTE": 120,
    "LOGIN_FAILURES": 5,
    "LOGIN_WINDOW_SECONDS": 900,
}
LOGIN_PATHS = ("/admin/login/",)


def conf(name):
    return {**DEFAULTS, **getattr(settings, "KM_RATE_LIMITS", {})}[name]


def client_address(request):
    # Behind the production proxy the first X-Forwarded-For hop is the client;
    # only trusted when the proxy header setting says a proxy is in front.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def _hit(key, window):
    """Count one event in a fixed window; returns (count, seconds left)."""
    bucket = int(time.time() // window)
    count = count_in_window(cache, f"km:rl:{key}:{bucket}", window + 5)
    return count, window - int(time.time() % window)


def _peek(key, window):
    bucket = int(time.time() // window)
    return cache.get(f"km:rl:{key}:{bucket}", 0), window - int(time.time() % window)


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/search/"):
            who = f"user:{request.user.pk}" if request.user.is_authenticated else f"ip:{client_address(request)}"
            count, retry = _hit(f"api:{who}", 60)
            if count > conf("SEARCH_API_PER_MINUTE"):
                response = JsonResponse(
                    {"error": {"message": f"Too many searches: at most {conf('SEARCH_API_PER_MINUTE')} a minute. "
                                          f"Try again in {retry} seconds.", "field": None}},
                    status=429,
                )
                response["Retry-After"] = str(retry)
                return response
        if request.method == "POST" and request.path in LOGIN_PATHS:
            return self._login(request)
        return self.get_response(request)

    def _login(self, request):
        window, limit = conf("LOGIN_WINDOW_SECONDS"), conf("LOGIN_FAILURES")
        username = (request.POST.get("username") or "").strip().lower()[:150]
        keys = [f"login:ip:{client_address(request)}", f"login:user:{username}"]
        for key in keys:
            failures, retry = _peek(key, window)
            if failures >= limit:
                response = HttpResponse(
                    f"Too many failed sign-in attempts. Try again in {retry // 60 + 1} minutes.",
                    status=429, content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(retry)
                return response
        response = self.get_response(request)
        if not request.user.is_authenticated:  # the login form was shown again: a failure
            for key in keys:
                _hit(key, window)
        return response
