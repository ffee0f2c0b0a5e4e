"""Citation metrics computed by us from the works a profile lists.

1. The listed works are those the profile shows: not hidden by a curator and not reported
   "not me" by the owner. A work whose source record gives no citation count is left out:
   its citations are not known (absent is not zero), so every figure is that of the listed
   works with a known count, and the page says how many those are. (Ranking an unknown
   count as 0 gives the same h-index and i10-index, which is what the SQL does.)
2. h-index: the largest h such that h listed works have at least h citations each.
3. i10-index: listed works with at least 10 citations.
4. Citations per year: the sum over listed works of each work's counts by year.
These pure functions state the definitions; bzpeer.curation.derived.recompute_metrics
computes the same figures in SQL for a whole set of researchers at once (window functions,
no per-researcher loop), and the tests hold the two to each other.
"""

from __future__ import annotations

from collections.abc import Iterable

I10_THRESHOLD = 10


def h_index(citations: Iterable[int | None]) -> int:
    ranked = sorted((c for c in citations if c is not None), reverse=True)
    return sum(1 for rank, count in enumerate(ranked, start=1) if count >= rank)


def i10_index(citations: Iterable[int | None]) -> int:
    return sum(1 for c in citations if c is not None and c >= I10_THRESHOLD)


def citations_per_year(counts: Iterable[list[dict] | None]) -> dict[str, int]:
    """{"2023": 41, ...} summed over works' counts_by_year (keys are strings, as in JSON)."""
    totals: dict[int, int] = {}
    for rows in counts:
        for row in rows or []:
            if row.get("cited_by_count") is not None:
                totals[row["year"]] = totals.get(row["year"], 0) + row["cited_by_count"]
    return {str(year): totals[year] for year in sorted(totals)}
