"""Citation metrics computed by us from the works a profile lists.

1. The listed works are those the profile shows: not hidden by a curator and not reported
   "not me" by the owner. A work without a citation count counts as 0 citations.
2. h-index: the largest h such that h listed works have at least h citations each.
3. i10-index: listed works with at least 10 citations.
4. Citations per year: the sum over listed works of each work's counts by year.
The pure functions state the definitions; `recompute_metrics` computes the same figures in
SQL for a whole set of researchers at once (window functions, no per-researcher loop).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from bzpeer.utils import chunked
from claims.models import NotMeReport
from profiles.models import Researcher
from works.models import Authorship, Work

I10_THRESHOLD = 10
RECOMPUTE_CHUNK = 20_000


def h_index(citations: Iterable[int | None]) -> int:
    ranked = sorted((c or 0 for c in citations), reverse=True)
    return sum(1 for rank, count in enumerate(ranked, start=1) if count >= rank)


def i10_index(citations: Iterable[int | None]) -> int:
    return sum(1 for c in citations if (c or 0) >= I10_THRESHOLD)


def citations_per_year(counts: Iterable[list[dict] | None]) -> dict[str, int]:
    """{"2023": 41, ...} summed over works' counts_by_year (keys are strings, as in JSON)."""
    totals: dict[int, int] = {}
    for rows in counts:
        for row in rows or []:
            if row.get("cited_by_count") is not None:
                totals[row["year"]] = totals.get(row["year"], 0) + row["cited_by_count"]
    return {str(year): totals[year] for year in sorted(totals)}


def _recompute_sql(*, all_researchers: bool) -> str:
    researcher = Researcher._meta.db_table
    authorship = Authorship._meta.db_table
    work = Work._meta.db_table
    not_me = NotMeReport._meta.db_table
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
      JOIN {work} w ON w.id = a.work_id AND NOT w.is_hidden
      WHERE {scope}
        AND NOT EXISTS (SELECT 1 FROM {not_me} nm
                        WHERE nm.researcher_id = a.researcher_id AND nm.work_id = a.work_id
                          AND nm.status IN ('pending', 'accepted'))
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
    from django.utils import timezone

    now = timezone.now()
    updated = 0
    if researcher_ids is None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_recompute_sql(all_researchers=True), {"now": now})
            return cursor.rowcount
    sql = _recompute_sql(all_researchers=False)
    for chunk in chunked(sorted(set(researcher_ids)), size=RECOMPUTE_CHUNK):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"ids": chunk, "now": now})
            updated += cursor.rowcount
    return updated
