"""Materialised co-author edges (both directions) and the close-collaborator counts.

Close collaborators (DESIGN.md): co-authors with at least two shared works, or one shared
work with at most five authors. Works with more than 100 authors make no edges; hidden
works, and works a researcher reported as "not me", count for nothing. `is_close` is
decided here, in SQL, and nowhere else: the profile's stat, the trust score and the graph
slice all read it (through `Researcher.close_collaborators_count` or `CoauthorEdge.is_close`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from bzpeer.utils import chunked
from claims.listing import not_reported_sql as _not_me
from graph.models import CoauthorEdge
from profiles.models import Researcher
from works.models import Authorship, Work

HYPER_AUTHORED = 100
CLOSE_MIN_SHARED_WORKS = 2
CLOSE_MAX_TEAM = 5
FULL_REBUILD_WORK_MEM = "256MB"


def _pairs_sql(where: str) -> str:
    return f"""
        SELECT a1.researcher_id AS r, a2.researcher_id AS c, COUNT(*) AS n,
               MAX(w.publication_year) AS y, MIN(w.authors_count) AS t
        FROM {Authorship._meta.db_table} a1
        JOIN {Authorship._meta.db_table} a2
          ON a2.work_id = a1.work_id AND a2.researcher_id <> a1.researcher_id
        JOIN {Work._meta.db_table} w ON w.id = a1.work_id
        WHERE w.authors_count <= {HYPER_AUTHORED} AND NOT w.is_hidden
          AND {_not_me("a1")} AND {_not_me("a2")} {where}
        GROUP BY a1.researcher_id, a2.researcher_id
    """


_IS_CLOSE = f"(n >= {CLOSE_MIN_SHARED_WORKS} OR t <= {CLOSE_MAX_TEAM})"
_EDGE_COLUMNS = "researcher_id, coauthor_id, shared_works, last_year, smallest_team, is_close"


@dataclass(frozen=True)
class RebuildStats:
    edges: int
    researchers_with_edges: int
    counts_changed: int


def rebuild_all_coauthor_edges() -> RebuildStats:
    """Recompute every edge from the authorships in one transaction (the management command).

    Readers keep seeing the old edges until it commits (DELETE, not TRUNCATE, so the
    table is never locked against reads).
    """
    edge_table = CoauthorEdge._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        # One big GROUP BY over every co-author pair: give it room to hash in memory.
        cursor.execute(f"SET LOCAL work_mem = '{FULL_REBUILD_WORK_MEM}'")
        cursor.execute(f"DELETE FROM {edge_table}")
        cursor.execute(
            f"INSERT INTO {edge_table} ({_EDGE_COLUMNS}) "
            f"SELECT r, c, n, y, t, {_IS_CLOSE} FROM ({_pairs_sql('')}) AS pairs"
        )
        edges = cursor.rowcount
        changed = _refresh_close_counts(cursor, ids=None)
        cursor.execute(f"SELECT COUNT(DISTINCT researcher_id) FROM {edge_table}")
        (with_edges,) = cursor.fetchone()
    return RebuildStats(edges=edges, researchers_with_edges=with_edges, counts_changed=changed)


def rebuild_coauthor_edges(*, researcher_ids: Iterable[int] | None = None) -> set[int]:
    """Rebuild the edges touching these researchers (every edge when None).

    Returns the ids whose edges may have changed (the researchers and their old and new
    co-authors), with their close-collaborator counts already refreshed. A full rebuild
    returns the researchers that have edges afterwards.
    """
    edge_table = CoauthorEdge._meta.db_table
    if researcher_ids is None:
        rebuild_all_coauthor_edges()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT researcher_id FROM {edge_table}")
            return {row[0] for row in cursor.fetchall()}
    affected: set[int] = set()
    for chunk in chunked(sorted(set(researcher_ids))):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {edge_table} WHERE researcher_id = ANY(%s) OR coauthor_id = ANY(%s) "
                "RETURNING researcher_id, coauthor_id",
                [chunk, chunk],
            )
            for row in cursor.fetchall():
                affected.update(row)
            # Pairs seen from the chunk's side; the reverse direction is written too, except
            # where both ends are in the chunk (those rows come from the other end already).
            cursor.execute(
                f"WITH pairs AS ({_pairs_sql('AND a1.researcher_id = ANY(%s)')}) "
                f"INSERT INTO {edge_table} ({_EDGE_COLUMNS}) "
                f"SELECT r, c, n, y, t, {_IS_CLOSE} FROM pairs "
                f"UNION ALL SELECT c, r, n, y, t, {_IS_CLOSE} FROM pairs WHERE NOT (c = ANY(%s)) "
                "RETURNING coauthor_id",
                [chunk, chunk],
            )
            affected.update(row[0] for row in cursor.fetchall())
            affected.update(chunk)
            _refresh_close_counts(cursor, ids=sorted(affected))
    return affected


def _refresh_close_counts(cursor, *, ids: list[int] | None) -> int:
    """Set `close_collaborators_count` from the edges; only rows whose count moved are
    written (a full rebuild over a million researchers rewrites few of them)."""
    researcher_table = Researcher._meta.db_table
    edge_table = CoauthorEdge._meta.db_table
    scope = "AND r.id = ANY(%s)" if ids is not None else ""
    edge_scope = "AND e.researcher_id = ANY(%s)" if ids is not None else ""
    cursor.execute(
        f"""
        UPDATE {researcher_table} r SET close_collaborators_count = COALESCE(c.n, 0)
        FROM {researcher_table} r2
        LEFT JOIN (
            SELECT e.researcher_id, COUNT(*) AS n FROM {edge_table} e
            WHERE e.is_close {edge_scope} GROUP BY e.researcher_id
        ) c ON c.researcher_id = r2.id
        WHERE r.id = r2.id {scope}
          AND r.close_collaborators_count IS DISTINCT FROM COALESCE(c.n, 0)
        """,
        [ids, ids] if ids is not None else [],
    )
    return cursor.rowcount
