"""Timings of the scholarly record against the loaded corpus: the citation metrics
recompute for every researcher, and a 5,000-work profile's streamed BibTeX export."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterable

from django.db import connection
from django.test import Client

from graph.bench.measure import Timing
from profiles.models import Researcher
from works.models import Work

METRICS_TARGET_S = 120.0
YEARS_OF_COUNTS = 3


def fill_counts_by_year() -> float:
    """Give every work without one a per-year split of its citations (the corpus has
    totals only), so the recompute sums real JSON arrays. Returns seconds; 0 when done."""
    if not Work.objects.filter(counts_by_year__isnull=True).exists():
        return 0.0
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Work._meta.db_table} SET counts_by_year = (
              SELECT jsonb_agg(jsonb_build_object(
                'year', COALESCE(publication_year, 2020) + k,
                'cited_by_count', COALESCE(cited_by_count, 0) / {YEARS_OF_COUNTS}))
              FROM generate_series(0, {YEARS_OF_COUNTS - 1}) k)
            WHERE counts_by_year IS NULL
            """
        )
        cursor.execute(f"ANALYZE {Work._meta.db_table}")
    return time.perf_counter() - started


def metrics_recompute(recompute_metrics: Callable[..., int]) -> list[Timing]:
    """One full recompute from scratch (metrics cleared first), then one with nothing to
    change. Single runs: each takes tens of seconds. The caller passes the worker's
    function (bzpeer.curation.derived.recompute_metrics: curation sits above graph)."""
    researchers = Researcher.objects.count()
    Researcher.objects.update(metrics_computed_at=None)
    started = time.perf_counter()
    updated = recompute_metrics(researcher_ids=None)
    full = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    unchanged = recompute_metrics(researcher_ids=None)
    again = (time.perf_counter() - started) * 1000
    return [
        Timing(
            "metrics recompute, every researcher",
            1,
            full,
            full,
            detail=f"{researchers:,} researchers, {updated:,} rows written",
        ),
        Timing(
            "metrics recompute, nothing changed",
            1,
            again,
            again,
            detail=f"{unchanged:,} rows written",
        ),
    ]


def bibtex_export(client: Client, researcher: Researcher, runs: int) -> tuple[Timing, int]:
    """GET the profile's BibTeX export and read the whole stream; returns the timing and
    the peak Python memory allocated while serving one request (tracemalloc)."""
    url = f"/researchers/{researcher.pk}/works.bibtex"

    def get() -> int:
        response = client.get(url)
        assert response.status_code == 200 and response.streaming
        chunks: Iterable[bytes] = response.streaming_content  # type: ignore[attr-defined]
        return sum(len(chunk) for chunk in chunks)

    size = get()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        get()
        samples.append((time.perf_counter() - started) * 1000)
    tracemalloc.start()
    try:
        get()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    samples.sort()
    median = samples[len(samples) // 2]
    p95 = samples[min(len(samples) - 1, round(0.95 * len(samples) + 0.4999) - 1)]
    detail = (
        f"{researcher.works_count:,} works, {size / 1024:,.0f} KiB, "
        f"peak Python memory {peak / 1024 / 1024:.1f} MiB"
    )
    return Timing("BibTeX export, 5,000 works (streamed)", runs, median, p95, detail), peak
