from __future__ import annotations

import pytest

from tests.claims.helpers import no_rate_limits, queued  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_rate_limits(no_rate_limits):  # noqa: F811
    yield
