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

from bzpeer.tableswap import create_copy, index_copy, swap_in
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


def _write_edges_sql(rows: str, *, probe: bool = True) -> str:
    """Write the edges `rows` selects (alias n; columns r, c, n, y, t, close): new and moved
    ones in one pass, returning both ends of each written. With `probe`, unchanged ones
    (nearly all) are filtered out by a read-only probe first: ON CONFLICT locks every
    conflicting row it meets, a write to its page even when the row stays as it is. (Without
    it, `rows` holds only edges already known to be new or moved.)"""
    values = "(e.shared_works, e.last_year, e.smallest_team, e.is_close)"
    unchanged = (
        f"WHERE NOT EXISTS (SELECT 1 FROM {CoauthorEdge._meta.db_table} e "
        f"WHERE (e.researcher_id, e.coauthor_id) = (n.r, n.c) AND {values} "
        "IS NOT DISTINCT FROM (n.n, n.y, n.t, n.close)) "
        if probe
        else ""
    )
    return (
        f"INSERT INTO {CoauthorEdge._meta.db_table} AS e ({_EDGE_COLUMNS}) "
        f"SELECT r, c, n, y, t, close FROM {rows} {unchanged}ORDER BY r, c "
        "ON CONFLICT (researcher_id, coauthor_id) DO UPDATE SET "
        "shared_works = EXCLUDED.shared_works, last_year = EXCLUDED.last_year, "
        "smallest_team = EXCLUDED.smallest_team, is_close = EXCLUDED.is_close "
        f"WHERE {values} IS DISTINCT FROM (EXCLUDED.shared_works, EXCLUDED.last_year, "
        "EXCLUDED.smallest_team, EXCLUDED.is_close) "
        "RETURNING e.researcher_id, e.coauthor_id"
    )


# Researchers per transaction in the incremental path: large enough for set-based plans,
# small enough that a transaction's row locks and memory stay modest.
INCREMENTAL_CHUNK = 5_000
# A refresh touching more than this share of all researchers rebuilds every edge instead:
# past it, the full rebuild (one hash join, no per-row index maintenance) is cheaper.
FULL_REBUILD_SHARE = 0.25


@dataclass(frozen=True)
class RebuildStats:
    edges: int
    researcher_ids: frozenset[int]  # the researchers with edges afterwards
    counts_changed: int

    @property
    def researchers_with_edges(self) -> int:
        return len(self.researcher_ids)


def rebuild_all_coauthor_edges(*, filled: int | None = None) -> RebuildStats:
    """Recompute every edge from the authorships into a new table and swap it in; then
    every researcher's close-collaborator count.

    The new table is filled with no index, constraint or foreign key to maintain per row;
    they are created after the load (the foreign keys validated in one pass each), then the
    old table is dropped and the new one takes its name, its indexes' and constraints'
    names, in the same transaction. Readers see the old edges until the commit and wait only
    for the swap itself. With `filled` (the rows `fill_all_coauthor_edges` committed), only
    the swap is left to do.
    """
    edge_table = CoauthorEdge._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        _give_memory(cursor)
        edges = _fill(cursor) if filled is None else filled
        swap_in(cursor, edge_table)
        changed = _refresh_close_counts(cursor, ids=None)
        # Read here, with the rebuild's memory: one hash over the new table. After the
        # commit, with the default memory, the planner walks an index of the new table
        # whose pages no VACUUM has marked visible yet, one table fetch per edge (minutes
        # at ten million edges).
        cursor.execute(f"SELECT DISTINCT researcher_id FROM {edge_table}")
        with_edges = frozenset(row[0] for row in cursor.fetchall())
    return RebuildStats(edges=edges, researcher_ids=with_edges, counts_changed=changed)


def fill_all_coauthor_edges() -> int:
    """The long half of a full rebuild, committed on its own: every edge into a fresh copy
    of the edge table, with its keys and indexes; `rebuild_all_coauthor_edges(filled=...)`
    then swaps it in. It locks nothing that anyone writes (the copy's foreign keys come
    with the swap), so it can run on a second connection beside the counts' rebuild.
    Returns how many edges."""
    with transaction.atomic(), connection.cursor() as cursor:
        _give_memory(cursor)
        return _fill(cursor)


