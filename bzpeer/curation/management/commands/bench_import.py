"""`manage.py bench_import` (`make bench-import`): the OpenAlex import benchmark. Not a test.

1. Switches to its own database (BENCH_IMPORT_DATABASE, default bzpeer_bench_import, on
   the configured server), migrates it and empties every table the import fills.
2. Writes an OpenAlex-shaped snapshot tree from the benchmark corpus generator
   (graph/bench/snapshot.py; BENCH_WORKS works, default 1,000,000).
3. Imports it end to end with `manage.py import_openalex ROOT --workers N` in a child
   process (derived data included) and reads the child's wall time, per-phase times and
   peak RSS (the largest of the importer and its worker processes). Every timed step
   but the first changed works starts after a CHECKPOINT: none pays for an earlier one's
   writes.
4. 1,000 changed works as a newer partition (titles changed, one author dropped each),
   into the corpus with its derived data in place: once right after the first import,
   while Postgres and the kernel still write it back (reported, not held to the target),
   and once settled, after a rerun of the same snapshot (the target's figure).
5. The floor: the rows the import wrote are copied out of every table it filled, the
   tables emptied, and the same rows COPY'd back into the same tables, timed; then the
   full co-author edge rebuild and per-researcher counts.
6. Last, the first import of a smaller corpus (BENCH_COMPARE_WORKS works, default
   100,000; 0 skips it) into a database of its own (the name + "_small"): the cost per
   work at both sizes, measured in the same run.
7. Prints the figures and writes them into docs/benchmarks.md (between its markers).
"""

from __future__ import annotations

import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, models

from bzpeer.curation.derived import refresh_all_researcher_counts
from graph.bench import corpus as corpus_module
from graph.bench.snapshot import UPDATED, write_snapshot
from graph.edges import rebuild_all_coauthor_edges
from graph.management.commands.bench_graph import Command as GraphBench
from graph.management.commands.bench_graph import _cpu_model, _ram
from graph.models import CoauthorEdge
from profiles.models import Researcher, ResearcherTopic
from works.models import (
    Authorship,
    ImportedPart,
    Institution,
    Source,
    Topic,
    TouchedResearcher,
    Work,
)

REPORT = Path(settings.BASE_DIR) / "docs" / "benchmarks.md"
START, END = "<!-- bench-import:start -->", "<!-- bench-import:end -->"
CHANGED_WORKS = 1_000
# Tables the import fills, parents first (the floor copies them back in this order).
FILLED: list[type[models.Model]] = [
    Institution,
    Source,
    Topic,
    Researcher,
    Work,
    Work.topics.through,
    Authorship,
    Authorship.institutions.through,
]


