"""kmsite.cache.RedisCache: Django's Redis cache, reusing its client
objects, against the real Redis."""

import threading

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from kmsite.cache import RedisCache


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


def test_one_client_object_is_reused(cache):
    client = cache._cache.get_client()
    cache.set("k", 1)
    assert cache._cache.get_client() is client
    assert cache._cache.get_client(write=True) is client  # one server: one pool


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
