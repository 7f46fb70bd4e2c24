"""Django's Redis cache with the project's options, and kmsite.cache's
atomic helpers, against the real Redis."""

import threading

import pytest
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError


@pytest.fixture
def cache(redis_url):
    backend = RedisCache(redis_url, {"KEY_PREFIX": "km-cache-test"})
    backend.clear()
    yield backend
    backend.clear()


def test_behaves_as_djangos_redis_cache(cache):
    cache.set("a", {"x": [1, 2]}, 30)
    assert cache.get("a") == {"x": [1, 2]}
    assert cache.add("a", "other") is False and cache.add("b", 0, None) is True
    assert cache.incr("b") == 1 and cache.incr("b", 5) == 6
    cache.set_many({"c": 1, "d": 2})
    assert cache.get_many(["a", "c", "d", "missing"]) == {"a": {"x": [1, 2]}, "c": 1, "d": 2}
    cache.delete_many(["c", "d"])
    assert cache.get("c") is None and cache.get("missing", "default") == "default"
    with pytest.raises(ValueError):
        cache.incr("never-set")


def test_threads_share_it_safely(cache):
    errors = []

    def work(n):
        try:
            for i in range(200):
                cache.set(f"t{n}:{i}", i)
                assert cache.get(f"t{n}:{i}") == i
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_an_unreachable_server_raises_as_djangos_does():
    down = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.5}})
    with pytest.raises(RedisConnectionError):
        down.get("anything")


def test_a_server_that_never_answers_fails_a_call_within_the_projects_timeout():
    """With the project's options, a Redis that accepts connections and never
    answers fails each cache call after its timeout instead of holding the
    request for ever (callers treat the error as a miss)."""
    import socket
    import threading

    from redis.exceptions import TimeoutError as RedisTimeoutError

    from kmsite.settings.base import REDIS_CACHE_OPTIONS

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    silent = RedisCache(f"redis://127.0.0.1:{listener.getsockname()[1]}/0", {"OPTIONS": REDIS_CACHE_OPTIONS})
    outcome = []

    def call():
        try:
            silent.get("anything")
        except Exception as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    caller.join(30)
    listener.close()
    for conn in held:
        conn.close()
    assert not caller.is_alive(), "the cache call hung"
    assert len(outcome) == 1 and isinstance(outcome[0], RedisTimeoutError)


@pytest.fixture(params=["redis", "locmem"])
def any_cache(request, redis_url):
    if request.param == "locmem":
        from django.core.cache.backends.locmem import LocMemCache

        yield LocMemCache("km-test", {})
        return
    backend = RedisCache(redis_url, {"KEY_PREFIX": "km-cache-test"})
    backend.clear()
    yield backend
    backend.clear()


def test_get_and_set_returns_the_previous_value(any_cache):
    from kmsite.cache import get_and_set

    assert get_and_set(any_cache, "last", ("a", 1.5), 60) is None
    assert get_and_set(any_cache, "last", ("b", 2.5), 60) == ("a", 1.5)
    assert any_cache.get("last") == ("b", 2.5)


def test_get_and_set_sets_the_lifetime(cache):
    from kmsite.cache import get_and_set

    get_and_set(cache, "last", "x", 60)
    key = cache.make_and_validate_key("last")
    assert 0 < cache._cache.get_client(key).ttl(key) <= 60


def test_count_in_window_counts_and_expires(any_cache):
    from kmsite.cache import count_in_window

    assert [count_in_window(any_cache, "hits", 30) for _ in range(3)] == [1, 2, 3]
    assert any_cache.get("hits") == 3  # readable as an ordinary cache value
    if isinstance(any_cache, RedisCache):
        key = any_cache.make_and_validate_key("hits")
        assert 0 < any_cache._cache.get_client(key).ttl(key) <= 30


def test_helpers_see_through_djangos_cache_proxy(settings, redis_url):
    """``django.core.cache.cache`` is a proxy: the helpers must still take the
    one-round-trip path on the Redis behind it."""
    from django.core.cache import cache as proxy

    from kmsite import cache as helpers

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
                                   "KEY_PREFIX": "km-proxy-test"}}
    assert isinstance(helpers._resolve(proxy), RedisCache)
    proxy.delete("n")
    assert helpers.count_in_window(proxy, "n", 10) == 1
    proxy.delete("n")