class Command(BaseCommand):
    help = "Benchmark the OpenAlex snapshot import on an OpenAlex-shaped synthetic snapshot."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--works", type=int, default=int(os.environ.get("BENCH_WORKS", 1_000_000))
        )
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("BENCH_IMPORT_WORKERS", 2))
        )
        parser.add_argument(
            "--database",
            default=os.environ.get("BENCH_IMPORT_DATABASE", "bzpeer_bench_import"),
        )
        parser.add_argument(
            "--compare-works",
            type=int,
            default=int(os.environ.get("BENCH_COMPARE_WORKS", 100_000)),
            help="also import a corpus this size (first import only, its own database) "
            "and compare the cost per work; 0 skips it",
        )
        parser.add_argument("--keep", help="write the snapshot here and keep it")
        parser.add_argument("--no-report", action="store_true", help="do not touch docs/")

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        GraphBench.switch_database(self, options["database"])  # type: ignore[arg-type]
        self.empty()
        works = options["works"]
        figures: dict[str, Any] = {"works": works, "workers": options["workers"]}
        with tempfile.TemporaryDirectory(prefix="bzpeer-bench-import-") as scratch:
            base = Path(options["keep"] or scratch)
            base.mkdir(parents=True, exist_ok=True)
            root = base / "snapshot"
            started = time.perf_counter()
            corpus = corpus_module.Corpus(corpus_module.Scale.for_works(works), base)
            corpus.generate()
            stats = write_snapshot(corpus, root)
            figures["generate_s"] = time.perf_counter() - started
            figures["snapshot_bytes"] = stats.bytes
            figures["parts"] = stats.parts
            self.say(
                f"Snapshot: {works:,} works, {corpus.stats.authorships:,} authorships, "
                f"{stats.parts} parts, {stats.bytes / 1e6:,.0f} MB gzipped, written in "
                f"{figures['generate_s']:.0f}s"
            )
            first = self.run_import(root, options["workers"])
            figures["import"] = first
            self.say(f"Import: {first['wall_s']:.0f}s, {works / first['wall_s']:,.0f} works/s")
            figures["rows"] = self.row_counts()
            self.write_changes(root, "2025-06-01", source_part=0)
            busy = self.run_import(root, options["workers"], settled=False)
            figures["changed_busy"] = busy
            self.say(
                f"{CHANGED_WORKS:,} changed works right after the import: {busy['wall_s']:.1f}s"
            )
            rerun = self.run_import(root, options["workers"])
            figures["rerun_s"] = rerun["wall_s"]
            self.say(f"Rerun: {rerun['wall_s']:.1f}s")
            self.write_changes(root, "2025-07-01", source_part=1)
            changed = self.run_import(root, options["workers"])
            figures["changed"] = changed
            self.say(f"{CHANGED_WORKS:,} changed works, settled: {changed['wall_s']:.1f}s")
            # After the incremental run: emptying the tables for the floor (TRUNCATE ...
            # CASCADE) also empties the derived tables (edges, per-topic rows, search
            # documents), and a change imported after it would rebuild them from nothing.
            figures["floor_s"] = self.copy_floor(Path(scratch))
            self.say(f"COPY floor: {figures['floor_s']:.0f}s")
        started = time.perf_counter()
        rebuild_all_coauthor_edges()
        figures["edges_s"] = time.perf_counter() - started
        started = time.perf_counter()
        refresh_all_researcher_counts()
        figures["counts_s"] = time.perf_counter() - started
        figures["edge_rows"] = CoauthorEdge.objects.count()
        self.say(f"Full edge rebuild {figures['edges_s']:.0f}s, counts {figures['counts_s']:.0f}s")
        smaller = options["compare_works"]
        if 0 < smaller < works:
            figures["smaller"] = self.smaller_import(
                smaller, options["workers"], f"{options['database']}_small"
            )
            self.say(f"First import of {smaller:,} works: {figures['smaller']['wall_s']:.1f}s")
        report = render(figures, self.facts())
        self.say("\n" + report)
        if not options["no_report"]:
            write_report(report)
            self.say(f"Written to {REPORT.relative_to(settings.BASE_DIR)}")

    # --- steps --------------------------------------------------------------------------------

    def smaller_import(self, works: int, workers: int, database: str) -> dict[str, Any]:
        """The first import of a corpus of `works` works into a database of its own, last,
        on a machine as quiet as for the large one: the cost per work to compare with."""
        GraphBench.switch_database(self, database)  # type: ignore[arg-type]
        self.empty()
        with tempfile.TemporaryDirectory(prefix="bzpeer-bench-import-small-") as scratch:
            base = Path(scratch)
            corpus = corpus_module.Corpus(corpus_module.Scale.for_works(works), base)
            corpus.generate()
            write_snapshot(corpus, base / "snapshot")
            return {"works": works, **self.run_import(base / "snapshot", workers)}

    def empty(self) -> None:
        emptied: list[type[models.Model]] = [
            *FILLED,
            ResearcherTopic,
            CoauthorEdge,
            ImportedPart,
            TouchedResearcher,
        ]
        tables = [m._meta.db_table for m in emptied]
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")

    def run_import(self, root: Path, workers: int, *, settled: bool = True) -> dict[str, Any]:
        db = connection.settings_dict
        host = db.get("HOST") or "127.0.0.1"
        url = f"postgres://{db.get('USER') or 'postgres'}@{host}:{db.get('PORT') or 5432}"
        env = {
            **os.environ,
            "DATABASE_URL": f"{url}/{db['NAME']}",
            "DEBUG": "false",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only"),
        }
        if settled:
            self.checkpoint()
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "manage.py", "import_openalex", str(root), f"--workers={workers}"],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if done.returncode:
            self.say(done.stdout[-3000:] + done.stderr[-3000:])
            raise SystemExit("the import failed")
        phases = {
            name.strip(): float(seconds)
            for name, seconds in re.findall(r"([a-z ]+) ([\d.]+)s", _line(done.stdout, "Phases:"))
        }
        return {
            "wall_s": wall,
            "phases": phases,
            # ru_maxrss of children is the largest child so far; equal to before means
            # this run's processes stayed below an earlier one's peak.
            "peak_rss_mb": max(peak, before) / 1024,
        }

    def checkpoint(self) -> None:
        """Write out what earlier steps left dirty before a timed step starts, so it does not
        pay for them: right after the first import Postgres and the kernel still have
        gigabytes to write back, and the small incremental import timed after it waited on
        the disk for that write-back rather than for its own work."""
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")

    def row_counts(self) -> dict[str, int]:
        with connection.cursor() as cursor:
            counts = {}
            for model in FILLED:
                cursor.execute(f"SELECT COUNT(*) FROM {model._meta.db_table}")
                counts[model._meta.db_table] = cursor.fetchone()[0]
        return counts

    def copy_floor(self, scratch: Path) -> float:
        """COPY the imported rows out, empty the tables, time COPYing them back in."""
        files = {}
        raw = connection.connection
        for model in FILLED:
            table = model._meta.db_table
            path = scratch / f"floor_{table}.copy"
            with (
                raw.cursor() as cursor,
                path.open("wb") as out,
                cursor.copy(f"COPY {table} TO STDOUT") as copy,
            ):
                for chunk in copy:
                    out.write(chunk)
            files[table] = path
        if not raw.autocommit:
            raw.commit()
        tables = ", ".join(files)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables} CASCADE")
        self.checkpoint()
        started = time.perf_counter()
        with raw.cursor() as cursor:
            for table, path in files.items():
                with path.open("rb") as source, cursor.copy(f"COPY {table} FROM STDIN") as copy:
                    while chunk := source.read(1 << 20):
                        copy.write(chunk)
        if not raw.autocommit:
            raw.commit()
        return time.perf_counter() - started

    def write_changes(self, root: Path, updated: str, *, source_part: int) -> None:
        """A newer partition (`updated_date=<updated>`) with the first CHANGED_WORKS works of
        the snapshot's part number `source_part`: new title, last author dropped."""
        import gzip

        parts = sorted((root / "data" / "works").glob(f"updated_date={UPDATED}/part_*.gz"))
        source = parts[source_part % len(parts)]  # a small corpus may have one part
        target = root / "data" / "works" / f"updated_date={updated}" / "part_000.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(source, "rb") as lines, gzip.open(target, "wb", compresslevel=1) as out:
            for count, line in enumerate(lines):
                if count == CHANGED_WORKS:
                    break
                record = orjson.loads(line)
                record["title"] = f"{record['title']} (revised)"
                record["updated_date"] = f"{updated}T00:00:00"
                if len(record["authorships"]) > 1:
                    record["authorships"] = record["authorships"][:-1]
                out.write(orjson.dumps(record) + b"\n")

    def facts(self) -> dict[str, str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            version = cursor.fetchone()[0].split(" on ")[0]
        load = os.getloadavg()
        return {
            "machine": f"{os.cpu_count()} CPU(s), {_ram()} RAM, CPU {_cpu_model()}, "
            f"{platform.platform()}",
            "postgres": version,
            "python": platform.python_version(),
            "load": f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) at the end",
        }


