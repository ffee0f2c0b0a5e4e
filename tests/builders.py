"""Bulk builders: many rows in a few queries, for tests that need volume.

The factories (tests/factories.py) fill in every field and sequence; these builders make
unsaved instances with `Factory.build()` and save each kind with one `bulk_create`, so a
researcher with 300 works costs a handful of INSERTs instead of ~1,200 factory saves.
Counts, topics and co-author edges are then refreshed the way an import leaves them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bzpeer.curation.derived import refresh_researcher_counts
from graph.edges import rebuild_coauthor_edges
from profiles.models import Researcher
from tests.factories import (
    AuthorshipFactory,
    InstitutionFactory,
    ResearcherFactory,
    SourceFactory,
    TopicFactory,
    WorkFactory,
)
from works.models import Authorship, Institution, Source, Topic, Work

WorkTopic = Work.topics.through
AuthorshipInstitution = Authorship.institutions.through


def bulk_researchers(count: int, **fields: Any) -> list[Researcher]:
    return Researcher.objects.bulk_create(ResearcherFactory.build_batch(count, **fields))


def bulk_institutions(count: int, **fields: Any) -> list[Institution]:
    return Institution.objects.bulk_create(InstitutionFactory.build_batch(count, **fields))


def bulk_topics(count: int, **fields: Any) -> list[Topic]:
    return Topic.objects.bulk_create(TopicFactory.build_batch(count, **fields))


def bulk_works(
    count: int,
    *,
    venue: Source | None = None,
    each: Callable[[int], dict[str, Any]] = lambda i: {},
    **fields: Any,
) -> list[Work]:
    """`count` works sharing one venue; `each(i)` adds the fields of the i-th work."""
    venue = venue or SourceFactory()
    return Work.objects.bulk_create(
        WorkFactory.build(venue=venue, **fields, **each(i)) for i in range(count)
    )


def link_topics(pairs: Iterable[tuple[Work, Topic]]) -> None:
    WorkTopic.objects.bulk_create(WorkTopic(work_id=w.pk, topic_id=t.pk) for w, t in pairs)


def bulk_authorships(teams: Iterable[tuple[Work, Sequence[Researcher]]]) -> list[Authorship]:
    """One authorship per (work, person), in the team's order (the first is first author)."""
    return Authorship.objects.bulk_create(
        AuthorshipFactory.build(work=work, researcher=person, order=order)
        for work, team in teams
        for order, person in enumerate(team)
    )


def refresh(researchers: Sequence[Researcher], *, edges: bool = False) -> None:
    """Counts (and co-author edges) as an import leaves them; reloads the first one."""
    ids = [r.pk for r in researchers]
    refresh_researcher_counts(researcher_ids=ids)
    if edges:
        rebuild_coauthor_edges(researcher_ids=ids)
    researchers[0].refresh_from_db()


def researcher_with_works(
    n_works: int = 3, *, topic: str | None = "Graph Theory", **fields: Any
) -> Researcher:
    """A researcher who alone wrote `n_works` works (published 2000 onwards, each with a
    DOI, an abstract and, unless topic=None, the one topic); counts refreshed."""
    researcher = ResearcherFactory(**fields)
    works = bulk_works(
        n_works,
        each=lambda i: {
            "publication_year": 2000 + i % 20,
            "doi": f"10.1234/x{researcher.pk}.{i}",
            "abstract": "word " * (10 + i),
        },
    )
    if topic is not None:
        subject = TopicFactory(display_name=topic)
        link_topics((work, subject) for work in works)
    bulk_authorships((work, [researcher]) for work in works)
    refresh([researcher])
    return researcher


def researcher_with_coauthors(
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
    places = bulk_institutions(institutions)
    lead = ResearcherFactory(display_name=name, last_known_institution=places[0])
    subjects = bulk_topics(topics)
    people = Researcher.objects.bulk_create(
        ResearcherFactory.build(last_known_institution=places[i % len(places)])
        for i in range(coauthors)
    )
    teams = [
        [people[j] for j in range(len(people)) if j % works == i % works or j == i]
        for i in range(works)
    ]
    papers = bulk_works(
        works,
        each=lambda i: {
            "publication_year": 2000 + i,
            "cited_by_count": i * 3,
            "authors_count": 1 + len(teams[i]),
        },
    )
    link_topics((work, subjects[i % len(subjects)]) for i, work in enumerate(papers))
    bulk_authorships((work, [lead, *teams[i]]) for i, work in enumerate(papers))
    refresh([lead, *people], edges=True)
    return lead
