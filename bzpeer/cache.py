"""The Redis cache, failing open when Redis is unreachable."""

from __future__ import annotations

from typing import Any

from django_redis.cache import RedisCache


class FailOpenRedisCache(RedisCache):
    """django-redis (IGNORE_EXCEPTIONS) with one change: `add` answers True, not None,
    when Redis cannot be reached.

    allauth's rate limits (sign-in, sign-up, password reset) take a lock with `cache.add`
    and refuse the request when they cannot get it, so a Redis outage would stop every
    sign-in with a 429. Failing open there matches bzpeer.ratelimit: during an outage the
    limits are not enforced, and the site keeps working."""

    def add(self, *args: Any, **kwargs: Any) -> bool:
        added = super().add(*args, **kwargs)
        return True if added is None else added