def _phases(phases: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.1f}s" for name, seconds in phases.items())


def _line(text: str, prefix: str) -> str:
    return next((line for line in text.splitlines() if line.startswith(prefix)), "")


def render(f: dict[str, Any], facts: dict[str, str]) -> str:
    works = f["works"]
    first = f["import"]
    rate = works / first["wall_s"]
    floor_rate = works / f["floor_s"] if f["floor_s"] else 0.0
    phases = ", ".join(f"{k} {v:.0f}s" for k, v in first["phases"].items())
    changed, busy = f["changed"], f["changed_busy"]
    rows = ", ".join(f"{table} {n:,}" for table, n in f["rows"].items())
    lines = [
        f"Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {facts['machine']}; "
        f"{facts['postgres']}; Python {facts['python']}; load average {facts['load']}.",
        "",
        f"Snapshot: {works:,} works in {f['parts']} parts, {f['snapshot_bytes'] / 1e6:,.0f} MB "
        f"gzipped (written in {f['generate_s']:.0f}s). Rows imported: {rows}.",
        f"Command: `manage.py import_openalex ROOT --workers {f['workers']}` (a child process).",
        "",
        "| measurement | figure | target |",
        "|---|---:|---|",
        f"| first import, end to end (derived data included) | {first['wall_s']:,.0f} s, "
        f"{rate:,.0f} works/s | ≥ 2,000 works/s: {'met' if rate >= 2000 else 'missed'} |",
        f"| per phase | {phases} | |",
        f"| COPY floor (same rows, same tables) | {f['floor_s']:,.0f} s, {floor_rate:,.0f} "
        f"works/s | import ≥ 0.3× floor: {rate / floor_rate if floor_rate else 0:.2f}× |",
        f"| peak RSS (largest process) | {first['peak_rss_mb']:,.0f} MB | ≤ 300 MB: "
        f"{'met' if first['peak_rss_mb'] <= 300 else 'missed'} |",
        f"| rerun of the imported snapshot | {f['rerun_s']:,.1f} s | ≤ 1/10 of the first: "
        f"{'met' if f['rerun_s'] <= first['wall_s'] / 10 else 'missed'} |",
        f"| {CHANGED_WORKS:,} changed works (newer partition), derived data included | "
        f"{changed['wall_s']:,.1f} s ({_phases(changed['phases'])}) | "
        f"≤ 10 s: {'met' if changed['wall_s'] <= 10 else 'missed'} |",
        f"| the same, right after the first import (its write-back still running) | "
        f"{busy['wall_s']:,.1f} s ({_phases(busy['phases'])}) | (not the target's figure) |",
        f"| full co-author edge rebuild ({f['edge_rows']:,} rows) | {f['edges_s']:,.0f} s | "
        f"≤ 180 s: {'met' if f['edges_s'] <= 180 else 'missed'} |",
        f"| per-researcher counts, all | {f['counts_s']:,.0f} s | ≤ 60 s: "
        f"{'met' if f['counts_s'] <= 60 else 'missed'} |",
    ]
    if "smaller" in f:
        small = f["smaller"]
        per_work = first["wall_s"] / works * 1000
        small_per_work = small["wall_s"] / small["works"] * 1000
        ratio = per_work / small_per_work
        lines.append(
            f"| cost per work against a first import of {small['works']:,} works (same "
            f"run, own database: {small['wall_s']:,.1f} s) | {per_work:.3f} ms against "
            f"{small_per_work:.3f} ms: {ratio:.2f}× | ≤ 1.3×: "
            f"{'met' if ratio <= 1.3 else 'missed'} |"
        )
    return "\n".join(lines)


def write_report(report: str) -> None:
    text = REPORT.read_text()
    block = f"{START}\n{report}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = f"{head}{block}{tail}"
    else:
        text = f"{text.rstrip()}\n\n## OpenAlex import (make bench-import)\n\n{block}\n"
    REPORT.write_text(text)
