"""The sign-in throttle (kmsite/throttle.py): every door that checks a
password shares one count per (user name, client address); the delay grows
and ends; another address is not held up; proxies are believed only when
configured. Time is pinned through ``kmsite.clock.now``."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory
from django.urls import clear_url_caches

from kmsite.security import client_address
from kmsite.throttle import delay_after
from tests import factories as f

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
DOORS = ["/admin/login/", "/_util/login/", "/django-admin/login/"]


class Clock:
    def __init__(self):
        self.t = 1_000_000.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock(monkeypatch):
    pinned = Clock()
    monkeypatch.setattr("kmsite.clock.now", pinned)
    return pinned


@pytest.fixture
def django_admin_mounted(settings):
    """The Django admin is off unless KM_DJANGO_ADMIN: mount it for the test."""
    import kmsite.urls

    settings.KM_DJANGO_ADMIN = True
    importlib.reload(kmsite.urls)
    clear_url_caches()
    yield
    settings.KM_DJANGO_ADMIN = False
    importlib.reload(kmsite.urls)
    clear_url_caches()


def attempt(door, password, address="203.0.113.9", username="owner", **headers):
    client = Client(REMOTE_ADDR=address, **headers)
    response = client.post(door, {"username": username, "password": password})
    return response, client


def signed_in(client):
    return "_auth_user_id" in client.session


def test_every_door_that_checks_a_password_shares_one_throttle(clock, django_admin_mounted):
    f.user("owner", "content_owner", is_staff=True)
    for door in DOORS:  # each door signs in with the right password while nothing is held back
        response, client = attempt(door, "pw")
        assert response.status_code == 302 and signed_in(client), door
    for door in [*DOORS, DOORS[0], DOORS[1]]:  # five failures spread over the three doors
        response, _ = attempt(door, "wrong")
        assert response.status_code == 200, door  # the form again, with its error
    for door in DOORS:  # the right password is refused at every door now
        response, client = attempt(door, "pw")
        assert response.status_code == 429, door
        assert int(response["Retry-After"]) > 0 and not signed_in(client)
        assert "Too many failed sign-in attempts" in response.content.decode()
    # and by authenticate itself, whoever calls it (single sign-on's break-glass, a shell)
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    assert authenticate(request, username="owner", password="pw") is None
    assert request.km_login_retry_after > 0


def test_the_django_admin_is_not_mounted_unless_asked(client):
    assert client.get("/django-admin/login/").status_code == 404


def test_the_delay_grows_then_ends_and_a_sign_in_clears_it(clock):
    f.user("owner", "content_owner")
    for _ in range(5):
        assert attempt("/admin/login/", "wrong")[0].status_code == 200
    assert attempt("/admin/login/", "pw")[0]["Retry-After"] == "32"  # 2^5 s after the fifth failure
    clock.t += 31
    assert attempt("/admin/login/", "pw")[0].status_code == 429
    clock.t += 2
    assert attempt("/admin/login/", "wrong")[0].status_code == 200  # checked, the sixth failure
    response, _ = attempt("/admin/login/", "pw")
    assert response.status_code == 429 and response["Retry-After"] == "64"
    clock.t += 65
    response, client = attempt("/admin/login/", "pw")
    assert response.status_code == 302 and signed_in(client)
    for _ in range(4):  # the slate is clean: four failures hold nothing back
        assert attempt("/admin/login/", "wrong")[0].status_code == 200
    assert attempt("/admin/login/", "pw")[0].status_code == 302


def test_refused_attempts_do_not_lengthen_the_delay(clock):
    f.user("owner", "content_owner")
    for _ in range(5):
        attempt("/admin/login/", "wrong")
    for _ in range(20):
        assert attempt("/admin/login/", "wrong")[0].status_code == 429
    clock.t += 33
    assert attempt("/admin/login/", "pw")[0].status_code == 302


def test_the_delay_is_capped_at_fifteen_minutes():
    assert [delay_after(n) for n in (0, 4, 5, 6, 9)] == [0, 0, 32, 64, 512]
    assert delay_after(10) == delay_after(50) == 900


def test_someone_guessing_does_not_lock_the_owner_out_elsewhere(clock):
    f.user("owner", "content_owner")
    for _ in range(8):
        attempt("/admin/login/", "wrong", address="203.0.113.9")
    assert attempt("/admin/login/", "pw", address="203.0.113.9")[0].status_code == 429
    response, client = attempt("/admin/login/", "pw", address="198.51.100.7")
    assert response.status_code == 302 and signed_in(client)
    # and another user at the guesser's address is not held up either
    f.user("civil", "civil_servant")
    assert attempt("/_util/login/", "pw", address="203.0.113.9", username="civil")[0].status_code == 302


def test_counts_are_shared_through_redis(clock, settings, redis_url):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
                                   "KEY_PREFIX": "km-throttle-test"}}
    from django.core.cache import cache

    cache.clear()
    f.user("owner", "content_owner")
    for _ in range(5):
        attempt("/admin/login/", "wrong")
    assert attempt("/_util/login/", "pw")[0].status_code == 429


# --- proxies ------------------------------------------------------------------
def test_x_forwarded_for_is_ignored_unless_from_a_trusted_proxy(clock, settings):
    """Under production settings (SECURE_PROXY_SSL_HEADER set) a client that
    writes its own X-Forwarded-For must not get a fresh address per attempt."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.KM_TRUSTED_PROXIES = ()
    f.user("owner", "content_owner")
    for i in range(5):
        attempt("/admin/login/", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert attempt("/admin/login/", "pw", HTTP_X_FORWARDED_FOR="192.0.2.99")[0].status_code == 429


def test_client_address_walks_the_trusted_proxies_only(settings):
    def address(remote, forwarded=None):
        meta = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            meta["HTTP_X_FORWARDED_FOR"] = forwarded
        return client_address(RequestFactory().get("/", **meta))

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # as in production
    settings.KM_TRUSTED_PROXIES = ()
    assert address("198.51.100.7", "1.2.3.4") == "198.51.100.7"
    settings.KM_TRUSTED_PROXIES = ("10.0.0.0/8", "2001:db8::1")
    assert address("198.51.100.7", "1.2.3.4") == "198.51.100.7"  # not from a proxy: header ignored
    assert address("10.0.0.2", "1.2.3.4") == "1.2.3.4"
    assert address("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.3") == "1.2.3.4"  # the client's own entry skipped
    assert address("2001:db8::1", "2001:db8::99") == "2001:db8::99"
    assert address("10.0.0.2", "not-an-address, 10.0.0.3") == "10.0.0.3"  # forged text never answered
    assert address("10.0.0.2", "") == "10.0.0.2"


@pytest.mark.parametrize("value", ["10.0.0.1,banana", "10.0.0.300", "10.0.0.0/40"])
def test_a_malformed_trusted_proxy_list_stops_start_up_naming_the_variable(value):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kmsite.settings.test", "KM_TRUSTED_PROXIES": value}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "KM_TRUSTED_PROXIES" in result.stderr
