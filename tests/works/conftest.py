from __future__ import annotations

import gzip
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

DEMO = Path(settings.BASE_DIR) / "bzpeer" / "demo_data"
OPENALEX_DEMO = DEMO / "openalex_demo"
SEED = DEMO / "seed_profile"
DEMO_WORKS_PATH = OPENALEX_DEMO / "works.jsonl.gz"
DATA = Path(__file__).parent / "data"


def demo_records(path: Path) -> list[dict[str, Any]]:
    """Read a demo file the plain way (independent of the importer)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def demo_record(path: Path, record_id: str) -> dict[str, Any]:
    return next(r for r in demo_records(path) if r["id"] == record_id)


def write_jsonl(path: Path, records: list[Any], *, gzipped: bool = False) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in records).encode()
    path.write_bytes(gzip.compress(text) if gzipped else text)
    return path


class ImportRun:
    def __init__(self, stdout: str, stderr: str, error: str | None) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.error = error  # the CommandError message, when the command failed


def run_command(*paths: Path | str, **options: Any) -> ImportRun:
    """Run `manage.py import_openalex` and keep what it printed, failing or not."""
    from django.core.management.base import CommandError

    out, err = StringIO(), StringIO()
    try:
        call_command("import_openalex", *map(str, paths), stdout=out, stderr=err, **options)
    except CommandError as exc:
        return ImportRun(out.getvalue(), err.getvalue(), str(exc))
    return ImportRun(out.getvalue(), err.getvalue(), None)


@pytest.fixture
def hook_calls(monkeypatch) -> list[set[int]]:
    """Record the researchers the import hands to bzpeer.curation.derived.refresh_after_import,
    instead of running it (its own tests cover it; test_real_refresh_after_import_* runs it
    for real)."""
    calls: list[set[int]] = []

    def record(read):
        calls.append(set(read.researcher_ids))
        return set(read.researcher_ids)

    monkeypatch.setattr("bzpeer.curation.derived.refresh_after_import", record)
    return calls
