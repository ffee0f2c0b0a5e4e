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

from django.db import connection

from works.models import TouchedResearcher, TouchedWork

TABLE = TouchedResearcher._meta.db_table
WORK_TABLE = TouchedWork._meta.db_table


# What `pending()` read, kept on the connection until `consume`: a first import touches
# every researcher and work (a million rows at 1M works), too many to hold in Python with
# their timestamps (530 MB measured) only to delete them again.
READ_RESEARCHERS = "touched_read_researchers"
READ_WORKS = "touched_read_works"
_RESEARCHER_COLUMNS = "researcher_id bigint, touched_at timestamptz, recount bool"
_WORK_COLUMNS = "work_id bigint, touched_at timestamptz, departed_ids bigint[]"


class Pending:
    """The touched rows one refresh takes, snapshotted on the connection by `pending()`.
    Ids are read from the snapshot when asked for, so a refresh that rebuilds everything
    never loads the works."""

    def __init__(self, researchers: int, works: int) -> None:
        self.researchers = researchers  # how many
        self.works = works
        self._researcher_ids: set[int] | None = None

    @property
    def researcher_ids(self) -> set[int]:
        if self._researcher_ids is None:
            self._researcher_ids = set(_ids(f"SELECT researcher_id FROM {READ_RESEARCHERS}"))
        return self._researcher_ids

    def recount_ids(self) -> set[int]:
        return set(_ids(f"SELECT researcher_id FROM {READ_RESEARCHERS} WHERE recount"))

    def work_ids(self) -> set[int]:
        return set(_ids(f"SELECT work_id FROM {READ_WORKS}"))

    def departed_pairs(self) -> list[tuple[int, int]]:
        """The (work, researcher) authorships removed."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT work_id, unnest(departed_ids) FROM {READ_WORKS} "
                "WHERE departed_ids <> '{}' ORDER BY 1, 2"
            )
            return [(work, researcher) for work, researcher in cursor.fetchall()]


def _ids(sql: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


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
    recount = set(ids) if recount_ids is None else set(recount_ids)
    works = sorted(set(work_ids) | {work for work, _ in departed})
    pairs = sorted(set(departed))
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                f"INSERT INTO {TABLE} AS t (researcher_id, touched_at, recount) "
                "SELECT r.id, clock_timestamp(), r.recount "
                "FROM unnest(%s::bigint[], %s::boolean[]) r(id, recount) "
                "ON CONFLICT (researcher_id) DO UPDATE SET touched_at = EXCLUDED.touched_at, "
                "recount = t.recount OR EXCLUDED.recount",
                # A flag per id, not `id = ANY(recount)`: that compares every id with every
                # recounted one (2,800 × 2,800 per batch of 500 works).
                [ids, [pk in recount for pk in ids]],
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
    """Everything waiting for a refresh, snapshotted for this refresh to read and consume."""
    with connection.cursor() as cursor:
        for read, table, columns in (
            (READ_RESEARCHERS, TABLE, "researcher_id bigint, touched_at timestamptz, recount bool"),
            (
                READ_WORKS,
                WORK_TABLE,
                "work_id bigint, touched_at timestamptz, departed_ids bigint[]",
            ),
        ):
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {read} ({columns})")
            cursor.execute(f"TRUNCATE {read}")
            names = ", ".join(column.split()[0] for column in columns.split(", "))
            cursor.execute(f"INSERT INTO {read} ({names}) SELECT {names} FROM {table}")
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM {READ_RESEARCHERS}), (SELECT COUNT(*) FROM {READ_WORKS})"
        )
        researchers, works = cursor.fetchone()
    return Pending(researchers, works)


def consume(read: Pending) -> None:
    """Forget the rows the last `pending()` read, unless an import touched them again since
    (a new `touched_at`)."""
    with connection.cursor() as cursor:
        for snapshot, table, column in (
            (READ_RESEARCHERS, TABLE, "researcher_id"),
            (READ_WORKS, WORK_TABLE, "work_id"),
        ):
            cursor.execute(
                f"DELETE FROM {table} t USING {snapshot} r "
                f"WHERE t.{column} = r.{column} AND t.touched_at = r.touched_at"
            )
            cursor.execute(f"TRUNCATE {snapshot}")
