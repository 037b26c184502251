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

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


def _unavailable(operation: str, error: Exception) -> None:
    logger.warning("Cache unavailable for %s (%s): carrying on without it", operation, type(error).__name__)


class ResilientRedisCache(RedisCache):
    """A RedisCache whose operations survive a Redis that is down or hangs (see the module's doc)."""

    def __init__(self, server, params):
        import redis

        super().__init__(server, params)
        self._failures = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except self._failures as error:
            _unavailable("get", error)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except self._failures as error:
            _unavailable("get_many", error)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except self._failures as error:
            _unavailable("has_key", error)
            return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set(key, value, timeout, version)
        except self._failures as error:
            _unavailable("set", error)
            return None

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set_many(data, timeout, version)
        except self._failures as error:
            _unavailable("set_many", error)
            return list(data)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().add(key, value, timeout, version)
        except self._failures as error:
            _unavailable("add", error)
            return False

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except self._failures as error:
            _unavailable("touch", error)
            return False

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except self._failures as error:
            _unavailable("delete", error)
            return False

    def delete_many(self, keys, version=None):
        try:
            return super().delete_many(keys, version)
        except self._failures as error:
            _unavailable("delete_many", error)
            return None

    def incr(self, key, delta=1, version=None):
        """The new count, or None when Redis cannot be reached (the caller decides what unknown means)."""
        try:
            return super().incr(key, delta, version)
        except self._failures as error:
            _unavailable("incr", error)
            return None
