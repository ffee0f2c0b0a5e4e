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


def build_researcher(
    *,
    coauthors: int = 3,
    works: int = 3,
    topics: int = 2,
    institutions: int = 1,
    name: str = "Ada Lovelace",
) -> Researcher:
    """A researcher with `works` works (with topics), `coauthors` co-authors spread over
    them, co-authors at `institutions` institutions; counts and edges refreshed the way an
    import leaves them."""
    from bzpeer.curation.derived import refresh_researcher_counts
    from graph.edges import rebuild_coauthor_edges
    from tests.factories import (
        AuthorshipFactory,
        InstitutionFactory,
        ResearcherFactory,
        TopicFactory,
        WorkFactory,
    )

    places = InstitutionFactory.create_batch(institutions)
    lead = ResearcherFactory(display_name=name, last_known_institution=places[0])
    subjects = TopicFactory.create_batch(topics)
    people = [
        ResearcherFactory(last_known_institution=places[i % len(places)]) for i in range(coauthors)
    ]
    for i in range(works):
        team = [people[j] for j in range(len(people)) if j % works == i % works or j == i]
        work = WorkFactory(
            publication_year=2000 + i, cited_by_count=i * 3, authors_count=1 + len(team)
        )
        work.topics.add(subjects[i % len(subjects)])
        for order, person in enumerate([lead, *team]):
            AuthorshipFactory(work=work, researcher=person, order=order)
    ids = [lead.pk, *(p.pk for p in people)]
    refresh_researcher_counts(researcher_ids=ids)
    rebuild_coauthor_edges(researcher_ids=ids)
    lead.refresh_from_db()
    return lead


@pytest.fixture
def queued(monkeypatch) -> list[int]:
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
