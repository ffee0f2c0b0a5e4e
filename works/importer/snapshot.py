"""Import an OpenAlex snapshot tree, part by part, resumable, in parallel if asked.

Layout (as OpenAlex publishes it, and as `aws s3 sync s3://openalex <root>` copies it):
    <root>/data/<entity>/manifest
    <root>/data/<entity>/updated_date=YYYY-MM-DD/part_NNN.gz
    <root>/data/merged_ids/<entity>/YYYY-MM-DD.csv.gz

1. Entities are imported in dependency order (institutions, sources, topics, concepts,
   authors, works), every part of one entity before the next entity starts.
2. A part already recorded in `ImportedPart` with the same size is skipped: a rerun of an
   imported snapshot reads no record, a killed import resumes at the first part without a
   row (a part cut off mid-way is imported again; upserts make that exact), and a newer
   snapshot imports only its new partitions.
3. Each part's record count is checked against its manifest entry; a part that disagrees
   is reported (and left unrecorded, so the next run checks it again); the others import.
4. With `workers` > 1, the parts of one entity are imported by that many processes, each
   with its own database connection. Batches write tables in one order and rows in key
   order, so concurrent importers wait for each other instead of deadlocking; a batch that
   still meets a deadlock is retried.
5. Merged-id lists are read here (`merged_ids`) and applied by the caller, above this
   layer, through the curation merge service.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from django.db import connections

from works.importer.normalize import parse_entity_id
from works.importer.reader import MAX_RECORD_BYTES
from works.importer.service import AnalyzeAsTablesGrow, _Run
from works.importer.stats import ImportStats
from works.models import ImportedPart

ENTITY_ORDER = ("institutions", "sources", "topics", "concepts", "authors", "works")
MERGED_IDS = "merged_ids"

Report = Callable[[str], None]


class SnapshotError(Exception):
    """The path is not an OpenAlex snapshot root."""


@dataclass(frozen=True, slots=True)
class Part:
    entity: str
    path: Path
    relative: str  # "data/works/updated_date=2025-01-01/part_000.gz"
    size: int
    manifest_records: int | None


@dataclass(slots=True)
class Plan:
    parts: list[Part] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # manifest entries with no file


@dataclass(slots=True)
class PartOutcome:
    part: Part
    stats: ImportStats
    messages: list[str]
    seconds: float
    recorded: bool


@dataclass(slots=True)
class SnapshotResult:
    stats: ImportStats = field(default_factory=ImportStats)
    parts_total: int = 0
    parts_skipped: int = 0
    parts_imported: int = 0
    problems: list[str] = field(default_factory=list)  # manifest mismatches, missing parts
    # The changed tables' analyses as they grow; the caller finishes it after the parts.
    analysis: AnalyzeAsTablesGrow = field(default_factory=AnalyzeAsTablesGrow)


def data_dir(root: Path) -> Path | None:
    """`root/data` when it holds entity folders, `root` itself when it does; else None."""
    for candidate in (root / "data", root):
        if candidate.is_dir() and any((candidate / entity).is_dir() for entity in ENTITY_ORDER):
            return candidate
    return None


def is_snapshot(path: Path) -> bool:
    return path.is_dir() and data_dir(path) is not None


def _manifest(entity_dir: Path) -> dict[str, int] | None:
    """Relative part path ("updated_date=…/part_000.gz") -> record count, or None."""
    path = entity_dir / "manifest"
    if not path.is_file():
        return None
    entries = orjson.loads(path.read_bytes()).get("entries") or []
    counts: dict[str, int] = {}
    for entry in entries:
        url = str(entry.get("url", ""))
        marker = f"/{entity_dir.name}/"
        if marker in url:
            counts[url.split(marker, 1)[1]] = int((entry.get("meta") or {}).get("record_count", 0))
    return counts


def plan(root: Path) -> Plan:
    data = data_dir(root)
    if data is None:
        raise SnapshotError(f"{root}: no OpenAlex snapshot here (expected data/<entity>/...)")
    result = Plan()
    base = data.parent
    for entity in ENTITY_ORDER:
        entity_dir = data / entity
        if not entity_dir.is_dir():
            continue
        manifest = _manifest(entity_dir)
        on_disk = sorted(entity_dir.glob("updated_date=*/*.gz"))
        seen = set()
        for path in on_disk:
            key = path.relative_to(entity_dir).as_posix()
            seen.add(key)
            result.parts.append(
                Part(
                    entity=entity,
                    path=path,
                    relative=path.relative_to(base).as_posix(),
                    size=path.stat().st_size,
                    manifest_records=manifest.get(key) if manifest is not None else None,
                )
            )
        for key in sorted(set(manifest or {}) - seen):
            result.problems.append(f"{entity}/{key}: listed in the manifest, not on disk")
    return result


def _checksum(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def import_part(
    part: Part, *, batch_size: int, max_record_bytes: int = MAX_RECORD_BYTES
) -> PartOutcome:
    """Import one part (every batch its own transaction), then record it when its count
    agrees with the manifest."""
    messages: list[str] = []
    started = time.perf_counter()
    run = _Run(messages.append, batch_size, False, max_record_bytes)
    run.import_file(part.path, label=part.relative)
    stats = run.stats
    read = stats.records
    recorded = part.manifest_records is None or part.manifest_records == read
    if recorded:
        ImportedPart.objects.update_or_create(
            path=part.relative,
            defaults={
                "entity": part.entity,
                "size": part.size,
                "checksum": _checksum(part.path),
                "records": read,
                "bad": stats.bad,
                "manifest_records": part.manifest_records,
            },
        )
    else:
        messages.append(
            f"{part.relative}: {read} record(s) read, the manifest says "
            f"{part.manifest_records}: not recorded as imported (checked again next run)"
        )
    return PartOutcome(part, stats, messages, time.perf_counter() - started, recorded)


def _forget_inherited_connections() -> None:
    """In a forked worker: drop the database connections copied from the parent without
    touching their sockets (the parent may still use them); the worker opens its own."""
    for conn in connections.all(initialized_only=True):
        conn.connection = None


def _import_part_in_worker(args: tuple[Part, int, int]) -> PartOutcome:
    part, batch_size, max_record_bytes = args
    try:
        return import_part(part, batch_size=batch_size, max_record_bytes=max_record_bytes)
    finally:
        connections.close_all()


def import_snapshot(
    root: Path,
    *,
    workers: int = 1,
    report: Report,
    batch_size: int,
    max_record_bytes: int = MAX_RECORD_BYTES,
    progress: Callable[[PartOutcome, SnapshotResult, float], None] | None = None,
) -> SnapshotResult:
    """Import every part of the snapshot at `root` not recorded yet (see the module
    docstring). Derived data is not refreshed here: the touched set is durable and the
    caller refreshes it once, after every part. The changed tables are analysed as they
    grow (in this process, between parts); the caller ends with `result.analysis.finish()`."""
    planned = plan(root)
    result = SnapshotResult(parts_total=len(planned.parts), problems=list(planned.problems))
    for problem in planned.problems:
        report(problem)
    done = dict(ImportedPart.objects.values_list("path", "size"))
    todo = [part for part in planned.parts if done.get(part.relative) != part.size]
    result.parts_skipped = len(planned.parts) - len(todo)
    total_bytes = sum(part.size for part in todo) or 1
    state = {"bytes": 0}

    def finished(outcome: PartOutcome) -> None:
        result.stats.merge(outcome.stats)
        result.stats.files += outcome.stats.files
        result.parts_imported += 1
        for message in outcome.messages:
            report(message)
        if not outcome.recorded:
            result.problems.append(outcome.messages[-1])
        state["bytes"] += outcome.part.size
        result.analysis.add(outcome.stats.records)
        if progress is not None:
            progress(outcome, result, state["bytes"] / total_bytes)

    for entity in ENTITY_ORDER:
        level = [part for part in todo if part.entity == entity]
        if not level:
            continue
        if workers <= 1 or len(level) == 1:
            for part in level:
                finished(
                    import_part(part, batch_size=batch_size, max_record_bytes=max_record_bytes)
                )
            continue
        # Children open their own connections; the parent's must not be shared with them.
        connections.close_all()
        context = multiprocessing.get_context("fork")
        with context.Pool(
            min(workers, len(level)), initializer=_forget_inherited_connections
        ) as pool:
            for outcome in pool.imap_unordered(
                _import_part_in_worker,
                [(part, batch_size, max_record_bytes) for part in level],
            ):
                finished(outcome)
    return result


# --- merged ids ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MergedIdList:
    entity: str
    path: Path
    relative: str
    size: int


def merged_id_lists(root: Path) -> list[MergedIdList]:
    """The merged-id files not applied yet, oldest first."""
    data = data_dir(root)
    if data is None:
        return []
    done = dict(ImportedPart.objects.values_list("path", "size"))
    found = []
    for path in sorted((data / MERGED_IDS).glob("*/*.csv*")):
        relative = path.relative_to(data.parent).as_posix()
        size = path.stat().st_size
        if done.get(relative) != size:
            found.append(MergedIdList(path.parent.name, path, relative, size))
    return found


def read_merged_ids(item: MergedIdList) -> Iterator[tuple[str, str]]:
    """(merged id, id it was merged into), canonical source ids, from one CSV list."""
    raw = item.path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))):
        old = parse_entity_id(row.get("id") or "")
        new = parse_entity_id(row.get("merge_into_id") or "")
        if old and new and old.stored and new.stored:
            yield old.source_id, new.source_id


def record_merged_ids(item: MergedIdList, *, applied: int) -> None:
    ImportedPart.objects.update_or_create(
        path=item.relative,
        defaults={
            "entity": f"{MERGED_IDS}/{item.entity}",
            "size": item.size,
            "checksum": _checksum(item.path),
            "records": applied,
        },
    )
