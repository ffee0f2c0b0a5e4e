"""Derived data: what is recomputed from the source rows after any change.

Counts (works, topics, followers) and co-author edges are refreshed in the change's own
transaction; trust and graph slices are queued for the worker after it commits. An import,
a curator's correction, a claim and an owner's edit all go through `refresh_derived_data`
or `queue_recompute`, so a change looks the same on every page whichever path made it.
This sits above the domain apps: it needs the "works listed on a profile" rule (claims),
the co-author edges and slices (graph) and the researchers' counts (profiles).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connection, connections, transaction
from django.db.models import Count, F, OuterRef, Q
from django.utils import timezone

from bzpeer.pagecache.triggers import bump_sql
from bzpeer.search import documents
from bzpeer.search.documents import (
    refresh_all_memberships,
    refresh_all_search_documents,
    refresh_search_documents,
)
from bzpeer.tableswap import BUILD_SUFFIX, create_copy, index_copy, swap_in
from bzpeer.utils import chunked
from claims import listing
from claims.models import Claim
from graph.edges import (
    fill_all_coauthor_edges,
    rebuild_all_coauthor_edges,
    rebuild_coauthor_edges,
    refresh_coauthor_edges_of_works,
    should_rebuild_all,
)
from graph.models import CoauthorEdge, GraphSlice
from graph.services import build_slice
from profiles.metrics import I10_THRESHOLD
from profiles.models import Follow, Researcher, ResearcherTopic, visible_sql
from profiles.trust import TrustInputs, compute_trust
from works.importer.touched import Pending as TouchedRecord
from works.models import Authorship, Work
from works.reading import authorships_in_work_order_sql

logger = logging.getLogger(__name__)
T = TypeVar("T")


# --- denormalised counts ---------------------------------------------------------------

COUNTS_CHUNK = 5_000


def refresh_researcher_counts(
    *, researcher_ids: Iterable[int], move_topic_counts: bool = False
) -> None:
    """Recount works, followers and topics (and the per-topic rows) from the source rows.

    `move_topic_counts`: also move each topic's researcher count by the per-topic rows of
    public researchers added and removed, in the same transaction (a change that hides,
    shows or merges nobody: an import; otherwise the topics are recounted after)."""
    researcher_table = Researcher._meta.db_table
    authorship_table = Authorship._meta.db_table
    work_table = Work._meta.db_table
    work_topics_table = Work.topics.through._meta.db_table
    topic_table = ResearcherTopic._meta.db_table
    follow_table = Follow._meta.db_table
    # Only the works the profile lists count (claims.listing: not hidden, not "not me").
    listed = listing.listed_sql("a", "w")
    mine = authorships_in_work_order_sql(
        "a.researcher_id = ANY(%s)", columns="a.researcher_id, a.work_id"
    )
    for chunk in chunked(sorted(set(researcher_ids)), size=COUNTS_CHUNK):
        with transaction.atomic(), connection.cursor() as cursor:
            # Each statement starts from the chunk's ids and follows indexes; a hash join
            # would read every authorship or topic link instead.
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL enable_mergejoin = off")
            cursor.execute("SET LOCAL jit = off")
            # The aggregate of a prolific chunk sorts in memory, not on disk.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            # The per-topic rows as they should be, then only the difference is written: a
            # change (a dropped author, a new work) moves a few of the touched researchers'
            # rows, and rewriting all of them (tens of thousands for prolific authors) cost
            # most of the refresh, page-cache bumps of unchanged profiles included. A
            # researcher lists a work once and a work carries a topic once, so a count of
            # rows is the count of distinct works.
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS counts_topic_new (researcher_id bigint, "
                "topic_id bigint, works_count integer, PRIMARY KEY (researcher_id, topic_id)) "
                "ON COMMIT DELETE ROWS"
            )
            cursor.execute("TRUNCATE counts_topic_new")  # inside an outer transaction too
            cursor.execute(
                f"""
                WITH a AS MATERIALIZED ({mine})
                INSERT INTO counts_topic_new (researcher_id, topic_id, works_count)
                SELECT a.researcher_id, wt.topic_id, COUNT(*)
                FROM a
                JOIN {work_table} w ON w.id = a.work_id
                JOIN {work_topics_table} wt ON wt.work_id = a.work_id
                WHERE {listed}
                GROUP BY a.researcher_id, wt.topic_id
                """,
                [chunk],
            )
            cursor.execute("ANALYZE counts_topic_new")
            # Each statement returns, per topic, the rows of public researchers it removed
            # or added (a row whose count moved is neither).
            public = f"JOIN {researcher_table} r ON r.id = x.researcher_id AND {visible_sql('r')}"
            cursor.execute(
                f"""
                WITH x AS (
                    DELETE FROM {topic_table} t WHERE t.researcher_id = ANY(%s)
                    AND NOT EXISTS (SELECT 1 FROM counts_topic_new n
                                    WHERE (n.researcher_id, n.topic_id)
                                        = (t.researcher_id, t.topic_id))
                    RETURNING t.researcher_id, t.topic_id
                ) SELECT x.topic_id, -COUNT(*) FROM x {public} GROUP BY x.topic_id
                """,
                [chunk],
            )
            topics_moved = Counter(dict(cursor.fetchall()))
            cursor.execute(
                f"""
                WITH x AS (
                    INSERT INTO {topic_table} AS t (researcher_id, topic_id, works_count)
                    SELECT researcher_id, topic_id, works_count FROM counts_topic_new
                    ORDER BY researcher_id, topic_id
                    ON CONFLICT (researcher_id, topic_id) DO UPDATE
                    SET works_count = EXCLUDED.works_count
                    WHERE t.works_count <> EXCLUDED.works_count
                    RETURNING t.researcher_id, t.topic_id, t.xmax = 0 AS added
                ) SELECT x.topic_id, COUNT(*) FROM x {public} WHERE x.added GROUP BY x.topic_id
                """
            )
            topics_moved.update(dict(cursor.fetchall()))
            if move_topic_counts:
                documents.move_topic_counts(topics_moved)
            # Unchanged researchers are not written (no new row version, no page bump).
            cursor.execute(
                f"""
                UPDATE {researcher_table} r SET
                  works_count = c.works, topics_count = c.topics, followers_count = c.followers
                FROM (
                    SELECT x.id,
                      (SELECT COUNT(*) FROM {authorship_table} a
                       JOIN {work_table} w ON w.id = a.work_id
                       WHERE a.researcher_id = x.id AND {listed}) AS works,
                      (SELECT COUNT(*) FROM counts_topic_new t WHERE t.researcher_id = x.id)
                        AS topics,
                      (SELECT COUNT(*) FROM {follow_table} f WHERE f.researcher_id = x.id)
                        AS followers
                    FROM unnest(%s::bigint[]) AS x(id)
                ) c
                WHERE r.id = c.id AND (r.works_count, r.topics_count, r.followers_count)
                  IS DISTINCT FROM (c.works, c.topics, c.followers)
                """,
                [chunk],
            )
            for setting in ("enable_hashjoin", "enable_mergejoin", "jit", "work_mem"):
                cursor.execute(f"SET LOCAL {setting} TO DEFAULT")  # for an outer transaction


def fill_all_researcher_topics() -> None:
    """The long half of `refresh_all_researcher_counts`, committed on its own: every
    per-topic row into a fresh copy of the table, with its keys and indexes;
    `refresh_all_researcher_counts(topics_filled=True)` then swaps it in. It locks nothing
    that anyone writes (the copy's foreign keys come with the swap), so it can run on a
    second connection beside other rebuilds."""
    with transaction.atomic(), connection.cursor() as cursor:
        _give_rebuild_memory(cursor)
        _fill_researcher_topics(cursor)


def _give_rebuild_memory(cursor) -> None:
    cursor.execute("SET LOCAL work_mem = '256MB'")
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")


def _fill_researcher_topics(cursor) -> None:
    # Into a fresh table swapped in: rewriting every row in place maintains four indexes
    # and queues two foreign-key checks per row for the commit (at 100k works that was
    # 36 s of 40). A researcher lists a work once and a work carries a topic once, so a
    # count of rows is the count of distinct works. Written in key order (aggregated
    # first, then sorted), so a researcher's rows share a page or two for the next
    # import's refresh of them.
    topic_table = ResearcherTopic._meta.db_table
    build = create_copy(cursor, topic_table)
    cursor.execute(
        f"""
        WITH counted AS MATERIALIZED (
            SELECT a.researcher_id, wt.topic_id, COUNT(*) AS works_count
            FROM {Authorship._meta.db_table} a
            JOIN {Work._meta.db_table} w ON w.id = a.work_id
            JOIN {Work.topics.through._meta.db_table} wt ON wt.work_id = a.work_id
            WHERE {listing.listed_sql("a", "w")}
            GROUP BY a.researcher_id, wt.topic_id
        )
        INSERT INTO {build} ({_TOPIC_ROW})
        SELECT {_TOPIC_ROW} FROM counted ORDER BY researcher_id, topic_id
        """
    )
    index_copy(cursor, topic_table)


_TOPIC_ROW = "researcher_id, topic_id, works_count"


def refresh_all_researcher_counts(*, topics_filled: bool = False) -> int:
    """Every researcher's counts and per-topic rows, set-based in one transaction (the path
    a refresh takes when a change touched a large share of the corpus). Only researchers
    whose counts moved are written. Returns how many were. With `topics_filled` (after
    `fill_all_researcher_topics`), the per-topic rows are only swapped in."""
    researcher_table = Researcher._meta.db_table
    authorship_table = Authorship._meta.db_table
    work_table = Work._meta.db_table
    topic_table = ResearcherTopic._meta.db_table
    follow_table = Follow._meta.db_table
    listed = listing.listed_sql("a", "w")
    build = f"{topic_table}{BUILD_SUFFIX}"
    row = _TOPIC_ROW
    with transaction.atomic(), connection.cursor() as cursor:
        _give_rebuild_memory(cursor)
        if not topics_filled:
            _fill_researcher_topics(cursor)
        # What the table's page-cache triggers would have bumped: the profiles whose
        # per-topic rows changed.
        cursor.execute(
            bump_sql(
                "R",
                f"SELECT researcher_id FROM ((SELECT {row} FROM {build} EXCEPT "
                f"SELECT {row} FROM {topic_table}) UNION ALL (SELECT {row} FROM "
                f"{topic_table} EXCEPT SELECT {row} FROM {build})) changed",
            )
        )
        swap_in(cursor, topic_table)
        cursor.execute(
            f"""
            UPDATE {researcher_table} r SET
              works_count = COALESCE(c.works, 0), topics_count = COALESCE(c.topics, 0),
              followers_count = COALESCE(c.followers, 0)
            FROM {researcher_table} r2
            LEFT JOIN (
                SELECT id, SUM(works) AS works, SUM(topics) AS topics, SUM(followers) AS followers
                FROM (
                    SELECT a.researcher_id AS id, COUNT(*) AS works, 0 AS topics, 0 AS followers
                    FROM {authorship_table} a
                    JOIN {work_table} w ON w.id = a.work_id
                    WHERE {listed} GROUP BY a.researcher_id
                    UNION ALL
                    SELECT researcher_id, 0, COUNT(*), 0 FROM {topic_table} GROUP BY researcher_id
                    UNION ALL
                    SELECT researcher_id, 0, 0, COUNT(*) FROM {follow_table}
                    GROUP BY researcher_id
                ) parts GROUP BY id
            ) c ON c.id = r2.id
            WHERE r.id = r2.id AND (
              r.works_count, r.topics_count, r.followers_count
            ) IS DISTINCT FROM (
              COALESCE(c.works, 0), COALESCE(c.topics, 0), COALESCE(c.followers, 0)
            )
            """
        )
        changed = cursor.rowcount
    return changed


# --- trust ----------------------------------------------------------------------------


def recompute_trust(*, researcher_ids: Iterable[int]) -> int:
    """Compute and store trust for these researchers; returns how many changed."""
    changed = 0
    now = timezone.now()
    for chunk in chunked(sorted(set(researcher_ids)), size=500):
        identified = dict(
            Authorship.objects.filter(researcher_id__in=chunk, work__is_hidden=False)
            .filter(~Q(work__doi=None) | ~Q(work__arxiv_id=""))
            .exclude(listing.not_me_reported(OuterRef("researcher_id"), OuterRef("work_id")))
            .values_list("researcher_id")
            .annotate(n=Count("work_id", distinct=True))
        )
        verified = dict(
            CoauthorEdge.objects.filter(
                researcher_id__in=chunk, is_close=True, coauthor__owner__isnull=False
            )
            .values_list("researcher_id")
            .annotate(n=Count("id"))
        )
        # The owner's approved claim says how the record was claimed (the trust breakdown
        # names it).
        methods = {
            researcher_id: (method, reviewer_id is not None)
            for researcher_id, method, reviewer_id in Claim.objects.filter(
                researcher_id__in=chunk, status=Claim.Status.APPROVED, user=F("researcher__owner")
            ).values_list("researcher_id", "method", "reviewer_id")
        }
        to_update = []
        with transaction.atomic():
            for researcher in Researcher.objects.select_for_update().filter(pk__in=chunk):
                method, reviewed = methods.get(researcher.pk, ("", False))
                result = compute_trust(
                    TrustInputs(
                        verification_level=researcher.verification_level,
                        identified_works=identified.get(researcher.pk, 0),
                        close_collaborators=researcher.close_collaborators_count,
                        verified_close_collaborators=verified.get(researcher.pk, 0),
                        has_affiliation=researcher.last_known_institution_id is not None,
                        has_summary=bool(researcher.summary.strip()),
                        has_topics=researcher.topics_count > 0,
                        has_orcid=bool(researcher.orcid),
                        claim_method=method if researcher.owner_id else "",
                        claim_reviewed=reviewed,
                    )
                )
                if (
                    researcher.trust_score,
                    researcher.trust_band,
                    researcher.trust_components,
                ) == (
                    result.score,
                    result.band,
                    result.components,
                ) and researcher.trust_computed_at:
                    continue
                researcher.trust_score = result.score
                researcher.trust_band = result.band
                researcher.trust_components = result.components
                researcher.trust_computed_at = now
                to_update.append(researcher)
            Researcher.objects.bulk_update(
                to_update,
                ["trust_score", "trust_band", "trust_components", "trust_computed_at"],
            )
        changed += len(to_update)
    return changed


# --- citation metrics (the definitions: profiles/metrics.py) ------------------------------

METRICS_CHUNK = 20_000


def _recompute_sql(*, all_researchers: bool) -> str:
    researcher = Researcher._meta.db_table
    authorship = Authorship._meta.db_table
    work = Work._meta.db_table
    scope = "TRUE" if all_researchers else "a.researcher_id = ANY(%(ids)s)"
    target = "TRUE" if all_researchers else "b.id = ANY(%(ids)s)"
    # One pass over the listed works: rank each researcher's works by citations (the
    # h-index is the number of ranks r whose work has >= r citations), and sum each
    # work's yearly counts. Researchers without listed works get zeros.
    return f"""
    WITH listed AS (
      SELECT a.researcher_id, w.id AS work_id, COALESCE(w.cited_by_count, 0) AS cited,
             w.cited_by_count IS NOT NULL AS known, w.counts_by_year
      FROM {authorship} a
      JOIN {work} w ON w.id = a.work_id
      WHERE {scope} AND {listing.listed_sql("a", "w")}
    ),
    ranked AS (
      SELECT researcher_id, cited, known,
             ROW_NUMBER() OVER (PARTITION BY researcher_id ORDER BY cited DESC) AS rank
      FROM listed
    ),
    figures AS (
      SELECT researcher_id, SUM(cited) AS total,
             COUNT(*) FILTER (WHERE cited >= rank) AS h,
             COUNT(*) FILTER (WHERE cited >= {I10_THRESHOLD}) AS i10,
             COUNT(*) FILTER (WHERE known) AS known
      FROM ranked GROUP BY researcher_id
    ),
    yearly AS (
      SELECT researcher_id, jsonb_object_agg(year, n ORDER BY year) AS by_year
      FROM (
        SELECT l.researcher_id, (e->>'year')::int AS year, SUM((e->>'cited_by_count')::bigint) AS n
        FROM listed l, jsonb_array_elements(
          CASE WHEN jsonb_typeof(l.counts_by_year) = 'array' THEN l.counts_by_year
               ELSE '[]'::jsonb END) e
        WHERE e ? 'cited_by_count'
        GROUP BY 1, 2
      ) per_year
      GROUP BY researcher_id
    )
    UPDATE {researcher} r SET
      citations_count = m.total, h_index = m.h, i10_index = m.i10,
      works_with_citations = m.known,
      citations_by_year = m.by_year, metrics_computed_at = %(now)s
    FROM (
      SELECT b.id, COALESCE(f.total, 0) AS total, COALESCE(f.h, 0) AS h,
             COALESCE(f.i10, 0) AS i10, COALESCE(f.known, 0) AS known,
             COALESCE(y.by_year, '{{}}'::jsonb) AS by_year
      FROM {researcher} b
      LEFT JOIN figures f ON f.researcher_id = b.id
      LEFT JOIN yearly y ON y.researcher_id = b.id
      WHERE {target}
    ) m
    -- Unchanged rows are left alone (no write, no new row version).
    WHERE r.id = m.id AND (r.metrics_computed_at IS NULL
      OR (r.citations_count, r.h_index, r.i10_index, r.works_with_citations, r.citations_by_year)
         IS DISTINCT FROM (m.total, m.h, m.i10, m.known, m.by_year))
    """


def recompute_metrics(*, researcher_ids: Iterable[int] | None) -> int:
    """Store citations, h-index, i10-index and citations per year for these researchers
    (None: every researcher), in chunks of set-based SQL. Returns the rows updated."""
    now = timezone.now()
    updated = 0
    if researcher_ids is None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_recompute_sql(all_researchers=True), {"now": now})
            return cursor.rowcount
    sql = _recompute_sql(all_researchers=False)
    for chunk in chunked(sorted(set(researcher_ids)), size=METRICS_CHUNK):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"ids": chunk, "now": now})
            updated += cursor.rowcount
    return updated


# --- after any change: an import, a curation, a claim ------------------------------------


def refresh_derived_data(*, researcher_ids: Iterable[int]) -> set[int]:
    """Refresh counts, search documents and co-author edges now for the researchers a change
    touched, then queue trust and graph recomputation for them and for every researcher
    whose edges changed. Returns those researchers. (An import refreshes through
    `refresh_after_import`, in proportion to what it changed.)"""
    touched = set(researcher_ids)
    if not touched:
        return set()
    if should_rebuild_all(len(touched)):
        affected = _refresh_everything() | touched
    else:
        # Topics they carry before the recount: a topic they leave needs its count refreshed.
        topics_before = set(
            ResearcherTopic.objects.filter(researcher_id__in=touched).values_list(
                "topic_id", flat=True
            )
        )
        refresh_researcher_counts(researcher_ids=touched)
        refresh_search_documents(researcher_ids=touched, topic_ids=topics_before)
        affected = rebuild_coauthor_edges(researcher_ids=touched) | touched
    queue_recompute(researcher_ids=affected)
    return affected


def refresh_after_import(read: TouchedRecord) -> set[int]:
    """What an import changed (`read`: works.importer.touched), refreshed in proportion to
    the change: counts, per-topic rows and search documents of the researchers whose own
    rows moved (its recount ids), the co-author edges of the pairs of the changed works
    (with the authorships removed), then trust, metrics and slices queued for every
    touched researcher and every end of a changed edge. Returns those. A change touching
    a large share of the corpus (a first import) rebuilds everything instead, without
    reading the works. The importer hides, shows and merges nobody, so topic researcher
    counts move by the difference of the per-topic rows."""
    touched_ids = read.researcher_ids
    if not touched_ids and not read.works:
        return set()
    if should_rebuild_all(len(touched_ids)):
        affected = _refresh_everything() | touched_ids
    else:
        recount = sorted(read.recount_ids())
        refresh_researcher_counts(researcher_ids=recount, move_topic_counts=True)
        refresh_search_documents(researcher_ids=recount, recount_topics=False)
        edges_moved = refresh_coauthor_edges_of_works(
            work_ids=read.work_ids(), departed=read.departed_pairs()
        )
        affected = edges_moved | touched_ids
    queue_recompute(researcher_ids=affected)
    return affected


def _refresh_everything() -> set[int]:
    """Every count, document and edge, set-based in one pass each: cheaper than the paths
    above once the touched set is a large share of the corpus (a first import), and its
    cost grows linearly with the corpus. Returns the researchers with edges.

    Outside a transaction, the two longest fills (the per-topic rows, then the edges) run
    on a second connection while this one rebuilds the memberships, then swaps in the
    per-topic rows, writes the counts and the search documents, then swaps in the edges:
    each is a long statement on one core (at 1M works the refresh took 100 s instead of
    160 s). The fills lock nothing anyone writes; the swaps all happen here, one
    after the other: swapping a table drops its foreign keys, which locks the researchers'
    table, and two swaps in concurrent transactions deadlock. Inside a caller's
    transaction, whose uncommitted rows another connection cannot see, everything runs on
    this one."""
    if connection.in_atomic_block:
        refresh_all_researcher_counts()
        refresh_all_search_documents()
        return rebuild_coauthor_edges(researcher_ids=None)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="refresh") as pool:
        # The pool runs them in this order, one after the other.
        topics = pool.submit(_on_own_connection, fill_all_researcher_topics)
        edges = pool.submit(_on_own_connection, fill_all_coauthor_edges)
        # (On an error, leaving the pool waits for the second connection to be done.)
        refresh_all_memberships()
        topics.result()  # raises what the fill raised
        refresh_all_researcher_counts(topics_filled=True)
        refresh_all_search_documents(memberships=False)
        filled = edges.result()
    return set(rebuild_all_coauthor_edges(filled=filled).researcher_ids)


def _on_own_connection(function: Callable[[], T]) -> T:
    """Run `function` in this thread (a pool's) on the thread's own database connection,
    closed when it returns."""
    try:
        return function()
    finally:
        connections.close_all()


def queue_recompute(*, researcher_ids: Iterable[int]) -> bool:
    """Queue trust and graph-slice recomputation in the worker after the transaction commits.

    A broker outage must not undo the data change: it is logged, and `recompute` can be
    run again later (the admin's "recompute" action, or the next import). The task module
    is imported when called: it imports this module for what the worker runs."""
    from bzpeer.curation.tasks import recompute_researchers

    ids = sorted(set(researcher_ids))

    def enqueue() -> None:
        for chunk in chunked(ids, size=200):
            try:
                recompute_researchers.delay(chunk)
            except Exception:  # kombu raises several types when the broker is down
                logger.warning("Could not queue recomputation for %d researchers", len(chunk))
                return

    transaction.on_commit(enqueue)
    return True


def recompute_researchers(*, researcher_ids: Iterable[int]) -> None:
    """What the worker runs: citation metrics and trust for all, and a rebuild of the graph
    slices that exist (a slice nobody looked at yet is built when its page asks for it)."""
    ids = list(researcher_ids)
    recompute_metrics(researcher_ids=ids)
    recompute_trust(researcher_ids=ids)
    for researcher_id in GraphSlice.objects.filter(researcher_id__in=ids).values_list(
        "researcher_id", flat=True
    ):
        build_slice(researcher_id=researcher_id)
