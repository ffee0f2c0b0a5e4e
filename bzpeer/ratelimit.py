"""Fixed-window rate limits kept in the Redis cache (shared by every web process)."""

from __future__ import annotations

import time

from django.core.cache import cache


def allow(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit; False once `limit` hits fell in the current window.

    When Redis is unreachable the counts are kept in Postgres instead (bzpeer/cache.py):
    the limit holds, counted afresh from the start of the outage.
    """
    window = int(time.time() // window_seconds)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    if cache.add(cache_key, 1, timeout=window_seconds + 5):
        return True
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # the key expired between add and incr
        cache.add(cache_key, 1, timeout=window_seconds + 5)
        return True
    return hits is None or hits <= limit