def _give_memory(cursor) -> None:
    # One big GROUP BY over every co-author pair: give it room to hash in memory.
    cursor.execute(f"SET LOCAL work_mem = '{FULL_REBUILD_WORK_MEM}'")
    cursor.execute(f"SET LOCAL maintenance_work_mem = '{FULL_REBUILD_WORK_MEM}'")


def _fill(cursor) -> int:
    edge_table = CoauthorEdge._meta.db_table
    build = create_copy(cursor, edge_table)
    # Written in key order, so a researcher's edges share a few pages: the refresh of a
    # later import reads the edges of its pairs researcher by researcher, and with the rows
    # scattered each pair cost a page read of its own (a cold cache made that most of an
    # incremental import). Grouped in that order too: the authorships read researcher by
    # researcher (their index), each one's pairs sorted by co-author alone (an incremental
    # sort) and counted as they come. At 1M works that took 16 s where a hash aggregate of
    # the ten million pairs (spilling to disk), then a sort of them, took 30 s. (A memo of
    # each work's authors is never hit in that order.)
    cursor.execute("SET LOCAL enable_hashagg = off")
    cursor.execute("SET LOCAL enable_memoize = off")
    cursor.execute(
        f"INSERT INTO {build} ({_EDGE_COLUMNS}) "
        f"SELECT r, c, n, y, t, {_IS_CLOSE} FROM ({_pairs_sql('')}) pairs ORDER BY r, c"
    )
    edges = cursor.rowcount
    cursor.execute("SET LOCAL enable_hashagg TO DEFAULT")
    cursor.execute("SET LOCAL enable_memoize TO DEFAULT")
    index_copy(cursor, edge_table)
    return edges


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
        return set(rebuild_all_coauthor_edges().researcher_ids)
    affected: set[int] = set()
    key = "(e.researcher_id, e.coauthor_id) = (n.r, n.c)"
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
            cursor.execute(_write_edges_sql("edge_new n"))
            for row in cursor.fetchall():
                changed.update(row)
            _refresh_close_counts(cursor, ids=sorted(changed))
            for setting in ("work_mem", "jit", "enable_hashjoin", "enable_mergejoin"):
                cursor.execute(f"SET LOCAL {setting} TO DEFAULT")  # for an outer transaction
        affected |= changed | coauthors
    return affected


# Works per transaction in the pairs refresh.
WORKS_CHUNK = 5_000
# The pairs refresh moves close-collaborator counts by differences read from the stored
# edges, so two of them must not read the same pairs at once: they take this Postgres
# advisory lock (transaction-scoped) first. Nothing else takes it, and an import's refresh
# takes it before any row lock, so it cannot close a cycle of waits. (The researcher path
# and the full rebuild recount absolutely, as a curator's change inside a request does.)
PAIRS_REFRESH_LOCK = 0x0ED6E5


