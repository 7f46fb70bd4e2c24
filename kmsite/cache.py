"""Two atomic operations on Django's cache, one round trip each on Redis.

``get_and_set`` (Redis ``SET ... GET``) and ``count_in_window`` (``INCR``,
``EXPIRE`` on the first count) are what the previous-search marker and the
rate limits need: read-and-write without a race between two requests. On
other cache backends they fall back to two calls. The cache backend itself
is Django's ``RedisCache``; until issue 28 a subclass kept its Redis client
objects between operations (about 4 % of the web processes' CPU on the load
test then, under the 10 % the project keeps an optimisation for).
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache


def _resolve(cache):
    """The cache object itself behind ``django.core.cache.cache`` (a proxy to
    this thread's default cache)."""
    connections = getattr(cache, "_connections", None)
    return connections[cache._alias] if connections is not None else cache


def _redis(cache):
    """Django's Redis client wrapper when ``cache`` is a Redis cache, else None."""
    if isinstance(cache, DjangoRedisCache):
        return cache._cache
    return None


def get_and_set(cache, key, value, timeout):
    """Store ``value`` under ``key`` and return what was there before: one
    round trip on Redis (SET ... GET), a get then a set elsewhere."""
    cache = _resolve(cache)
    inner = _redis(cache)
    if inner is None:
        old = cache.get(key)
        cache.set(key, value, timeout)
        return old
    full = cache.make_and_validate_key(key)
    old = inner.get_client(full, write=True).set(full, inner._serializer.dumps(value), ex=int(timeout), get=True)
    return None if old is None else inner._serializer.loads(old)


def count_in_window(cache, key, seconds):
    """Add one to a counter that lives ``seconds`` from its first count and
    return the new count: one round trip on Redis (INCR; EXPIRE only on the
    first), add-then-incr elsewhere. Readable with ``cache.get``."""
    cache = _resolve(cache)
    inner = _redis(cache)
    if inner is None:
        cache.add(key, 0, seconds)
        return cache.incr(key)
    full = cache.make_and_validate_key(key)
    client = inner.get_client(full, write=True)
    count = client.incr(full)
    if count == 1:
        client.expire(full, int(seconds))
    return count
