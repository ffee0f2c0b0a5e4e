"""Waiting for a state another process or thread reaches: poll it, bounded, never sleep
for a fixed time and hope."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


def wait_until(
    condition: Callable[[], object], *, timeout: float = 30, interval: float = 0.3, what: str = ""
) -> object:
    """Poll `condition` until it returns something truthy; fail (with `what`) after `timeout`.

    A bounded wait for work another process does, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"Gave up after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(interval)
