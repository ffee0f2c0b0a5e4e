"""Stream decoded JSON values out of OpenAlex files, one at a time, with where each came from.

Layouts, each plain or gzipped (told by the magic bytes, never by the name):
- JSON Lines (snapshot files, the demo data): one value per line, decoded line by line;
- an API result page `{"meta": ..., "results": [...]}` (or several back to back): its items
  are streamed with ijson, so a page is never held whole;
- one JSON entity (or several pretty-printed ones back to back), or a top-level array.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import ijson
from ijson.common import ObjectBuilder

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
# Names picked up when a directory is given (a snapshot tree holds manifests beside data).
DATA_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")
# How many leading lines may be broken before a file that does not parse is taken for one
# broken JSON document rather than JSON Lines with bad lines.
_SNIFF_LINES = 5

_READ_ERRORS = (OSError, EOFError)  # truncated or corrupt gzip, unreadable file


class InputPathError(Exception):
    """A path given to the importer does not exist."""


@dataclass(frozen=True, slots=True)
class Location:
    path: str
    line: int | None = None
    detail: str = ""  # "results[3]", "page 2 results[3]", "record 2", "[5]"

    def __str__(self) -> str:
        text = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{text} {self.detail}" if self.detail else text


@dataclass(frozen=True, slots=True)
class RawRecord:
    location: Location
    value: Any = None
    error: str = ""  # set when the text could not be decoded; value is then None


def discover_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files to read, in a stable order: files as given, directories walked for data files."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files.extend(
                sorted(
                    found
                    for found in path.rglob("*")
                    if found.is_file()
                    and not found.name.startswith(".")
                    and found.name.lower().endswith(DATA_SUFFIXES)
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            raise InputPathError(f"{given}: no such file or directory")
    return files


def _is_page(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("results"), list) and "id" not in value


class RecordReader:
    """Reads one file lazily. `bytes_read` is the position in the file on disk (compressed
    bytes for gzip), which is what a progress bar over file sizes needs."""

    def __init__(self, path: Path, label: str | None = None) -> None:
        self.path = path
        self.label = label or str(path)
        self.size = path.stat().st_size
        self._raw: BinaryIO | None = None
        self._done = False

    @property
    def bytes_read(self) -> int:
        if self._done:
            return self.size
        if self._raw is None or self._raw.closed:
            return 0
        return self._raw.tell()

    @contextmanager
    def _open(self) -> Iterator[BinaryIO]:
        raw = open(self.path, "rb")  # noqa: SIM115 (closed below, also for the gzip case)
        self._raw = raw
        try:
            magic = raw.read(2)
            raw.seek(0)
            if magic == GZIP_MAGIC:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    yield cast(BinaryIO, stream)  # a GzipFile reads as a binary file
            else:
                yield raw
        finally:
            raw.close()

    def records(self) -> Iterator[RawRecord]:
        """Generator over the file's values; decoding errors come out as records too."""
        try:
            layout = self._layout()
            if layout == "lines":
                yield from self._lines()
            elif layout == "page":
                yield from self._pages()
            elif layout == "array":
                yield from self._streamed("item", lambda index: f"[{index}]")
            elif layout == "values":
                yield from self._streamed("", lambda index: f"record {index + 1}")
            elif layout.startswith("broken:"):
                yield RawRecord(Location(self.label), error=layout.removeprefix("broken:"))
        except _READ_ERRORS as exc:
            yield RawRecord(Location(self.label), error=f"cannot read the file: {exc}")
        finally:
            self._done = True

    # --- layout ---------------------------------------------------------------------------

    def _layout(self) -> str:
        with self._open() as stream:
            first = _first_significant_byte(stream)
        if first is None:
            return "empty"
        if first == b"[":
            return "array"
        if first != b"{":
            return "lines"  # not JSON at all: every line is reported with its number
        with self._open() as stream:
            shape = _first_object_shape(stream)
        if shape == "page":
            return "page"
        with self._open() as stream:
            parsed = [_parses(line) for line in _first_lines(stream, _SNIFF_LINES)]
        if shape == "object":
            # A compact first object sits on line 1 (JSON Lines); a pretty one spans lines.
            return "lines" if parsed and parsed[0] else "values"
        if any(parsed):
            return "lines"  # JSON Lines whose first line is broken
        return f"broken:invalid JSON: {shape.removeprefix('broken:')}"

    # --- layouts --------------------------------------------------------------------------

    def _lines(self) -> Iterator[RawRecord]:
        number = 0
        with self._open() as stream:
            try:
                for number, line in enumerate(stream, 1):  # noqa: B007 (used after the loop)
                    if not line.strip():
                        continue
                    location = Location(self.label, number)
                    try:
                        value = json.loads(line)
                    except ValueError as exc:  # also UnicodeDecodeError
                        yield RawRecord(location, error=f"invalid JSON: {exc}")
                        continue
                    if _is_page(value):
                        for index, item in enumerate(value["results"]):
                            detail = f"results[{index}]"
                            yield RawRecord(Location(self.label, number, detail), item)
                    else:
                        yield RawRecord(location, value)
            except _READ_ERRORS as exc:
                yield RawRecord(
                    Location(self.label, number + 1), error=f"cannot read the file: {exc}"
                )

    def _pages(self) -> Iterator[RawRecord]:
        """Items of `results`, built one at a time from ijson events (pages may repeat)."""
        page = index = 0
        builder: ObjectBuilder | None = None
        saw_results = False

        def where() -> str:
            return f"page {page} results[{index}]" if page > 1 else f"results[{index}]"

        with self._open() as stream:
            try:
                for prefix, event, value in ijson.parse(stream, multiple_values=True):
                    if builder is not None:
                        builder.event(event, value)
                        if prefix == "results.item" and event in ("end_map", "end_array"):
                            yield RawRecord(Location(self.label, None, where()), builder.value)
                            builder = None
                            index += 1
                    elif prefix == "results.item":
                        if event in ("start_map", "start_array"):
                            builder = ObjectBuilder()
                            builder.event(event, value)
                        else:  # a scalar where an entity should be: reported by the parser
                            yield RawRecord(Location(self.label, None, where()), value)
                            index += 1
                    elif prefix == "" and event == "start_map":
                        page, index, saw_results = page + 1, 0, False
                    elif prefix == "results" and event == "start_array":
                        saw_results = True
                    elif prefix == "" and event == "end_map" and not saw_results:
                        yield RawRecord(
                            Location(self.label, None, f"value {page}"),
                            error="a JSON object without `results` among API pages",
                        )
            except ijson.JSONError as exc:
                yield RawRecord(Location(self.label, None, where()), error=f"invalid JSON: {exc}")

    def _streamed(self, prefix: str, detail: Any) -> Iterator[RawRecord]:
        index = 0
        with self._open() as stream:
            try:
                for index, value in enumerate(  # noqa: B007 (index used after the loop)
                    ijson.items(stream, prefix, multiple_values=True)
                ):
                    if _is_page(value):
                        for item_index, item in enumerate(value["results"]):
                            location = Location(self.label, None, f"results[{item_index}]")
                            yield RawRecord(location, item)
                    else:
                        yield RawRecord(Location(self.label, None, detail(index)), value)
            except ijson.JSONError as exc:
                yield RawRecord(
                    Location(self.label, None, f"after {detail(index)}"),
                    error=f"invalid JSON: {exc}",
                )


