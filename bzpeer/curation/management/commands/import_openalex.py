"""manage.py import_openalex PATH... — thin wrapper over bzpeer.curation.importing, and over
works.importer.snapshot for an OpenAlex snapshot root (then the merged-id lists are applied
here, through the curation merge services, which the importer may not call)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from bzpeer.curation import importing
from bzpeer.curation.importing import import_openalex
from works.importer import InputPathError
from works.importer.reader import MAX_RECORD_BYTES
from works.importer.service import (
    ANALYZE_AFTER_RECORDS,
    BATCH_SIZE,
    refresh_touched,
)
from works.importer.snapshot import (
    PartOutcome,
    SnapshotResult,
    import_snapshot,
    is_snapshot,
    merged_id_lists,
    read_merged_ids,
    record_merged_ids,
)

# Merged-id lists applied, by entity folder: authors and works have a merge service.
MERGEABLE = ("authors", "works")


class Command(BaseCommand):
    help = (
        "Import OpenAlex records (authors, works, institutions, sources, topics, concepts) "
        "from JSON Lines, API result pages or single entities, plain or gzipped. "
        "Directories are searched for *.json, *.jsonl, *.ndjson and *.gz files. "
        "Given one OpenAlex snapshot root (data/<entity>/updated_date=.../part_NNN.gz), it "
        "imports the parts not imported yet, checks them against the manifests and applies "
        "the merged-id lists. Re-running with the same files changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="files or directories to import")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"records per transaction (default {BATCH_SIZE})",
        )
        parser.add_argument(
            "--refresh-all",
            action="store_true",
            help="refresh every researcher the files name, not only the changed ones "
            "(use after an interrupted import)",
        )
        parser.add_argument(
            "--max-record-bytes",
            type=int,
            default=MAX_RECORD_BYTES,
            help=f"longest JSON line read as one record (default {MAX_RECORD_BYTES:,} bytes); "
            "a longer one is reported as a bad record",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="snapshot root: import this many parts at once, in separate processes",
        )
        parser.add_argument(
            "--curator",
            default="",
            help="snapshot root: the staff user in whose name OpenAlex's merged-id lists "
            "are applied (without it they are reported and left for a later run)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        paths = [Path(p) for p in options["paths"]]
        if len(paths) == 1 and is_snapshot(paths[0]) and not options["refresh_all"]:
            self.import_snapshot(paths[0], options)
            return
        try:
            result = import_openalex(
                options["paths"],
                report=self.stderr.write,
                progress=self.stdout.isatty(),
                batch_size=options["batch_size"],
                refresh_all=options["refresh_all"],
                max_record_bytes=options["max_record_bytes"],
            )
        except InputPathError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(result.summary())
        if result.bad:
            raise CommandError(
                f"{result.bad} bad record(s) were not imported (listed above with file and "
                "line); every other record was."
            )

    # --- snapshot ---------------------------------------------------------------------------

    def import_snapshot(self, root: Path, options: dict[str, Any]) -> None:
        started = time.perf_counter()
        bar = tqdm(total=1.0, unit="", desc="import_openalex", disable=not self.stdout.isatty())

        def progress(outcome: PartOutcome, result: SnapshotResult, done: float) -> None:
            elapsed = time.perf_counter() - started
            stats = outcome.stats
            rate = stats.records / outcome.seconds if outcome.seconds else 0.0
            overall = result.stats.records / elapsed if elapsed else 0.0
            eta = elapsed * (1 - done) / done if done else 0.0
            line = (
                f"{outcome.part.relative}: {stats.records:,} records in {outcome.seconds:.1f}s "
                f"({rate:,.0f}/s), {stats.bad} bad; overall {result.parts_imported} part(s), "
                f"{result.stats.records:,} records ({overall:,.0f}/s), "
                f"{result.stats.bad} bad, {done:.0%} of the bytes, ETA {eta:,.0f}s"
            )
            if bar.disable:
                self.stderr.write(line)
            else:
                bar.update(done - bar.n)
                bar.set_postfix_str(f"{overall:,.0f} records/s, {result.stats.bad} bad")

        def report(message: str) -> None:
            if bar.disable:
                self.stderr.write(message)
            else:
                with tqdm.external_write_mode(file=sys.stdout):
                    self.stderr.write(message)

        try:
            result = import_snapshot(
                root,
                workers=max(1, options["workers"]),
                report=report,
                batch_size=options["batch_size"],
                max_record_bytes=options["max_record_bytes"],
                progress=progress,
            )
        finally:
            bar.close()
        phases = {"parts": time.perf_counter() - started}
        mark = time.perf_counter()
        merged = self.apply_merged_ids(root, options["curator"])
        phases["merged ids"] = time.perf_counter() - mark
        mark = time.perf_counter()
        result.analysis.finish()
        phases["analyze"] = time.perf_counter() - mark
        mark = time.perf_counter()
        refreshed = refresh_touched(on_finish=importing.refresh_after_import)
        phases["derived data"] = time.perf_counter() - mark
        if result.stats.records >= ANALYZE_AFTER_RECORDS:
            mark = time.perf_counter()
            importing.vacuum_after_import()
            phases["vacuum"] = time.perf_counter() - mark
        self.stdout.write(result.stats.summary())
        self.stdout.write(
            f"Parts: {result.parts_imported} imported, {result.parts_skipped} skipped (imported "
            f"before) of {result.parts_total}. {merged}\n"
            f"Researchers whose derived data is refreshed: {len(refreshed)}.\n"
            f"Phases: {', '.join(f'{name} {seconds:.1f}s' for name, seconds in phases.items())}.\n"
            f"Done in {time.perf_counter() - started:.1f}s."
        )
        failures = []
        if result.stats.bad:
            failures.append(f"{result.stats.bad} bad record(s) were not imported")
        if result.problems:
            failures.append(f"{len(result.problems)} part(s) disagree with their manifest")
        if failures:
            raise CommandError("; ".join(failures) + " (listed above); everything else was.")

    def apply_merged_ids(self, root: Path, curator_name: str) -> str:
        """Merge the authors and works OpenAlex merged, through the curation merge services
        (the old profile or work page then redirects to the survivor). Lists of other
        entities are reported, not applied."""
        lists = merged_id_lists(root)
        if not lists:
            return "Merged ids: none new."
        applied_here = [item for item in lists if item.entity in MERGEABLE]
        others = [item for item in lists if item.entity not in MERGEABLE]
        curator = None
        if curator_name:
            curator = get_user_model()._default_manager.filter(username=curator_name).first()
            if curator is None:
                raise CommandError(f"--curator {curator_name}: no such user")
        if curator is None:
            return (
                f"Merged ids: {len(applied_here)} author or work list(s) not applied "
                f"(give --curator); {len(others)} other list(s) not applied."
            )
        merged = dict.fromkeys(MERGEABLE, 0)
        for item in applied_here:
            applied = 0
            for old, new in read_merged_ids(item):
                error = self.merge_one(item.entity, old, new, curator)
                if error is None:
                    continue
                if error:
                    self.stderr.write(f"{item.relative}: {old} -> {new} not merged: {error}")
                    continue
                applied += 1
            record_merged_ids(item, applied=applied)
            merged[item.entity] += applied
        return (
            f"Merged ids: {merged['authors']} author(s) and {merged['works']} work(s) merged "
            f"from {len(applied_here)} list(s); {len(others)} list(s) of other entities not "
            "applied (no merge service for them)."
        )

    def merge_one(self, entity: str, old: str, new: str, curator: Any) -> str | None:
        """Merge one pair: "" when merged, None when there was nothing to do (either
        unknown here, or merged already), else why it was refused."""
        from bzpeer.curation.services import CurationError, merge_researchers, merge_works
        from profiles.models import Researcher
        from works.models import Work

        try:
            if entity == "authors":
                people = {
                    r.source_id: r
                    for r in Researcher.objects.filter(source_id__in=[old, new], merged_into=None)
                }
                if old not in people or new not in people:
                    return None
                merge_researchers(survivor=people[new], duplicates=[people[old]], curator=curator)
            else:
                works = {
                    w.source_id: w
                    for w in Work.objects.filter(source_id__in=[old, new], merged_into=None)
                }
                if old not in works or new not in works:
                    return None
                merge_works(old=works[old], survivor=works[new], curator=curator)
        except CurationError as exc:
            return str(exc)
        return ""
