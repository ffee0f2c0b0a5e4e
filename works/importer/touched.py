"""The durable record of what an import touched (works.models.TouchedResearcher and
TouchedWork).

`record` runs inside the batch's transaction, so the record is exactly what committed.
The refresh that follows an import (or the next one, after a kill) reads `pending()` and,
once it has run, `consume`s exactly the rows it read: a row another importer touched again
meanwhile has a new `touched_at` and stays for the next refresh.

Three things are recorded, because they cost very different amounts to refresh:
* every researcher whose pages or scores may have moved (trust, metrics, graph slices are
  queued for them);
* of those, the ones whose own rows moved (`recount`): their counts, per-topic rows and
  search document are recomputed, reading their whole record;
* the works whose co-author pairs may have moved, with the researchers who left each: the
  edges of those pairs alone are recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from works.models import TouchedResearcher, TouchedWork

TABLE = TouchedResearcher._meta.db_table
WORK_TABLE = TouchedWork._meta.db_table


@dataclass(slots=True)
class Pending:
    rows: dict[int, datetime] = field(default_factory=dict)  # researcher id -> touched_at
    recount: set[int] = field(default_factory=set)
    works: dict[int, datetime] = field(default_factory=dict)  # work id -> touched_at
    departed: dict[int, list[int]] = field(default_factory=dict)  # work id -> researchers

    @property
    def researcher_ids(self) -> set[int]:
        return set(self.rows)

    @property
    def work_ids(self) -> set[int]:
        return set(self.works)


def record(
    researcher_ids: Iterable[int],
    *,
    recount_ids: Iterable[int] | None = None,
    work_ids: Iterable[int] = (),
    departed: Iterable[tuple[int, int]] = (),
) -> None:
    """Record researchers (all of them recounted when `recount_ids` is None), works and
    the (work, researcher) authorships removed. Rows go in key order: concurrent importers
    lock them in one order."""
    ids = sorted(set(researcher_ids))
    recount = ids if recount_ids is None else sorted(set(recount_ids) & set(ids))
    works = sorted(set(work_ids) | {work for work, _ in departed})
    pairs = sorted(set(departed))
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                f"INSERT INTO {TABLE} AS t (researcher_id, touched_at, recount) "
                "SELECT r.id, clock_timestamp(), r.id = ANY(%s) FROM unnest(%s::bigint[]) r(id) "
                "ON CONFLICT (researcher_id) DO UPDATE SET touched_at = EXCLUDED.touched_at, "
                "recount = t.recount OR EXCLUDED.recount",
                [recount, ids],
            )
        if works:
            cursor.execute(
                f"INSERT INTO {WORK_TABLE} AS t (work_id, departed_ids, touched_at) "
                "SELECT w.id, ARRAY(SELECT d.r FROM unnest(%s::bigint[], %s::bigint[]) d(w, r) "
                "WHERE d.w = w.id), clock_timestamp() FROM unnest(%s::bigint[]) w(id) "
                "ON CONFLICT (work_id) DO UPDATE SET touched_at = EXCLUDED.touched_at, "
                "departed_ids = ARRAY(SELECT DISTINCT unnest(t.departed_ids || "
                "EXCLUDED.departed_ids) ORDER BY 1)",
                [[w for w, _ in pairs], [r for _, r in pairs], works],
            )


def pending() -> Pending:
    """Everything waiting for a refresh."""
    read = Pending()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT researcher_id, touched_at, recount FROM {TABLE}")
        for researcher_id, touched_at, recount in cursor.fetchall():
            read.rows[researcher_id] = touched_at
            if recount:
                read.recount.add(researcher_id)
        cursor.execute(f"SELECT work_id, touched_at, departed_ids FROM {WORK_TABLE}")
        for work_id, touched_at, departed in cursor.fetchall():
            read.works[work_id] = touched_at
            if departed:
                read.departed[work_id] = list(departed)
    return read


def consume(read: Pending) -> None:
    """Forget the rows `read` holds, unless an import touched them again since."""
    for table, column, rows in (
        (TABLE, "researcher_id", read.rows),
        (WORK_TABLE, "work_id", read.works),
    ):
        if not rows:
            continue
        ids, times = zip(*sorted(rows.items()), strict=True)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} t USING unnest(%s::bigint[], %s::timestamptz[]) "
                f"AS r(id, at) WHERE t.{column} = r.id AND t.touched_at = r.at",
                [list(ids), list(times)],
            )


def departed_pairs(read: Pending) -> list[tuple[int, int]]:
    """The (work, researcher) authorships removed, from what `pending()` read."""
    return sorted((work, researcher) for work, ids in read.departed.items() for researcher in ids)