def read_records(path: str | Path) -> Iterator[RawRecord]:
    """Generator over one file's records (see RecordReader)."""
    return RecordReader(Path(path)).records()


def _first_significant_byte(stream: BinaryIO) -> bytes | None:
    start = True
    while chunk := stream.read(4096):
        if start and chunk.startswith(UTF8_BOM):
            chunk = chunk[len(UTF8_BOM) :]
        start = False
        stripped = chunk.lstrip()
        if stripped:
            return stripped[:1]
    return None


def _first_object_shape(stream: BinaryIO) -> str:
    """'page' when the first top-level object has a `results` list, 'object' when it ends
    without one, 'broken:<why>' when it does not parse. Reads only as far as it must."""
    depth = 0
    results_key = False
    try:
        for _prefix, event, value in ijson.parse(stream, multiple_values=True):
            if results_key and depth == 1 and event == "start_array":
                return "page"
            results_key = depth == 1 and event == "map_key" and value == "results"
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
                if depth == 0:
                    return "object"
    except ijson.JSONError as exc:
        return f"broken:{exc}"
    return "object"


def _first_lines(stream: BinaryIO, count: int) -> list[bytes]:
    lines: list[bytes] = []
    for line in stream:
        if line.strip():
            lines.append(line)
            if len(lines) == count:
                break
    return lines


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True
