from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from profiles.models import Researcher

SEED = Path(settings.BASE_DIR) / "bzpeer" / "demo_data" / "seed_profile"
SEED_SOURCE_ID = "urn:bzpeer:seed:A1"  # Teven Le Scao


def seed_works() -> list[dict[str, Any]]:
    """The seed works read the plain way, independent of the importer."""
    with gzip.open(SEED / "works.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture
def teven(db) -> Researcher:
    """The seed profile imported with the real command (its refresh_derived_data hook builds the
    edges; the recompute it queues waits for a commit that never comes in a test)."""
    call_command("import_openalex", str(SEED), stdout=io.StringIO(), stderr=io.StringIO())
    return Researcher.objects.get(source_id=SEED_SOURCE_ID)


@pytest.fixture
def queued_builds(monkeypatch) -> list[int]:
    """Count the builds that would be queued, without a broker."""
    from graph.tasks import build_graph_slice

    calls: list[int] = []
    monkeypatch.setattr(
        build_graph_slice, "delay", lambda researcher_id: calls.append(researcher_id)
    )
    return calls


@pytest.fixture
def broker_unreachable(monkeypatch) -> None:
    from kombu.exceptions import OperationalError

    from graph.tasks import build_graph_slice

    def refuse(researcher_id: int) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(build_graph_slice, "delay", refuse)
