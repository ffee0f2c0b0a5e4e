from __future__ import annotations

import pytest

from bzpeer.curation.derived import (
    recompute_researchers,
    recompute_trust,
    refresh_derived_data,
    refresh_researcher_counts,
)
from profiles.models import ResearcherTopic
from tests.factories import (
    AuthorshipFactory,
    ResearcherFactory,
    TopicFactory,
    UserFactory,
    WorkFactory,
)

pytestmark = pytest.mark.django_db


def test_refresh_counts_recounts_works_topics_and_followers():
    researcher = ResearcherFactory(works_count=99, followers_count=42)
    topic_a, topic_b = TopicFactory(), TopicFactory()
    for topics in ([topic_a], [topic_a, topic_b]):
        work = WorkFactory()
        work.topics.set(topics)
        AuthorshipFactory(work=work, researcher=researcher)
    hidden = WorkFactory(is_hidden=True)
    hidden.topics.add(TopicFactory())
    AuthorshipFactory(work=hidden, researcher=researcher)
    refresh_researcher_counts(researcher_ids=[researcher.pk])
    researcher.refresh_from_db()
    assert (researcher.works_count, researcher.topics_count, researcher.followers_count) == (
        2,
        2,
        0,
    )
    weights = dict(
        ResearcherTopic.objects.filter(researcher=researcher).values_list("topic_id", "works_count")
    )
    assert weights == {topic_a.pk: 2, topic_b.pk: 1}


def test_recompute_trust_stores_score_band_and_components():
    researcher = ResearcherFactory(orcid="0000-0002-1825-0097", summary="I study graphs.")
    AuthorshipFactory(researcher=researcher, work=WorkFactory(doi="10.1/abc"))
    refresh_researcher_counts(researcher_ids=[researcher.pk])
    assert recompute_trust(researcher_ids=[researcher.pk]) == 1
    researcher.refresh_from_db()
    assert researcher.trust_computed_at is not None
    assert researcher.trust_score == sum(
        part["points"] for part in researcher.trust_components.values()
    )
    assert researcher.trust_components["record"]["why"] == "1 work with a DOI or arXiv id"


def test_recompute_researchers_runs_twice_with_the_same_result():
    researcher = ResearcherFactory()
    coauthor = ResearcherFactory()
    work = WorkFactory(authors_count=2, arxiv_id="2401.04088")
    AuthorshipFactory(work=work, researcher=researcher)
    AuthorshipFactory(work=work, researcher=coauthor, order=1)
    refresh_derived_data(researcher_ids=[researcher.pk, coauthor.pk])
    recompute_researchers(researcher_ids=[researcher.pk])
    researcher.refresh_from_db()
    first = (researcher.trust_score, researcher.trust_components, researcher.trust_computed_at)
    recompute_researchers(researcher_ids=[researcher.pk])
    researcher.refresh_from_db()
    assert (
        researcher.trust_score,
        researcher.trust_components,
        researcher.trust_computed_at,
    ) == first


def test_recompute_trust_task_function_is_idempotent():
    from bzpeer.curation.tasks import recompute_trust as task

    researcher = ResearcherFactory()
    assert task(researcher_ids=[researcher.pk]) == 1
    assert task(researcher_ids=[researcher.pk]) == 0


def test_refresh_derived_data_counts_close_collaborators_of_both_sides():
    a, b = ResearcherFactory(), ResearcherFactory()
    work = WorkFactory(authors_count=2)
    AuthorshipFactory(work=work, researcher=a)
    AuthorshipFactory(work=work, researcher=b, order=1)
    affected = refresh_derived_data(researcher_ids=[a.pk])
    assert {a.pk, b.pk} <= affected
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.close_collaborators_count, b.close_collaborators_count) == (1, 1)


def test_claimed_coauthor_counts_as_verified_in_trust():
    a, b = ResearcherFactory(), ResearcherFactory(owner=UserFactory())
    work = WorkFactory(authors_count=2)
    AuthorshipFactory(work=work, researcher=a)
    AuthorshipFactory(work=work, researcher=b, order=1)
    refresh_derived_data(researcher_ids=[a.pk, b.pk])
    recompute_trust(researcher_ids=[a.pk])
    a.refresh_from_db()
    assert a.trust_components["network"]["why"] == "1 close collaborator(s), 1 verified"


def test_not_me_work_leaves_counts_and_trust():
    from claims.models import NotMeReport

    owner = UserFactory()
    researcher = ResearcherFactory(owner=owner)
    topic = TopicFactory()
    kept, reported = WorkFactory(doi="10.1/kept"), WorkFactory(doi="10.1/reported")
    reported.topics.add(topic)
    for work in (kept, reported):
        AuthorshipFactory(work=work, researcher=researcher)
    NotMeReport.objects.create(researcher=researcher, work=reported, user=owner, reason="Not me")
    refresh_researcher_counts(researcher_ids=[researcher.pk])
    recompute_trust(researcher_ids=[researcher.pk])
    researcher.refresh_from_db()
    assert (researcher.works_count, researcher.topics_count) == (1, 0)
    assert researcher.trust_components["record"]["why"] == "1 work with a DOI or arXiv id"
