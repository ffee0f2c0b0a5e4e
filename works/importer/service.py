"""Run an OpenAlex import: stream files, parse each record, write in batches, report.

1. Each file is read lazily (reader.py); every value is parsed on its own (records.py), so
   a bad record is reported with its file and line and never reaches the database.
2. Good records are written ~500 at a time, each batch in its own transaction (writer.py).
   If the database still refuses a batch, it is rolled back and its records are retried
   one per transaction: only the culprit is lost, and it is reported too.
3. Each batch records the researchers whose data it changed (or every researcher it
   named, with refresh_all) in the durable touched set (touched.py), in its own
   transaction. At the end the caller's `on_finish` gets that set (with whatever an
   earlier, killed import left in it), also after an interrupted run, and the rows it
   handled are removed. The importer sits below the apps whose derived data that
   refreshes (counts, co-author edges, trust, graph slices), so it never calls that
   refresh itself: the top layer passes it in (bzpeer.curation.importing). Without
   `on_finish` the set stays in the table for the next refresh.
4. After a large import the tables it changed are analysed: the refresh's plans, and every
   page's, depend on current statistics, and autovacuum may be off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DataError, IntegrityError, OperationalError, connection, transaction
from tqdm import tqdm

from bzpeer.pagecache.bumps import defer_bumps
from works.importer import touched
from works.importer.reader import (
    DATA_SUFFIXES,
    MAX_RECORD_BYTES,
    InputPathError,
    Location,
    RecordReader,
    discover_files,
)
from works.importer.records import BadRecord, Row, SkippedRecord, parse_record
from works.importer.stats import ImportStats
from works.importer.writer import BatchOutcome, write_batch

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Records read past which the changed tables are analysed at the end of the run (and,
# counted since the last analysis, during it: AnalyzeAsTablesGrow).
ANALYZE_AFTER_RECORDS = 10_000
ANALYZED_MODELS = (
    "works.Work",
    "works.Work_topics",
    "works.Authorship",
    "works.Authorship_institutions",
    "works.Institution",
    "works.Source",
    "works.Topic",
    "profiles.Researcher",
    "works.TouchedResearcher",
)
# Errors that belong to the data of some record in the batch. Anything else (a lost
# connection, a bug) stops the import instead of being blamed on every record in turn.
_RECORD_ERRORS = (IntegrityError, DataError, RuntimeError, ValueError, TypeError)

Report = Callable[[str], None]
DEADLOCK_RETRIES = 5
_RETRYABLE = {"40P01", "40001"}  # deadlock detected, serialization failure


def _is_retryable(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) in _RETRYABLE


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
    max_record_bytes: int = MAX_RECORD_BYTES,
    on_finish: Callable[[touched.Pending], object] | None = None,
) -> ImportResult:
    """Import every record in `paths` (files or directories); see the module docstring.

    `report` receives one line per bad record or warning ("path:line: ..."). Raises
    InputPathError before touching the database when a path does not exist or the paths
    hold no data file.
    """
    paths = list(paths)
    files = discover_files(paths)
    if not files:
        raise InputPathError(
            f"{', '.join(map(str, paths))}: no data files found "
            f"(looked for {', '.join('*' + suffix for suffix in DATA_SUFFIXES)})"
        )
    run = _Run(report or logger.warning, batch_size, refresh_all, max_record_bytes)
    bar = tqdm(
        total=sum(path.stat().st_size for path in files),
        unit="B",
        unit_scale=True,
        desc="import_openalex",
        disable=not progress,
    )
    run.bar = bar if progress else None
    finished = False
    growth = AnalyzeAsTablesGrow()
    try:
        for path in files:
            before = run.stats.records
            run.import_file(path)
            growth.add(run.stats.records - before)
        finished = True
    finally:
        bar.close()
        refreshed: set[int] = set()
        if finished:
            growth.finish()
            if on_finish is not None:
                refreshed = refresh_touched(on_finish=on_finish)
        elif on_finish is not None:
            # Batches already committed still need their counts and edges refreshed.
            try:
                refreshed = refresh_touched(on_finish=on_finish)
            except Exception:
                logger.exception("Refreshing derived data failed after an interrupted import")
    return ImportResult(stats=run.stats, researcher_ids=refreshed)


def refresh_touched(*, on_finish: Callable[[touched.Pending], object]) -> set[int]:
    """Hand the durable touched record to the derived-data refresh, then forget what it
    took. Also picks up what a killed import left behind. Returns the researchers handed
    over."""
    read = touched.pending()
    on_finish(read)
    touched.consume(read)
    return read.researcher_ids


def analyze_changed_tables() -> None:
    from django.apps import apps

    with connection.cursor() as cursor:
        for label in ANALYZED_MODELS:
            app_label, _, name = label.partition(".")
            model_name, _, m2m = name.partition("_")
            model = apps.get_model(app_label, model_name)
            if m2m:
                model = model._meta.get_field(m2m).remote_field.through
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


class AnalyzeAsTablesGrow:
    """Analyse the changed tables while a long import fills them, not only at its end.

    With autovacuum off (as on some machines) nothing else does, and the planner plans each
    batch's upserts from the statistics of the tables as they were before the import (empty,
    at a first import): in a first import of 1M works each part of 10,000 works took longer
    than the one before (6.4 s for the first, 16.5 s at 440,000 works), and 8 to 9.5 s again
    right after an ANALYZE by hand. The tables are analysed whenever the records imported
    since the last analysis reach ANALYZE_AFTER_RECORDS and half of those imported before
    it: about a dozen times over a million records, a few seconds each."""

    def __init__(self) -> None:
        self.imported = 0
        self.analysed_at = 0  # records imported when the tables were last analysed

    def add(self, records: int) -> bool:
        """Count records just committed; analyse when due. Returns whether it did."""
        self.imported += records
        since = self.imported - self.analysed_at
        if since < ANALYZE_AFTER_RECORDS or since * 2 < self.analysed_at:
            return False
        analyze_changed_tables()
        self.analysed_at = self.imported
        return True

    def finish(self) -> bool:
        """At the end of the import: analyse once more when the import was large enough to
        need it (ANALYZE_AFTER_RECORDS records) and records came since the last analysis
        (not again right after the last part's or file's). Returns whether it did."""
        if self.imported < ANALYZE_AFTER_RECORDS or self.imported == self.analysed_at:
            return False
        analyze_changed_tables()
        self.analysed_at = self.imported
        return True


def _forget_logged_queries() -> None:
    """With DEBUG on, Django keeps every query's SQL (up to 9,000 of them, each batch's
    parameters included): the importer drops its own. A test capturing queries sets
    force_debug_cursor and keeps them."""
    if settings.DEBUG and not connection.force_debug_cursor:
        connection.queries_log.clear()


def _commit_without_waiting_for_the_disk() -> None:
    """Let this batch's transaction commit without waiting for its WAL to reach the disk
    (synchronous_commit off, for this transaction only): a batch of 500 works otherwise
    waits for an fsync at each commit. Safe for the import: the WAL is written in order,
    so a Postgres crash can lose only the last few batches committed, never one before a
    batch or a part record that survived; the part is then not recorded as imported and
    a rerun imports it again (its upserts are idempotent). Nothing is ever half-written."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")