def refresh_coauthor_edges_of_works(
    *, work_ids: Iterable[int], departed: Iterable[tuple[int, int]] = ()
) -> set[int]:
    """Recompute the edges of the co-author pairs these works can have moved: what an
    import changed (a work's authors, team size or year; a new work). `departed` lists the
    (work, researcher) authorships removed. Returns the ends of every edge written, with
    their close-collaborator counts refreshed.

    The cost follows the pairs, not the researchers' records: a prolific author of a
    changed work has thousands of works, and recomputing every edge of theirs (the
    researcher path above) read all of them; so are the close-collaborator counts, moved
    by the pairs that changed side rather than recounted. The pairs are every two authors
    of the work, past or present; for a hyper-authored work (no edges of its own) only the
    pairs that have an edge, which it may have lost. Each pair's shared works are then read
    from the side with fewer works, one unique-index probe per work for the other side.
    """
    departed_by_work: dict[int, list[int]] = {}
    for work_id, researcher_id in departed:
        departed_by_work.setdefault(work_id, []).append(researcher_id)
    works = sorted(set(work_ids) | set(departed_by_work))
    edge_table = CoauthorEdge._meta.db_table
    authorship_table = Authorship._meta.db_table
    work_table = Work._meta.db_table
    researcher_table = Researcher._meta.db_table
    changed: set[int] = set()
    for chunk in chunked(works, size=WORKS_CHUNK):
        gone = [(w, r) for w in chunk for r in departed_by_work.get(w, ())]
        written: set[int] = set()  # ends of an edge written in this chunk
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS edge_member (w bigint, r bigint, "
                "hyper boolean, PRIMARY KEY (w, r)) ON COMMIT DELETE ROWS"
            )
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS edge_pair (r bigint, c bigint, "
                "PRIMARY KEY (r, c)) ON COMMIT DELETE ROWS"
            )
            for table in ("edge_pair_new", "edge_pair_old"):
                cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {table} (r bigint, c bigint, n integer, "
                    "y smallint, t integer, close boolean, PRIMARY KEY (r, c)) "
                    "ON COMMIT DELETE ROWS"
                )
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PAIRS_REFRESH_LOCK])
            cursor.execute("TRUNCATE edge_member, edge_pair, edge_pair_new, edge_pair_old")
            cursor.execute("SET LOCAL jit = off")
            # Index-driven from the chunk's works and pairs, as in the researcher path.
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL enable_mergejoin = off")
            # Who is or was an author of each work.
            cursor.execute(
                f"INSERT INTO edge_member (w, r, hyper) "
                f"SELECT a.work_id, a.researcher_id, w.team_size > {HYPER_AUTHORED} "
                f"FROM {authorship_table} a JOIN {work_table} w ON w.id = a.work_id "
                "WHERE a.work_id = ANY(%s) "
                f"UNION SELECT d.w, d.r, COALESCE(w.team_size > {HYPER_AUTHORED}, false) "
                f"FROM unnest(%s::bigint[], %s::bigint[]) d(w, r) "
                f"LEFT JOIN {work_table} w ON w.id = d.w "
                "ON CONFLICT DO NOTHING",
                [chunk, [w for w, _ in gone], [r for _, r in gone]],
            )
            cursor.execute("ANALYZE edge_member")
            # Pairs, smaller id first: every two members of a work with a team that makes
            # edges; for a hyper-authored one, the members' stored edges between them.
            # (The membership probes are scalar subqueries: each is planned as one lookup
            # by both keys; as joins, the planner scanned one side whole per outer row.)
            cursor.execute(
                "INSERT INTO edge_pair (r, c) "
                "SELECT m1.r, m2.r FROM edge_member m1 JOIN edge_member m2 "
                "ON m2.w = m1.w AND m2.r > m1.r WHERE NOT m1.hyper "
                f"UNION SELECT e.researcher_id, e.coauthor_id FROM edge_member m1 "
                f"JOIN {edge_table} e ON e.researcher_id = m1.r AND e.coauthor_id > m1.r "
                "WHERE m1.hyper AND (SELECT true FROM edge_member m2 "
                "WHERE m2.w = m1.w AND m2.r = e.coauthor_id) "
                "ON CONFLICT DO NOTHING"
            )
            cursor.execute("ANALYZE edge_pair")
            # Each pair's shared works, read from the side with fewer works.
            cursor.execute(
                f"""
                INSERT INTO edge_pair_new (r, c, n, y, t, close)
                SELECT p.r, p.c, x.n, x.y, x.t, (x.n >= {CLOSE_MIN_SHARED_WORKS}
                       OR x.t <= {CLOSE_MAX_TEAM})
                FROM edge_pair p
                JOIN {researcher_table} rr ON rr.id = p.r
                JOIN {researcher_table} rc ON rc.id = p.c
                CROSS JOIN LATERAL (
                    SELECT COUNT(*) AS n, MAX(w.publication_year) AS y, MIN(w.team_size) AS t
                    FROM {authorship_table} a1
                    JOIN {work_table} w ON w.id = a1.work_id
                    WHERE a1.researcher_id = CASE WHEN rr.works_count <= rc.works_count
                                                  THEN p.r ELSE p.c END
                      AND w.team_size <= {HYPER_AUTHORED} AND NOT w.is_hidden
                      AND {_not_me("a1")}
                      AND (SELECT {_not_me("a2")} FROM {authorship_table} a2
                           WHERE a2.work_id = a1.work_id
                             AND a2.researcher_id = CASE WHEN rr.works_count <= rc.works_count
                                                         THEN p.c ELSE p.r END)
                ) x
                WHERE x.n > 0
                """
            )
            # The stored edges of the pairs, read once, under the edge lock (no other pairs
            # refresh moves them until the commit). An edge and its reverse are written
            # alike, so one direction tells. Everything below is decided from this copy:
            # reading the stored edges in each statement (for the counts, the deletes and
            # the writes) read the same cold pages three times.
            cursor.execute(
                f"INSERT INTO edge_pair_old (r, c, n, y, t, close) "
                "SELECT p.r, p.c, e.shared_works, e.last_year, e.smallest_team, e.is_close "
                f"FROM edge_pair p JOIN {edge_table} e "
                "ON (e.researcher_id, e.coauthor_id) = (p.r, p.c)"
            )
            cursor.execute("ANALYZE edge_pair_new")
            cursor.execute("ANALYZE edge_pair_old")
            # Each end's close-collaborator count moves by the pairs that turn close or stop
            # being close: recounting every edge of each end instead read thousands of rows
            # for a prolific one.
            cursor.execute(
                f"""
                UPDATE {researcher_table} rr
                SET close_collaborators_count = rr.close_collaborators_count + d.delta
                FROM (
                    SELECT x.id, SUM(x.delta) AS delta
                    FROM (
                        SELECT p.r, p.c, COALESCE(n.close, false)::integer
                               - COALESCE(o.close, false)::integer AS delta
                        FROM edge_pair p
                        LEFT JOIN edge_pair_new n ON (n.r, n.c) = (p.r, p.c)
                        LEFT JOIN edge_pair_old o ON (o.r, o.c) = (p.r, p.c)
                    ) m
                    CROSS JOIN LATERAL (VALUES (m.r, m.delta), (m.c, m.delta)) AS x(id, delta)
                    WHERE m.delta <> 0
                    GROUP BY x.id
                ) d
                WHERE rr.id = d.id AND d.delta <> 0
                """
            )
            # Both directions of the stored pairs that no longer make an edge go.
            for near, far in (("r", "c"), ("c", "r")):
                cursor.execute(
                    f"DELETE FROM {edge_table} e USING edge_pair_old o "
                    f"WHERE (e.researcher_id, e.coauthor_id) = (o.{near}, o.{far}) "
                    "AND NOT EXISTS (SELECT 1 FROM edge_pair_new n WHERE (n.r, n.c) = (o.r, o.c)) "
                    "RETURNING e.researcher_id, e.coauthor_id"
                )
                for row in cursor.fetchall():
                    written.update(row)
            # New and moved edges, both directions; unchanged ones are not touched.
            moved = (
                "SELECT n.r, n.c, n.n, n.y, n.t, n.close FROM edge_pair_new n "
                "LEFT JOIN edge_pair_old o ON (o.r, o.c) = (n.r, n.c) "
                "WHERE (o.n, o.y, o.t, o.close) IS DISTINCT FROM (n.n, n.y, n.t, n.close)"
            )
            cursor.execute(
                _write_edges_sql(
                    f"(WITH moved AS MATERIALIZED ({moved}) SELECT r, c, n, y, t, close "
                    "FROM moved UNION ALL SELECT c, r, n, y, t, close FROM moved) n",
                    probe=False,
                )
            )
            for row in cursor.fetchall():
                written.update(row)
            for setting in ("jit", "enable_hashjoin", "enable_mergejoin"):
                cursor.execute(f"SET LOCAL {setting} TO DEFAULT")  # for an outer transaction
        changed |= written
    return changed


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
