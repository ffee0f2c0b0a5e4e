"""The full refresh of per-researcher counts (a change touching a large share of the corpus:
a first import) writes what the per-researcher refresh writes, into a swapped-in table that
keeps its page-cache triggers and bumps the profiles whose rows changed."""

from __future__ import annotations

import pytest
from django.db import connection

from bzpeer.curation.derived import refresh_all_researcher_counts, refresh_researcher_counts
from bzpeer.pagecache.models import ContentVersion
from profiles.models import Researcher, ResearcherTopic
from tests.factories import AuthorshipFactory, ResearcherFactory, TopicFactory, WorkFactory

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
