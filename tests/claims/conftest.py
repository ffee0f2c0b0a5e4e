from __future__ import annotations

import pytest

from tests.claims.helpers import queued_recomputes  # noqa: F401


@pytest.fixture(autouse=True)
def _empty_rate_limits(request):
    """Every claims test starts with no rate-limit window open: in a cache of its own, or
    on the real Redis for a test that asks for `redis_rate_limits`."""
    if "redis_rate_limits" not in request.fixturenames:
        request.getfixturevalue("locmem_cache")
