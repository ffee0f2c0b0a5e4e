"""Deferred version bumps for bulk writers that run in parallel (the importer's workers).

The triggers bump a record's version in the statement that changes its rows, and the
version row stays locked until the transaction ends. A batch of the importer writes its
authorships early and commits after several more statements; a second importer process
whose batch names the same prolific authors waited all that time on those rows. Inside
`defer_bumps()` the triggers put the records they would bump into a temporary table, and
the bumps are written once at the end of the block, still inside the caller's transaction
(so a new version becomes visible exactly with the change it stands for), each record once
and in one lock order: the rows are then held for the commit only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from bzpeer.pagecache.triggers import DEFER_SETTING, DEFERRED_TABLE


@contextmanager
def defer_bumps() -> Iterator[None]:
    """Collect the page-version bumps of the block and write them at its end. Must run
    inside a transaction (the setting is local to it; a rollback drops what was
    collected along with the changes). If the block raises, nothing is flushed."""
    if not connection.in_atomic_block:
        raise RuntimeError("defer_bumps() must run inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {DEFERRED_TABLE} "
            "(kind text NOT NULL, object_id bigint NOT NULL) ON COMMIT DELETE ROWS"
        )
        cursor.execute("SELECT set_config(%s, 'on', true)", [DEFER_SETTING])
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT pagecache_flush_deferred_bumps()")
