"""A circuit breaker for calls to Redis (cache, rate limits, the Celery broker).

Redis that is stopped answers at once with "connection refused"; Redis that hangs (its
process stopped, a network black hole) answers nothing, and every call waits for its socket
timeout. After one failure the breaker opens and callers skip Redis for OPEN_SECONDS; then
one caller at a time probes it again. A hung Redis thus costs one request one timeout per
OPEN_SECONDS and process, instead of every call of every request."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)


class Breaker:
    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._failing = False
        self._open_until = 0.0

    @property
    def open_seconds(self) -> float:
        return float(getattr(settings, "REDIS_BREAKER_SECONDS", 5))

    def allow(self) -> bool:
        """True when a call may go to Redis (closed, or this caller is the probe)."""
        if not self._failing:
            return True
        with self._lock:
            now = time.monotonic()
            if now < self._open_until:
                return False
            # Half open: this caller probes; the others keep skipping meanwhile.
            self._open_until = now + self.open_seconds
            return True

    def succeeded(self) -> None:
        if self._failing:
            with self._lock:
                self._failing = False
            logger.warning("%s answers again", self.name)

    def failed(self, error: BaseException) -> None:
        with self._lock:
            if not self._failing:
                logger.warning(
                    "%s failed (%s): skipped for %s s", self.name, error, self.open_seconds
                )
            self._failing = True
            self._open_until = time.monotonic() + self.open_seconds

    def reset(self) -> None:
        with self._lock:
            self._failing = False
            self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return self._failing and time.monotonic() < self._open_until


_breakers: dict[str, Breaker] = {}
_registry_lock = threading.Lock()


def breaker_for(name: str) -> Breaker:
    """One breaker per Redis endpoint and process (Django makes a cache per thread)."""
    with _registry_lock:
        if name not in _breakers:
            _breakers[name] = Breaker(name)
        return _breakers[name]


def reset_all() -> None:
    for breaker in list(_breakers.values()):
        breaker.reset()
