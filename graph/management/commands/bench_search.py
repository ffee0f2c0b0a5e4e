"""`manage.py bench_search` (part of `make bench`): search timings on the benchmark corpus.

1. Uses the benchmark database and corpus of `bench_graph` (BENCH_DATABASE, BENCH_WORKS),
   building it first when it is missing (the same code and corpus).
2. Fills the researcher search documents once for the corpus (timed, set-based, the
   refresh an import runs), unless every researcher has one; then merges the pending
   lists of the search GIN indexes (what autovacuum does on a running site).
3. Times, warm (one untimed run of each query first), median and p95 over BENCH_RUNS
   runs per measurement (at least 50), cycling through five queries of each kind taken
   from the corpus: (a) a full name, (b) a surname alone, (c) a full name with one typo,
   (d) two words of a title, (e) an ORCID iD; each on the results page (/search/, an
   ORCID answers with its redirect) and on the as-you-type fragment (HX-Request), through
   Django's test client, every middleware included.
4. Prints the figures and writes them into docs/benchmarks.md between its own markers.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from bzpeer.search.documents import refresh_all_search_documents
from graph.bench import measure
from graph.management.commands import bench_graph
from profiles.models import (
    Researcher,
    ResearcherInstitution,
    ResearcherSearch,
    ResearcherTopic,
    SearchWord,
)
from works.models import Work

START, END = "<!-- search-bench:start -->", "<!-- search-bench:end -->"
FRAGMENT_TARGET_MS = 50.0
PAGE_TARGET_MS = 100.0
SAMPLES = 5  # queries of each kind, cycled through the runs
SEARCH_GIN_INDEXES = (
    "work_title_search_doc_0",
    "work_title_search_doc_1",
    "work_title_search_doc_2",
    "researcher_search_doc",
    "search_word_trgm",
    "topic_name_trgm",
    "institution_name_trgm",
)


@dataclass(frozen=True)
class QueryKind:
    label: str
    queries: list[str]


def _typo(name: str) -> str:
    """One typo in the longest word: two neighbouring letters swapped in its middle."""
    words = name.split()
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    if len(word) >= 4:
        middle = len(word) // 2
        word = word[: middle - 1] + word[middle] + word[middle - 1] + word[middle + 1 :]
    words[longest] = word
    return " ".join(words)


def sample_queries() -> list[QueryKind]:
    """Five queries of each kind from records spread over the corpus (deterministic)."""
    count = Researcher.objects.count()
    step = max(1, count // (SAMPLES + 1))
    people = []
    for pk in range(step, count, step):
        researcher = (
            Researcher.objects.filter(pk__gte=pk, display_name__contains=" ")
            .exclude(display_name__startswith="Planted")
            .order_by("pk")
            .first()
        )
        if researcher:
            people.append(researcher)
    people = people[:SAMPLES]
    with_orcid = [
        orcid
        for orcid in (
            Researcher.objects.filter(pk__gte=r.pk, orcid__isnull=False)
            .order_by("pk")
            .values_list("orcid", flat=True)
            .first()
            for r in people
        )
        if orcid
    ]
    work_count = Work.objects.count()
    titles = []
    for pk in range(1, work_count, max(1, work_count // SAMPLES)):
        work = Work.objects.filter(pk__gte=pk).order_by("pk").first()
        if work:
            titles.append(" ".join(work.title.split()[1:3]))
    return [
        QueryKind("full name", [r.display_name for r in people]),
        QueryKind("surname", [r.display_name.split()[-1] for r in people]),
        QueryKind("name with a typo", [_typo(r.display_name) for r in people]),
        QueryKind("two title words", titles[:SAMPLES]),
        QueryKind("ORCID iD", with_orcid),
    ]


def timed_queries(
    client: Client, path: str, queries: list[str], runs: int, label: str, **headers: str
) -> measure.Timing:
    def get(query: str) -> None:
        response = client.get(path, {"q": query}, headers=headers)
        assert response.status_code in {200, 302}, (path, query, response.status_code)

    for query in queries:  # warm: plans, caches, the connection
        get(query)
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        get(queries[i % len(queries)])
        samples.append((time.perf_counter() - started) * 1000)
    return measure.Timing(
        label,
        runs,
        statistics.median(samples),
        measure.percentile(samples, 0.95),
        detail="; ".join(f"`{q}`" for q in queries),
    )


class Command(bench_graph.Command):
    help = "Benchmark search (results page and as-you-type fragment) on the bench corpus."

    def handle(self, *args: Any, **options: Any) -> None:
        self.switch_database(options["database"])
        corpus_id = bench_graph.corpus_label(options["works"])
        phases = None if options["regenerate"] else self.loaded(corpus_id)
        if phases is None:
            phases = self.build_corpus(options["works"], corpus_id)
        setup = self.search_documents()
        settle_search_indexes()
        runs = max(options["runs"], 50)
        with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            results = self.measure_search(runs)
        facts = self.facts(phases)
        report = render(facts, setup, results)
        self.say("\n" + report)
        if not options["no_report"]:
            bench_graph.write_report(report, start=START, end=END)
            self.say(f"Written to {bench_graph.REPORT.relative_to(settings.BASE_DIR)}")

    def search_documents(self) -> str:
        researchers = Researcher.objects.count()
        if ResearcherSearch.objects.count() == researchers:
            return "search documents already built"
        self.say(f"Building search documents for {researchers:,} researchers…")
        started = time.perf_counter()
        refresh_all_search_documents()
        with connection.cursor() as cursor:
            # What autovacuum does on a running site: statistics, and the visibility map
            # (the filter counts read membership and topics by index only).
            for model in (ResearcherSearch, SearchWord, ResearcherInstitution, ResearcherTopic):
                cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
        seconds = time.perf_counter() - started
        self.say(f"  in {seconds:.0f}s")
        return f"search documents and institution membership built in {seconds:.0f} s"

    def measure_search(self, runs: int) -> list[measure.Timing]:
        client = Client()
        results = []
        for kind in sample_queries():
            for path, surface, headers in (
                (reverse("search"), "results page", {}),
                (reverse("search_suggestions"), "fragment", {"HX-Request": "true"}),
            ):
                timing = timed_queries(
                    client, path, kind.queries, runs, f"{surface}: {kind.label}", **headers
                )
                results.append(timing)
                self.say(
                    f"{timing.label}: median {timing.median_ms:.1f} ms, p95 {timing.p95_ms:.1f} ms"
                )
        return results


def settle_search_indexes() -> None:
    """Merge the pending lists of the search GIN indexes into the indexes, as autovacuum
    does on a running site. A bulk load (the corpus COPY, the documents' build) leaves
    its entries in those lists, which every query then reads in full, and a manual
    ANALYZE does not merge them. A no-op when nothing is pending."""
    with connection.cursor() as cursor:
        for index in SEARCH_GIN_INDEXES:
            cursor.execute("SELECT gin_clean_pending_list(to_regclass(%s))", [index])


def _verdict(timing: measure.Timing) -> str:
    target = FRAGMENT_TARGET_MS if timing.label.startswith("fragment") else PAGE_TARGET_MS
    return f"p95 ≤ {target:.0f} ms: {'met' if timing.p95_ms <= target else 'MISSED'}"


def render(facts: dict[str, str], setup: str, results: list[measure.Timing]) -> str:
    lines = [
        f"Run of {facts['date']} on {facts['machine']}; CPU: {facts['cpu']}; "
        f"{facts['postgres']}; Python {facts['python']}; database `{facts['database']}`.",
        "",
        f"Corpus: {facts['works']} works, {facts['researchers']} researchers "
        f"({facts['authorships']} authorships); {setup}.",
        "",
        "| measurement | runs | median | p95 | target | queries (cycled) |",
        "|---|---:|---:|---:|---|---|",
    ]
    for t in results:
        lines.append(
            f"| {t.label} | {t.runs} | {t.median_ms:.1f} ms | {t.p95_ms:.1f} ms "
            f"| {_verdict(t)} | {t.detail} |"
        )
    return "\n".join(lines)
