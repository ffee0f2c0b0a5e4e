"""Timings against the loaded corpus: slice builds and served fragments."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.test import Client

from graph.services import build_slice
from profiles.models import Researcher


@dataclass(frozen=True)
class Timing:
    label: str
    runs: int
    median_ms: float
    p95_ms: float
    detail: str = ""


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p95 of 20 runs is the 19th fastest)."""
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def timed(label: str, action: Callable[[], object], runs: int, *, detail: str = "") -> Timing:
    action()  # warm-up: plans, caches, connection
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return Timing(label, runs, statistics.median(samples), percentile(samples, 0.95), detail=detail)


def researchers_near(works: int, *, limit: int) -> list[Researcher]:
    """The planted researcher with exactly this many works, then others within 10%."""
    planted = list(
        Researcher.objects.filter(display_name=f"Planted {works}").select_related(
            "last_known_institution"
        )
    )
    low, high = int(works * 0.9), int(works * 1.1) + 1
    others = (
        Researcher.objects.filter(works_count__gte=low, works_count__lte=high)
        .exclude(pk__in=[r.pk for r in planted])
        .select_related("last_known_institution")
        .order_by("id")[: max(0, limit - len(planted))]
    )
    return [*planted, *others]


def slice_build(researchers: list[Researcher], runs: int, label: str) -> Timing:
    """A full rebuild (force): fingerprint, every ranked query, the write."""
    samples: list[float] = []
    for researcher in researchers:
        build_slice(researcher_id=researcher.pk, force=True)  # warm-up
        for _ in range(runs):
            started = time.perf_counter()
            build_slice(researcher_id=researcher.pk, force=True)
            samples.append((time.perf_counter() - started) * 1000)
    works = ", ".join(str(r.works_count) for r in researchers)
    return Timing(
        label,
        len(samples),
        statistics.median(samples),
        percentile(samples, 0.95),
        detail=f"{len(researchers)} researcher(s) with {works} works",
    )


def unchanged_build(researcher: Researcher, runs: int, label: str) -> Timing:
    build_slice(researcher_id=researcher.pk)
    return timed(label, lambda: build_slice(researcher_id=researcher.pk), runs)


def served(client: Client, url: str, runs: int, label: str, **headers: str) -> Timing:
    def get() -> None:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)

    return timed(label, get, runs)


def explain(sql_source: Callable[[], object]) -> str:
    """EXPLAIN ANALYZE output of the queries one call runs (for profiling by hand)."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        sql_source()
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            plans.append(sql + "\n" + "\n".join(row[0] for row in cursor.fetchall()))
    return "\n\n".join(plans)
