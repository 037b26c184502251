"""Django's Redis cache, made to degrade instead of fail when Redis is down.

Production keeps its cache in Redis (CACHE_URL), beside the Celery broker. Nothing in the cache is
the only copy of anything: sessions are ``cached_db`` (the database holds them), the intake's rate
counts and the dashboard's menus can be rebuilt. So when Redis is unreachable, a read is a miss, a
write is skipped and a count is unknown (``incr`` returns None): the page is served from the
database, slower, instead of failing. Each failure is logged; the same as django-redis's
IGNORE_EXCEPTIONS, without another dependency.
"""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

# Seconds to carry on without Redis after it failed, before trying it again.
RETRY_AFTER = 5.0


class ResilientRedisCache(RedisCache):
    """A RedisCache whose operations survive a Redis that is down or hangs (see the module's doc)."""

    def __init__(self, server, params):
        import redis

        super().__init__(server, params)
        self._failures = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        self._down_until = 0.0

    def _or(self, fallback, operation, *args):
        """``operation(*args)``, or ``fallback`` when Redis cannot be reached.

        After a failure the cache is left alone for RETRY_AFTER seconds: a Redis that hangs costs
        this process one timeout, not one per cache call of every request.
        """
        if time.monotonic() < self._down_until:
            return fallback
        try:
            return operation(*args)
        except self._failures as error:
            self._down_until = time.monotonic() + RETRY_AFTER
            logger.warning(
                "Cache unavailable for %s (%s): carrying on without it for %s s",
                operation.__name__,
                type(error).__name__,
                RETRY_AFTER,
            )
            return fallback

    def get(self, key, default=None, version=None):
        return self._or(default, super().get, key, default, version)

    def get_many(self, keys, version=None):
        return self._or({}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._or(False, super().has_key, key, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._or(None, super().set, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._or(list(data), super().set_many, data, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._or(False, super().add, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._or(False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._or(False, super().delete, key, version)

    def delete_many(self, keys, version=None):
        return self._or(None, super().delete_many, keys, version)

    def incr(self, key, delta=1, version=None):
        """The new count, or None when Redis cannot be reached (the caller decides what unknown means)."""
        return self._or(None, super().incr, key, delta, version)
