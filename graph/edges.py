"""Materialised co-author edges (both directions) and the close-collaborator counts.

Close collaborators (DESIGN.md): co-authors with at least two shared works, or one shared
work with at most five authors (the team size: distinct resolved authors, `Work.team_size`).
Works with more than 100 authors make no edges; hidden works, and works a researcher
reported as "not me", count for nothing. `is_close` is decided here, in SQL, and nowhere
else: the profile's stat, the trust score and the graph slice all read it (through
`Researcher.close_collaborators_count` or `CoauthorEdge.is_close`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from bzpeer.tableswap import rebuilt_table
from bzpeer.utils import chunked
from claims.listing import not_reported_sql as _not_me
from graph.models import CoauthorEdge
from profiles.models import Researcher
from works.models import Authorship, Work

HYPER_AUTHORED = 100
CLOSE_MIN_SHARED_WORKS = 2
CLOSE_MAX_TEAM = 5
FULL_REBUILD_WORK_MEM = "256MB"
INCREMENTAL_WORK_MEM = "64MB"


def _pairs_sql(where: str) -> str:
    return f"""
        SELECT a1.researcher_id AS r, a2.researcher_id AS c, COUNT(*) AS n,
               MAX(w.publication_year) AS y, MIN(w.team_size) AS t
        FROM {Authorship._meta.db_table} a1
        JOIN {Authorship._meta.db_table} a2
          ON a2.work_id = a1.work_id AND a2.researcher_id <> a1.researcher_id
        JOIN {Work._meta.db_table} w ON w.id = a1.work_id
        WHERE w.team_size <= {HYPER_AUTHORED} AND NOT w.is_hidden
          AND {_not_me("a1")} AND {_not_me("a2")} {where}
        GROUP BY a1.researcher_id, a2.researcher_id
    """


_IS_CLOSE = f"(n >= {CLOSE_MIN_SHARED_WORKS} OR t <= {CLOSE_MAX_TEAM})"
_EDGE_COLUMNS = "researcher_id, coauthor_id, shared_works, last_year, smallest_team, is_close"


# Researchers per transaction in the incremental path: large enough for set-based plans,
# small enough that a transaction's row locks and memory stay modest.
INCREMENTAL_CHUNK = 5_000
# A refresh touching more than this share of all researchers rebuilds every edge instead:
# past it, the full rebuild (one hash join, no per-row index maintenance) is cheaper.
FULL_REBUILD_SHARE = 0.25


@dataclass(frozen=True)
class RebuildStats:
    edges: int
    researchers_with_edges: int
    counts_changed: int


def rebuild_all_coauthor_edges() -> RebuildStats:
    """Recompute every edge from the authorships into a new table and swap it in.

    The new table is filled with no index, constraint or foreign key to maintain per row;
    they are created after the load (the foreign keys validated in one pass each), then the
    old table is dropped and the new one takes its name, its indexes' and constraints'
    names, in the same transaction. Readers see the old edges until the commit and wait only
    for the swap itself.
    """
    edge_table = CoauthorEdge._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        # One big GROUP BY over every co-author pair: give it room to hash in memory.
        cursor.execute(f"SET LOCAL work_mem = '{FULL_REBUILD_WORK_MEM}'")
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{FULL_REBUILD_WORK_MEM}'")
        with rebuilt_table(cursor, edge_table) as build:
            cursor.execute(
                f"INSERT INTO {build} ({_EDGE_COLUMNS}) "
                f"SELECT r, c, n, y, t, {_IS_CLOSE} FROM ({_pairs_sql('')}) AS pairs"
            )
            edges = cursor.rowcount
        changed = _refresh_close_counts(cursor, ids=None)
        cursor.execute(f"SELECT COUNT(DISTINCT researcher_id) FROM {edge_table}")
        (with_edges,) = cursor.fetchone()
    return RebuildStats(edges=edges, researchers_with_edges=with_edges, counts_changed=changed)


def should_rebuild_all(touched: int) -> bool:
    """Whether refreshing `touched` researchers costs more than rebuilding every edge."""
    if touched < 1_000:
        return False
    with connection.cursor() as cursor:
        # The planner's estimate is enough to pick a path, and free.
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
            [Researcher._meta.db_table],
        )
        (total,) = cursor.fetchone()
        if total < 0:  # never analysed (a table just emptied and filled): count it
            cursor.execute(f"SELECT COUNT(*) FROM {Researcher._meta.db_table}")
            (total,) = cursor.fetchone()
    return total > 0 and touched > FULL_REBUILD_SHARE * total


def rebuild_coauthor_edges(*, researcher_ids: Iterable[int] | None = None) -> set[int]:
    """Rebuild the edges touching these researchers (every edge when None).

    Returns the ids whose edges may have changed (the researchers and their old and new
    co-authors), with their close-collaborator counts already refreshed. A full rebuild
    returns the researchers that have edges afterwards.

    The cost follows the touched researchers, never the table: each chunk's ids go into a
    temporary table, the edges as they should be are computed from the touched
    researchers' own works only, and only the difference with the stored edges is written.
    """
    edge_table = CoauthorEdge._meta.db_table
    if researcher_ids is None:
        rebuild_all_coauthor_edges()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT researcher_id FROM {edge_table}")
            return {row[0] for row in cursor.fetchall()}
    affected: set[int] = set()
    key = "(e.researcher_id, e.coauthor_id) = (n.r, n.c)"
    values = "(e.shared_works, e.last_year, e.smallest_team, e.is_close)"
    for chunk in chunked(sorted(set(researcher_ids)), size=INCREMENTAL_CHUNK):
        changed: set[int] = set(chunk)  # ends of an edge written here: counts may move
        coauthors: set[int] = set()  # every old and new co-author: returned, not recounted
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS edge_touched (id bigint PRIMARY KEY) "
                "ON COMMIT DELETE ROWS"
            )
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS edge_new (r bigint, c bigint, n integer, "
                "y smallint, t integer, close boolean, PRIMARY KEY (r, c)) ON COMMIT DELETE ROWS"
            )
            cursor.execute("TRUNCATE edge_touched, edge_new")  # inside an outer transaction too
            # The pair aggregate of a chunk fits in memory with some room; JIT compilation
            # costs more than it saves on statements this size.
            cursor.execute(f"SET LOCAL work_mem = '{INCREMENTAL_WORK_MEM}'")
            cursor.execute("SET LOCAL jit = off")
            # Every statement here starts from the touched ids and follows indexes; a hash
            # or merge join would read a whole table (authorships, edges) instead, which is
            # what the planner picks once the touched set is a few thousand rows.
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL enable_mergejoin = off")
            cursor.execute("INSERT INTO edge_touched SELECT unnest(%s::bigint[])", [chunk])
            cursor.execute("ANALYZE edge_touched")
            # Every edge touching the chunk as it should be: pairs seen from the chunk's side,
            # and their reverse direction where the co-author is outside the chunk.
            cursor.execute(
                f"WITH pairs AS MATERIALIZED ("
                f"{_pairs_sql('AND a1.researcher_id IN (SELECT id FROM edge_touched)')}) "
                "INSERT INTO edge_new "
                f"SELECT r, c, n, y, t, {_IS_CLOSE} FROM pairs "
                f"UNION ALL SELECT c, r, n, y, t, {_IS_CLOSE} FROM pairs "
                "WHERE NOT EXISTS (SELECT 1 FROM edge_touched t WHERE t.id = pairs.c)"
            )
            cursor.execute("ANALYZE edge_new")
            # Every co-author of the chunk, old or new, may see a change: the new ones are in
            # edge_new, and an old one no longer there loses its edge below (its ends are
            # collected from the DELETE).
            cursor.execute("SELECT DISTINCT c FROM edge_new")
            coauthors.update(row[0] for row in cursor.fetchall())
            # Then only the difference is written, so unchanged edges cost a read. The old
            # edges are found in two index-friendly halves (by researcher, by co-author):
            # one `OR` over both columns can use neither index.
            for column in ("researcher_id", "coauthor_id"):
                cursor.execute(
                    f"DELETE FROM {edge_table} e USING edge_touched t WHERE e.{column} = t.id "
                    f"AND NOT EXISTS (SELECT 1 FROM edge_new n WHERE {key}) "
                    "RETURNING e.researcher_id, e.coauthor_id"
                )
                for row in cursor.fetchall():
                    changed.update(row)
            # New and moved edges in one pass. Unchanged ones (nearly all) are filtered out
            # by a read-only probe first: ON CONFLICT locks every conflicting row it meets,
            # a write to its page even when the row stays as it is.
            cursor.execute(
                f"INSERT INTO {edge_table} AS e ({_EDGE_COLUMNS}) "
                "SELECT r, c, n, y, t, close FROM edge_new n WHERE NOT EXISTS ("
                f"SELECT 1 FROM {edge_table} e WHERE {key} AND {values} IS NOT DISTINCT FROM "
                "(n.n, n.y, n.t, n.close)) ORDER BY r, c "
                "ON CONFLICT (researcher_id, coauthor_id) DO UPDATE SET "
                "shared_works = EXCLUDED.shared_works, last_year = EXCLUDED.last_year, "
                "smallest_team = EXCLUDED.smallest_team, is_close = EXCLUDED.is_close "
                f"WHERE {values} IS DISTINCT FROM (EXCLUDED.shared_works, EXCLUDED.last_year, "
                "EXCLUDED.smallest_team, EXCLUDED.is_close) "
                "RETURNING e.researcher_id, e.coauthor_id"
            )
            for row in cursor.fetchall():
                changed.update(row)
            _refresh_close_counts(cursor, ids=sorted(changed))
            for setting in ("work_mem", "jit", "enable_hashjoin", "enable_mergejoin"):
                cursor.execute(f"SET LOCAL {setting} TO DEFAULT")  # for an outer transaction
        affected |= changed | coauthors
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
