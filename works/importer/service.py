"""Run an OpenAlex import: stream files, parse each record, write in batches, report.

1. Each file is read lazily (reader.py); every value is parsed on its own (records.py), so
   a bad record is reported with its file and line and never reaches the database.
2. Good records are written ~500 at a time, each batch in its own transaction (writer.py).
   If the database still refuses a batch, it is rolled back and its records are retried
   one per transaction: only the culprit is lost, and it is reported too.
3. At the end the caller's `on_finish` gets the researchers whose data changed (or every
   researcher named, with refresh_all), also after an interrupted run (committed batches
   stay). The importer sits below the apps whose derived data that refreshes (counts,
   co-author edges, trust, graph slices), so it never calls that refresh itself: the
   top layer passes it in (bzpeer.curation.importing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DataError, IntegrityError, transaction
from tqdm import tqdm

from works.importer.reader import Location, RecordReader, discover_files
from works.importer.records import BadRecord, Row, SkippedRecord, parse_record
from works.importer.stats import ImportStats
from works.importer.writer import BatchOutcome, write_batch

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Errors that belong to the data of some record in the batch. Anything else (a lost
# connection, a bug) stops the import instead of being blamed on every record in turn.
_RECORD_ERRORS = (IntegrityError, DataError, RuntimeError, ValueError, TypeError)

Report = Callable[[str], None]


@dataclass(slots=True)
class ImportResult:
    stats: ImportStats = field(default_factory=ImportStats)
    researcher_ids: set[int] = field(default_factory=set)  # what on_finish received

    @property
    def bad(self) -> int:
        return self.stats.bad

    def summary(self) -> str:
        return (
            f"{self.stats.summary()}\n"
            f"Researchers whose derived data is refreshed: {len(self.researcher_ids)}."
        )


def import_openalex(
    paths: Iterable[str | Path],
    *,
    report: Report | None = None,
    progress: bool = False,
    batch_size: int = BATCH_SIZE,
    refresh_all: bool = False,
    on_finish: Callable[[set[int]], object] | None = None,
) -> ImportResult:
    """Import every record in `paths` (files or directories); see the module docstring.

    `report` receives one line per bad record or warning ("path:line: ..."). Raises
    InputPathError before touching the database when a path does not exist.
    """
    files = discover_files(paths)
    run = _Run(report or logger.warning, batch_size, refresh_all)
    bar = tqdm(
        total=sum(path.stat().st_size for path in files),
        unit="B",
        unit_scale=True,
        desc="import_openalex",
        disable=not progress,
    )
    run.bar = bar if progress else None
    finished = False
    try:
        for path in files:
            run.import_file(path)
        finished = True
    finally:
        bar.close()
        if on_finish is not None and finished:
            on_finish(run.researcher_ids)
        elif on_finish is not None:
            # Batches already committed still need their counts and edges refreshed.
            try:
                on_finish(run.researcher_ids)
            except Exception:
                logger.exception("Refreshing derived data failed after an interrupted import")
    return ImportResult(stats=run.stats, researcher_ids=run.researcher_ids)


class _Run:
    def __init__(self, report: Report, batch_size: int, refresh_all: bool) -> None:
        self.report = report
        self.batch_size = max(1, batch_size)
        self.refresh_all = refresh_all
        self.stats = ImportStats()
        self.researcher_ids: set[int] = set()
        self.bar: tqdm | None = None

    def emit(self, message: str) -> None:
        if self.bar is None:
            self.report(message)
        else:
            with tqdm.external_write_mode():
                self.report(message)

    def bad(self, location: Location, reason: str) -> None:
        self.stats.bad += 1
        self.emit(f"{location}: bad record: {reason}")

    def import_file(self, path: Path) -> None:
        reader = RecordReader(path)
        self.stats.files += 1
        batch: list[tuple[Location, Row]] = []
        shown = 0
        for raw in reader.records():
            self.stats.records += 1
            if raw.error:
                self.bad(raw.location, raw.error)
                continue
            try:
                row = parse_record(raw.value)
            except BadRecord as exc:
                self.bad(raw.location, str(exc))
                continue
            if isinstance(row, SkippedRecord):
                self.stats.skipped[row.entity] += 1
                continue
            batch.append((raw.location, row))
            if len(batch) >= self.batch_size:
                self.commit(batch)
                batch = []
                shown = self._advance(reader, shown)
        if batch:
            self.commit(batch)
        self._advance(reader, shown)

    def _advance(self, reader: RecordReader, shown: int) -> int:
        if self.bar is not None:
            self.bar.update(reader.bytes_read - shown)
        return reader.bytes_read

    def commit(self, batch: list[tuple[Location, Row]]) -> None:
        outcome = BatchOutcome()
        try:
            with transaction.atomic():
                write_batch(batch, outcome)
        except _RECORD_ERRORS as exc:
            if len(batch) == 1:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                self.bad(batch[0][0], f"not stored: {reason}")
                return
            for item in batch:
                self.commit([item])
            return
        self.stats.merge(outcome.stats)
        for message in outcome.warnings:
            self.emit(message)
        self.researcher_ids |= outcome.touched
        if self.refresh_all:
            self.researcher_ids |= outcome.referenced