class _Run:
    def __init__(
        self, report: Report, batch_size: int, refresh_all: bool, max_record_bytes: int
    ) -> None:
        self.report = report
        self.batch_size = max(1, batch_size)
        self.refresh_all = refresh_all
        self.max_record_bytes = max_record_bytes
        self.stats = ImportStats()
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

    def import_file(self, path: Path, label: str | None = None) -> None:
        reader = RecordReader(path, label, max_record_bytes=self.max_record_bytes)
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

    def commit(self, batch: list[tuple[Location, Row]], attempt: int = 1) -> None:
        outcome = BatchOutcome()
        try:
            # The page versions the batch moves are written at its end (defer_bumps): two
            # import processes share prolific authors, and each would otherwise hold their
            # version rows locked from its first authorship write to its commit.
            with transaction.atomic(), defer_bumps():
                _commit_without_waiting_for_the_disk()
                write_batch(batch, outcome)
                if self.refresh_all:  # everything named is refreshed in full
                    touched.record(
                        outcome.touched | outcome.referenced,
                        work_ids=outcome.works | outcome.referenced_works,
                        departed=outcome.departed,
                    )
                else:
                    touched.record(
                        outcome.touched,
                        recount_ids=outcome.recount,
                        work_ids=outcome.works,
                        departed=outcome.departed,
                    )
        except OperationalError as exc:
            # Concurrent importers take locks in one order, but Postgres may still pick a
            # victim (a unique index wait across tables): the batch is simply run again.
            if _is_retryable(exc) and attempt < DEADLOCK_RETRIES:
                self.commit(batch, attempt + 1)
                return
            raise
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
        _forget_logged_queries()
