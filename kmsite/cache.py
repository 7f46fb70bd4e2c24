"""Django's Redis cache, keeping its Redis client objects.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` around
the connection pool for every operation. Building one is not free (it
parses its options into a case-insensitive response-callback table), and a
signed-in page view makes several cache calls (session, viewer facts, page
fragment versions and body): under load that showed as about 4 % of the web
processes' CPU. A ``redis.Redis`` is thread-safe and holds no connection of
its own, so one per pool is kept and reused. Behaviour is otherwise
Django's: same pools, same serializer, same options.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
