"""`manage.py bench_graph` (`make bench`): the graph benchmark. Not a test.

1. Creates the benchmark database (BENCH_DATABASE, default bzpeer_bench) beside the
   configured one, migrates it, and switches this process to it: the configured
   database is never written.
2. Generates the corpus (BENCH_WORKS works, default 1,000,000; see graph/bench/corpus.py)
   and loads it with COPY, unless the same corpus is already loaded (--regenerate forces).
3. Rebuilds every co-author edge (timed), then times slice builds for researchers with
   about 20, 200 and 5,000 works (median and p95 over BENCH_RUNS runs each), an
   unchanged rebuild, and serving a ready slice fragment, the explorer page and a
   neighbours JSON through Django's test client (middleware included); then the citation
   metrics recompute for every researcher and the 5,000-work profile's streamed BibTeX
   export with its peak memory (graph/bench/record.py).
4. Prints the figures and writes them into docs/benchmarks.md (between its markers).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from bzpeer.curation.derived import recompute_metrics
from graph.bench import corpus, load, measure, record
from graph.edges import rebuild_all_coauthor_edges
from graph.models import CoauthorEdge
from graph.services import build_slice
from profiles.models import Researcher
from works.models import Authorship, Work

TARGETS_MS = {20: None, 200: 150.0, 5_000: 1_000.0}
SERVE_TARGET_MS = 10.0
REPORT = Path(settings.BASE_DIR) / "docs" / "benchmarks.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def corpus_label(works: int) -> str:
    """The marker of a loaded corpus: same size, seed and generator version, same corpus."""
    return f"bench corpus: works={works} seed=42 v3"


class Command(BaseCommand):
    help = "Benchmark graph slice builds and fragment serving on a synthetic corpus."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--works", type=int, default=int(os.environ.get("BENCH_WORKS", 1_000_000))
        )
        parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 20)))
        parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE", "bzpeer_bench"))
        parser.add_argument("--regenerate", action="store_true")
        parser.add_argument("--no-report", action="store_true", help="do not touch docs/")
        parser.add_argument(
            "--explain", action="store_true", help="print EXPLAIN ANALYZE of the 5,000 build"
        )

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        self.switch_database(options["database"])
        corpus_id = corpus_label(options["works"])
        phases = None if options["regenerate"] else self.loaded(corpus_id)
        if phases is None:
            phases = self.build_corpus(options["works"], corpus_id)
        else:
            self.say("Corpus already loaded (use --regenerate to build it again)")
        with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            results = self.measure(options["runs"], options["explain"])
        facts = self.facts(phases)
        report = render(facts, results)
        self.say("\n" + report)
        if not options["no_report"]:
            write_report(report)
            self.say(f"Written to {REPORT.relative_to(settings.BASE_DIR)}")

    # --- the database ------------------------------------------------------------------------

    def switch_database(self, name: str) -> None:
        current = connection.settings_dict
        if name == current["NAME"] or "bench" not in name:
            raise CommandError(f"Refusing to use {name!r}: the name must contain 'bench'.")
        params = {
            "host": current.get("HOST") or None,
            "port": current.get("PORT") or None,
            "user": current.get("USER") or None,
            "password": current.get("PASSWORD") or None,
            "dbname": "postgres",
            **{k: v for k, v in (current.get("OPTIONS") or {}).items() if k in {"host"}},
        }
        with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            if not exists:
                admin.execute(f'CREATE DATABASE "{name}"')
                self.say(f"Created database {name}")
        connection.close()
        current["NAME"] = name
        settings.DATABASES["default"]["NAME"] = name
        # Some apps print or log while migrating (trigger installs): not benchmark output.
        quiet = logging.getLogger("pgtrigger")
        level = quiet.level
        quiet.setLevel(logging.WARNING)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                call_command("migrate", verbosity=0, interactive=False)
        finally:
            quiet.setLevel(level)
        self.say(f"Using database {name} (migrated)")

    def loaded(self, corpus_id: str) -> dict[str, float] | None:
        """The setup times of the corpus already loaded at this size, or None. The marker
        (and those times) sit in the planted 5,000-work researcher's summary."""
        planted = Researcher.objects.filter(display_name="Planted 5000").first()
        if not planted or not CoauthorEdge.objects.exists():
            return None
        marker, _, setup = planted.summary.partition("\n")
        if marker != corpus_id:
            return None
        try:
            return {str(k): float(v) for k, v in json.loads(setup or "{}").items()}
        except (ValueError, AttributeError):
            return {}

    def build_corpus(self, works: int, corpus_id: str) -> dict[str, float]:
        phases = {}
        scale = corpus.Scale.for_works(works)
        with tempfile.TemporaryDirectory(prefix="bzpeer-bench-") as directory:
            started = time.perf_counter()
            generator = corpus.Corpus(scale, Path(directory))
            self.say(f"Generating {works:,} works, {scale.researchers:,} researchers…")
            generator.generate()
            phases["generate"] = time.perf_counter() - started
            self.say(f"  {generator.stats.authorships:,} authorships in {phases['generate']:.0f}s")
            started = time.perf_counter()
            load.truncate_all()
            for name, rows in self.write_small_tables(generator, Path(directory)).items():
                self.say(f"  {name}: {rows:,}")
            counts = load.load(Path(directory))
            phases["copy"] = time.perf_counter() - started
            self.say(f"  COPY of {sum(counts.values()):,} rows in {phases['copy']:.0f}s")
        started = time.perf_counter()
        load.derive_counts()
        phases["counts"] = time.perf_counter() - started
        self.say(f"  researcher topics and counts in {phases['counts']:.0f}s")
        started = time.perf_counter()
        stats = rebuild_all_coauthor_edges()
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {CoauthorEdge._meta.db_table}")
        phases["edges"] = time.perf_counter() - started
        self.say(f"  {stats.edges:,} edge rows rebuilt in {phases['edges']:.0f}s")
        Researcher.objects.filter(display_name="Planted 5000").update(
            summary=f"{corpus_id}\n{json.dumps(phases)}"
        )
        return phases

    def write_small_tables(self, generator: corpus.Corpus, directory: Path) -> dict[str, int]:
        written = {}
        for name, rows in (
            ("institutions", generator.institutions()),
            ("venues", generator.venues()),
            ("topics", generator.topics()),
        ):
            count = 0
            with (directory / f"{name}.tsv").open("w") as out:
                for row in rows:
                    out.write("\t".join(str(v) for v in row) + "\n")
                    count += 1
            written[name] = count
        return written

    # --- the timings ----------------------------------------------------------------------------

    def measure(self, runs: int, explain: bool) -> list[measure.Timing]:
        results = []
        client = Client()
        for works in TARGETS_MS:
            people = measure.researchers_near(works, limit=3 if works < 5_000 else 1)
            if not people:
                self.say(f"No researcher with about {works} works")
                continue
            timing = measure.slice_build(people, runs, f"slice build, ~{works:,} works")
            results.append(timing)
            self.say(
                f"{timing.label}: median {timing.median_ms:.1f} ms, p95 {timing.p95_ms:.1f} ms"
            )
        big = measure.researchers_near(5_000, limit=1)[0]
        if explain:
            self.say(measure.explain(lambda: build_slice(researcher_id=big.pk, force=True)))
        results.append(measure.unchanged_build(big, runs, "unchanged rebuild (no-op), 5,000 works"))
        for works in TARGETS_MS:
            researcher = measure.researchers_near(works, limit=1)[0]
            build_slice(researcher_id=researcher.pk)
            results.append(
                measure.served(
                    client,
                    f"/researchers/{researcher.pk}/graph/slice/",
                    max(runs, 200),
                    f"serve ready slice fragment, {works:,} works",
                    HX_Request="true",
                )
            )
        results.append(
            measure.served(
                client,
                f"/researchers/{big.pk}/graph/",
                max(runs, 100),
                "explorer page, 5,000 works",
            )
        )
        results.append(
            measure.served(
                client,
                f"/graph/nodes/researcher:{big.pk}/neighbours.json",
                max(runs, 100),
                "neighbours JSON, 5,000 works",
            )
        )
        for timing in results[len(TARGETS_MS) :]:
            self.say(
                f"{timing.label}: median {timing.median_ms:.1f} ms, p95 {timing.p95_ms:.1f} ms"
            )
        results += self.measure_record(client, big, runs)
        return results

    def measure_record(self, client: Client, big: Researcher, runs: int) -> list[record.Timing]:
        seconds = record.fill_counts_by_year()
        if seconds:
            self.say(f"Per-year citation counts filled in {seconds:.0f}s")
        timings = record.metrics_recompute(recompute_metrics)
        export, _ = record.bibtex_export(client, big, max(3, runs // 4))
        timings.append(export)
        for timing in timings:
            self.say(f"{timing.label}: {timing.median_ms:.1f} ms ({timing.detail})")
        return timings

    def facts(self, phases: dict[str, float]) -> dict[str, str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            (version,) = cursor.fetchone()
            cursor.execute(f"SELECT COUNT(*) FROM {Work._meta.db_table} WHERE team_size > 100")
            (hyper,) = cursor.fetchone()
        facts = {
            "date": timezone.now().strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} CPU(s) (nproc), {_ram()} RAM, {platform.platform()}",
            "cpu": _cpu_model(),
            "postgres": version.split(" on ")[0],
            "python": platform.python_version(),
            "database": connection.settings_dict["NAME"],
            "works": f"{Work.objects.count():,}",
            "authorships": f"{Authorship.objects.count():,}",
            "researchers": f"{Researcher.objects.count():,}",
            "hyper": f"{hyper:,}",
            "edges": f"{CoauthorEdge.objects.count():,}",
        }
        for phase, seconds in phases.items():
            facts[f"phase_{phase}"] = f"{seconds:.0f} s"
        return facts


def _ram() -> str:
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
        return f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _verdict(timing: measure.Timing) -> str:
    for works, target in TARGETS_MS.items():
        if timing.label == f"slice build, ~{works:,} works" and target:
            return f"≤ {target:.0f} ms median: {'met' if timing.median_ms <= target else 'MISSED'}"
    if timing.label == "metrics recompute, every researcher":
        ok = timing.median_ms <= record.METRICS_TARGET_S * 1000
        return f"≤ {record.METRICS_TARGET_S:.0f} s: {'met' if ok else 'MISSED'}"
    if timing.label.startswith("serve ready slice"):
        ok = timing.median_ms <= SERVE_TARGET_MS
        return f"≤ {SERVE_TARGET_MS:.0f} ms: {'met' if ok else 'MISSED'}"
    return ""


def render(facts: dict[str, str], results: list[measure.Timing]) -> str:
    lines = [
        f"Run of {facts['date']} on {facts['machine']}; CPU: {facts['cpu']}; "
        f"{facts['postgres']}; Python {facts['python']}; database `{facts['database']}`.",
        "",
        f"Corpus: {facts['works']} works, {facts['authorships']} authorships, "
        f"{facts['researchers']} researchers, {facts['hyper']} hyper-authored works "
        f"(> 100 authors), {facts['edges']} co-author edge rows (both directions).",
    ]
    phases = [f"{k[6:]} {v}" for k, v in facts.items() if k.startswith("phase_")]
    if phases:
        lines += ["", "Setup (when this corpus was loaded): " + ", ".join(phases) + "."]
    lines += [
        "",
        "| measurement | runs | median | p95 | target | what |",
        "|---|---:|---:|---:|---|---|",
    ]
    for t in results:
        lines.append(
            f"| {t.label} | {t.runs} | {t.median_ms:.1f} ms | {t.p95_ms:.1f} ms "
            f"| {_verdict(t)} | {t.detail} |"
        )
    return "\n".join(lines)


def write_report(report: str, *, start: str = START, end: str = END) -> None:
    block = f"{start}\n{report}\n{end}"
    text = REPORT.read_text() if REPORT.exists() else f"# Benchmarks\n\n{start}\n{end}\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    REPORT.write_text(text)
