"""Waiting for a state another process or thread reaches: poll it, bounded, never sleep
for a fixed time and hope."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest


def wait_until(
    condition: Callable[[], object],
    *,
    timeout: float = 30,
    interval: float = 0.3,
    what: str = "",
    explain: Callable[[], str] | None = None,
) -> object:
    """Poll `condition` until it returns something truthy; fail (with `what`, and what
    `explain` says of the state then) after `timeout`. `condition` may fail the test
    itself when the state can no longer come.

    A bounded wait for work another process does, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f":\n{explain()}" if explain else ""
            pytest.fail(f"Gave up after {timeout:.0f} s waiting for {what or condition}{detail}")
        time.sleep(interval)


def wait_for_lock_waiters(count: int, threads: list[threading.Thread]) -> None:
    """Until `count` other sessions wait for a row lock (one this test's transaction holds):
    the threads then really race once it lets go. A thread that ends first never waited
    for the lock, and fails the wait."""
    from django.db import connection

    with connection.cursor() as cursor:

        def waiting() -> bool:
            # Statistics views are a snapshot per transaction, and this one holds the lock.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return True
            assert all(t.is_alive() for t in threads), "a thread ended without waiting"
            return False

        def sessions() -> str:
            cursor.execute(
                "SELECT datname, state, wait_event_type, wait_event, left(query, 120) "
                "FROM pg_stat_activity WHERE backend_type = 'client backend'"
            )
            return str(cursor.fetchall())

        wait_until(
            waiting,
            timeout=30,
            interval=0.02,
            what=f"{count} sessions waiting for the row lock",
            explain=sessions,
        )


def start_waiting_for_lock(threads: list[threading.Thread]) -> None:
    """Start `threads` and return once each waits for a lock this test's transaction holds:
    when it lets go, they really race."""
    for thread in threads:
        thread.start()
    wait_for_lock_waiters(len(threads), threads)


def join_all(threads: list[threading.Thread], *, timeout: float = 60) -> None:
    """Wait for `threads` to end; fail if one is still running after `timeout`."""
    for thread in threads:
        thread.join(timeout=timeout)
        assert not thread.is_alive(), "a thread did not finish"
