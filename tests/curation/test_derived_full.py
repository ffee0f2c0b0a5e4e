"""The full refresh of per-researcher counts (a change touching a large share of the corpus:
a first import) writes what the per-researcher refresh writes, into a swapped-in table that
keeps its page-cache triggers and bumps the profiles whose rows changed."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from bzpeer.curation import derived
from bzpeer.curation.derived import refresh_all_researcher_counts, refresh_researcher_counts
from bzpeer.pagecache.models import ContentVersion
from graph.models import CoauthorEdge
from profiles.models import Researcher, ResearcherInstitution, ResearcherSearch, ResearcherTopic
from tests.factories import (
    AuthorshipFactory,
    InstitutionFactory,
    ResearcherFactory,
    TopicFactory,
    WorkFactory,
)

pytestmark = pytest.mark.django_db


def _state() -> tuple[list, list]:
    return (
        sorted(ResearcherTopic.objects.values_list("researcher_id", "topic_id", "works_count")),
        sorted(Researcher.objects.values_list("pk", "works_count", "topics_count")),
    )


def _triggers() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal "
            "ORDER BY tgname",
            [ResearcherTopic._meta.db_table],
        )
        return [name for (name,) in cursor.fetchall()]


def test_the_full_refresh_equals_the_per_researcher_one_and_keeps_the_triggers():
    ada, bob, cy = ResearcherFactory.create_batch(3)
    robots, proteins = TopicFactory(), TopicFactory()
    for topics, authors in (
        ([robots], [ada, bob]),
        ([robots, proteins], [ada]),
        ([proteins], [bob, cy]),
        ([proteins], [cy]),
    ):
        work = WorkFactory()
        work.topics.set(topics)
        for order, author in enumerate(authors):
            AuthorshipFactory(work=work, researcher=author, order=order)
    hidden = WorkFactory(is_hidden=True)  # counts for nothing
    hidden.topics.set([robots])
    AuthorshipFactory(work=hidden, researcher=cy)
    refresh_researcher_counts(researcher_ids=[ada.pk, bob.pk, cy.pk])
    expected = _state()
    triggers = _triggers()
    assert triggers  # the page cache's
    ResearcherTopic.objects.filter(researcher=cy).delete()
    Researcher.objects.filter(pk=cy.pk).update(works_count=0, topics_count=0)
    before = dict(ContentVersion.objects.filter(kind="R").values_list("object_id", "version"))

    refresh_all_researcher_counts()

    assert _state() == expected
    assert ResearcherTopic.objects.get(researcher=cy, topic=proteins).works_count == 2
    assert _triggers() == triggers
    after = dict(ContentVersion.objects.filter(kind="R").values_list("object_id", "version"))
    assert after[cy.pk] != before.get(cy.pk)  # its per-topic rows came back
    assert after[ada.pk] == before.get(ada.pk)  # unchanged: not bumped


def test_the_full_refresh_stores_per_topic_rows_in_key_order():
    """A researcher's per-topic rows share a page after a full refresh, for the next
    import's refresh of them."""
    people = ResearcherFactory.create_batch(10)
    topics = TopicFactory.create_batch(8)
    for index in range(20):
        work = WorkFactory()
        work.topics.set(topics[index % 5 : index % 5 + 3])
        AuthorshipFactory(work=work, researcher=people[index % 10], order=0)
        AuthorshipFactory(work=work, researcher=people[(index * 3 + 1) % 10], order=1)

    refresh_all_researcher_counts()

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT researcher_id, topic_id FROM {ResearcherTopic._meta.db_table} ORDER BY ctid"
        )
        stored = cursor.fetchall()
    assert len(stored) > 30
    assert stored == sorted(stored)


def _everything() -> dict[str, list]:
    topics, counts = _state()
    return {
        "topics": topics,
        "counts": counts,
        "close": sorted(Researcher.objects.values_list("pk", "close_collaborators_count")),
        "edges": sorted(
            CoauthorEdge.objects.values_list(
                "researcher_id", "coauthor_id", "shared_works", "smallest_team", "is_close"
            )
        ),
        "documents": sorted(ResearcherSearch.objects.values_list("researcher_id", "works_count")),
        "members": sorted(
            ResearcherInstitution.objects.values_list("researcher_id", "institution_id")
        ),
    }


def _forget_derived_data() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {CoauthorEdge._meta.db_table}, {ResearcherTopic._meta.db_table}, "
            f"{ResearcherSearch._meta.db_table}, {ResearcherInstitution._meta.db_table}"
        )
    Researcher.objects.update(works_count=0, topics_count=0, close_collaborators_count=0)


@pytest.mark.django_db(transaction=True)  # committed rows: the edges' connection sees them
def test_outside_a_transaction_the_longest_fills_run_beside_the_rest_with_the_same_result(
    monkeypatch,
):
    """Outside a transaction (a first import's refresh) the per-topic rows and the edges
    are filled on a second connection while this one rebuilds the memberships, counts and
    documents; the result is what the one-connection rebuild inside a transaction gives."""
    team = ResearcherFactory.create_batch(4)
    team[0].last_known_institution = InstitutionFactory()
    team[0].save()
    topic = TopicFactory()
    for size in (2, 3, 4, 4):
        work = WorkFactory(authors_count=size)
        work.topics.add(topic)
        for position, researcher in enumerate(team[:size]):
            AuthorshipFactory(work=work, researcher=researcher, order=position)
    threads: list[str] = []
    for name in ("fill_all_researcher_topics", "fill_all_coauthor_edges"):
        real_fill = getattr(derived, name)

        def watching(real_fill=real_fill):
            threads.append(threading.current_thread().name)
            return real_fill()

        monkeypatch.setattr(derived, name, watching)

    beside = derived._refresh_everything()
    parallel = _everything()
    _forget_derived_data()
    with transaction.atomic():
        in_one = derived._refresh_everything()

    assert len(threads) == 2 and threading.current_thread().name not in threads
    assert beside == in_one == {r.pk for r in team}
    assert _everything() == parallel
    assert len(parallel["edges"]) == 12 and parallel["counts"][0][1:] == (4, 1)
    assert {count for _, count in parallel["close"]} == {3}
    assert parallel["members"] == [(team[0].pk, team[0].last_known_institution_id)]
