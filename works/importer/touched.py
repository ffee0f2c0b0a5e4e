"""The durable set of researchers an import touched (works.models.TouchedResearcher).

`record` runs inside the batch's transaction, so the set is exactly what committed. The
refresh that follows an import (or the next one, after a kill) reads `pending()` and,
once it has run, `consume`s exactly the rows it read: a row another importer touched again
meanwhile has a new `touched_at` and stays for the next refresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from works.models import TouchedResearcher

TABLE = TouchedResearcher._meta.db_table


@dataclass(slots=True)
class Pending:
    rows: dict[int, datetime] = field(default_factory=dict)  # researcher id -> touched_at

    @property
    def researcher_ids(self) -> set[int]:
        return set(self.rows)


def record(researcher_ids: Iterable[int]) -> None:
    ids = sorted(set(researcher_ids))  # sorted: concurrent importers lock rows in one order
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (researcher_id, touched_at) "
            "SELECT unnest(%s::bigint[]), clock_timestamp() "
            "ON CONFLICT (researcher_id) DO UPDATE SET touched_at = EXCLUDED.touched_at",
            [ids],
        )


def pending() -> Pending:
    """Every researcher waiting for a refresh."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT researcher_id, touched_at FROM {TABLE}")
        return Pending(dict(cursor.fetchall()))


def consume(read: Pending) -> None:
    """Forget the rows `read` holds, unless an import touched them again since."""
    if not read.rows:
        return
    ids, times = zip(*sorted(read.rows.items()), strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {TABLE} t USING unnest(%s::bigint[], %s::timestamptz[]) AS r(id, at) "
            "WHERE t.researcher_id = r.id AND t.touched_at = r.at",
            [list(ids), list(times)],
        )
