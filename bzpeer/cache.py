"""The Redis cache: fast failure, a circuit breaker, and rate limits that survive an outage.

- Every call has a short socket timeout (settings: REDIS_TIMEOUT) and goes through a
  circuit breaker (bzpeer/breaker.py): a hung Redis costs a request one timeout at most.
- While Redis fails, keys of rate limits (ours and allauth's: FALLBACK_KEY_PREFIXES) are
  kept in a Postgres table instead (Django's database cache on FALLBACK_TABLE, an unlogged
  table made by a migration): sign-in throttling and the other limits stay on. Counts
  start afresh in the fallback, so an outage grants at most one extra window of attempts.
- Every other key fails open: a read misses, a write is dropped, and `add` answers True
  (allauth takes a lock with `add`; refusing it would stop every sign-in)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.db import connection
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from bzpeer.breaker import breaker_for

REDIS_ERRORS = (RedisError, ConnectionInterrupted, OSError)


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        options = params.get("OPTIONS", {})
        self.breaker = breaker_for(f"Redis cache at {server}")
        self._fallback_table: str = options.get("FALLBACK_TABLE", "")
        self._fallback_prefixes: tuple[str, ...] = tuple(options.get("FALLBACK_KEY_PREFIXES", ()))
        self._fallback: DatabaseCache | None = None

    # --- plumbing -------------------------------------------------------------------------

    def _falls_back(self, key: Any) -> bool:
        return bool(self._fallback_table) and str(key).startswith(self._fallback_prefixes)

    @property
    def fallback(self) -> DatabaseCache:
        if self._fallback is None:
            self._fallback = DatabaseCache(
                self._fallback_table,
                {"KEY_PREFIX": self.key_prefix, "VERSION": self.version, "TIMEOUT": 300},
            )
        return self._fallback

    def _run(
        self, name: str, key: Any, miss: Callable[[], Any], *args: Any, **redis_only: Any
    ) -> Any:
        """Call RedisCache's `name`; when Redis fails (or the breaker is open), the Postgres
        fallback's for rate-limit keys (without the Redis-only keyword arguments), else `miss`."""
        if self.breaker.allow():
            try:
                result = getattr(super(), name)(*args, **redis_only)
            except REDIS_ERRORS as error:
                self.breaker.failed(error)
            else:
                self.breaker.succeeded()
                return result
        if key is not None and self._falls_back(key):
            return getattr(self.fallback, name)(*args)
        return miss()

    # --- the cache API ----------------------------------------------------------------------

    def get(self, key, default=None, version=None, client=None):
        return self._run("get", key, lambda: default, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, **kwargs):
        return self._run("set", key, lambda: False, key, value, timeout, version, **kwargs)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, **kwargs):
        return self._run("add", key, lambda: True, key, value, timeout, version, **kwargs)

    def delete(self, key, version=None, **kwargs):
        return self._run("delete", key, lambda: False, key, version, **kwargs)

    def incr(self, key, delta=1, version=None, **kwargs):
        return self._run("incr", key, lambda: None, key, delta, version, **kwargs)

    def has_key(self, key, version=None, **kwargs):
        return self._run("has_key", key, lambda: False, key, version, **kwargs)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None, **kwargs):
        return self._run("touch", key, lambda: False, key, timeout, version, **kwargs)

    def get_many(self, keys, version=None, **kwargs):
        return self._run("get_many", None, dict, keys, version, **kwargs)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None, **kwargs):
        return self._run("set_many", None, list, data, timeout, version, **kwargs)

    def delete_many(self, keys, version=None, **kwargs):
        return self._run("delete_many", None, lambda: None, keys, version, **kwargs)

    def delete_pattern(self, pattern, version=None, **kwargs):
        deleted = self._run("delete_pattern", None, lambda: 0, pattern, version, **kwargs)
        if self._falls_back(pattern):
            like = self.fallback.make_key(pattern, version).replace("*", "%")
            with connection.cursor() as cursor:
                table = connection.ops.quote_name(self._fallback_table)
                cursor.execute(f"DELETE FROM {table} WHERE cache_key LIKE %s", [like])
        return deleted

    def clear(self):
        self._run("clear", None, lambda: None)
        if self._fallback_table:
            self.fallback.clear()
