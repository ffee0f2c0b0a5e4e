"""The slice: ranking, caps, fingerprint, idempotent builds."""

from __future__ import annotations

import pytest

from bzpeer.curation.derived import refresh_derived_data, refresh_researcher_counts
from graph import composition
from graph.models import GraphSlice
from graph.services import build_slice
from graph.tasks import build_graph_slice
from tests.builders import researcher_with_coauthors
from tests.factories import (
    AuthorshipFactory,
    InstitutionFactory,
    ResearcherFactory,
    TopicFactory,
    WorkFactory,
)

pytestmark = pytest.mark.django_db


def nodes_of(graph_slice: GraphSlice, kind: str) -> list[dict]:
    return [n for n in graph_slice.payload["nodes"] if n["type"] == kind]


def labels(graph_slice: GraphSlice, kind: str) -> list[str]:
    return [n["label"] for n in nodes_of(graph_slice, kind)]


def test_seed_profile_slice(teven):
    graph_slice = build_slice(researcher_id=teven.pk)
    assert graph_slice.status == GraphSlice.Status.READY
    people = labels(graph_slice, "person")
    # Shared works first (Thomas Wang 3), then two shared works each, most recent first
    # (W4 2022 for Colin Raffel; W3 2022 for the four also on W5), then by name.
    assert people[:6] == [
        "Thomas Wang",
        "Alexander M. Rush",
        "Canwen Xu",
        "Colin Raffel",
        "Thomas Wolf",
        "Victor Sanh",
    ]
    assert len(people) == composition.MAX_PEOPLE
    assert sorted(labels(graph_slice, "topic")) == [
        "Deep Learning Methods",
        "Large Language Models",
        "Natural Language Processing",
    ]
    # Recent own works (no citation counts in the seed data, so no "most cited" ones).
    assert labels(graph_slice, "paper")[:2] == ["Ministral 3", "Mixtral of Experts"]
    assert len(nodes_of(graph_slice, "paper")) == composition.MAX_RECENT_PAPERS
    # Every researcher on these topics worked with him: no suggestions.
    assert nodes_of(graph_slice, "suggestion") == []
    assert graph_slice.payload["counts"] == {"coauthors": 88, "close_collaborators": 8}
    close = {n["label"] for n in nodes_of(graph_slice, "person") if n["close"]}
    assert close == set(people[:6])


def test_slice_is_capped():
    lead = researcher_with_coauthors(coauthors=30, works=20, topics=12, institutions=9)
    graph_slice = build_slice(researcher_id=lead.pk)
    nodes = graph_slice.payload["nodes"]
    assert len(nodes) <= composition.MAX_NODES <= 40
    assert len(nodes_of(graph_slice, "person")) == composition.MAX_PEOPLE
    assert len(nodes_of(graph_slice, "topic")) == composition.MAX_TOPICS
    assert len(nodes_of(graph_slice, "institution")) == composition.MAX_INSTITUTIONS
    papers = nodes_of(graph_slice, "paper")
    assert len(papers) == composition.MAX_RECENT_PAPERS + composition.MAX_CITED_PAPERS
    assert len({n["id"] for n in nodes}) == len(nodes)
    ids = {n["id"] for n in nodes}
    assert all(e["source"] in ids and e["target"] in ids for e in graph_slice.payload["edges"])
    assert graph_slice.payload["counts"]["coauthors"] == 30


def test_people_ranked_by_shared_works_then_recency_then_name():
    lead = ResearcherFactory()
    often, recent, older_b, older_a = (
        ResearcherFactory(display_name=name) for name in ("Often", "Recent", "Bea", "Abe")
    )
    for year, team in (
        (2001, [often, older_b, older_a]),
        (2002, [often]),
        (2020, [recent]),
    ):
        work = WorkFactory(publication_year=year, authors_count=1 + len(team))
        for order, person in enumerate([lead, *team]):
            AuthorshipFactory(work=work, researcher=person, order=order)
    refresh_derived_data(researcher_ids=[lead.pk])
    graph_slice = build_slice(researcher_id=lead.pk)
    assert labels(graph_slice, "person") == ["Often", "Recent", "Abe", "Bea"]


def test_papers_recent_cited_and_nearby_on_shared_topics():
    topic, other_topic = TopicFactory.create_batch(2)
    lead, close = ResearcherFactory(display_name="Lead"), ResearcherFactory(display_name="Close")
    for year, cited in ((2010, 500), (2011, 0), (2012, 0), (2013, 0), (2014, 0), (2015, 0)):
        work = WorkFactory(publication_year=year, cited_by_count=cited, authors_count=2)
        work.topics.add(topic)
        AuthorshipFactory(work=work, researcher=lead)
        AuthorshipFactory(work=work, researcher=close, order=1)
    on_topic = WorkFactory(title="Close alone, same topic", publication_year=2016)
    on_topic.topics.add(topic)
    off_topic = WorkFactory(title="Close alone, other topic", publication_year=2017)
    off_topic.topics.add(other_topic)
    for work in (on_topic, off_topic):
        AuthorshipFactory(work=work, researcher=close)
    refresh_derived_data(researcher_ids=[lead.pk, close.pk])
    graph_slice = build_slice(researcher_id=lead.pk)
    papers = nodes_of(graph_slice, "paper")
    authored = [n for n in papers if n["relation"] == "authored"]
    assert [n["detail"][:4] for n in authored] == ["2015", "2014", "2013", "2012", "2010"]
    assert [n["label"] for n in papers if n["relation"] == "nearby"] == ["Close alone, same topic"]
    edges = graph_slice.payload["edges"]
    assert {
        "source": f"researcher:{close.pk}",
        "target": f"work:{on_topic.pk}",
        "type": "authored",
    } in edges


def test_suggestions_never_worked_with_same_topics():
    topic = TopicFactory(display_name="Graph Theory")
    lead, coauthor, stranger, giant_team_mate = (
        ResearcherFactory(display_name=n) for n in ("Lead", "Coauthor", "Stranger", "Giant")
    )
    shared = WorkFactory(authors_count=2)
    shared.topics.add(topic)
    AuthorshipFactory(work=shared, researcher=lead)
    AuthorshipFactory(work=shared, researcher=coauthor, order=1)
    # A hyper-authored work makes no edge, but they did work together: not a suggestion.
    giant = WorkFactory(authors_count=500)
    giant.topics.add(topic)
    AuthorshipFactory(work=giant, researcher=lead)
    AuthorshipFactory(work=giant, researcher=giant_team_mate, order=1)
    for _ in range(2):
        work = WorkFactory()
        work.topics.add(topic)
        AuthorshipFactory(work=work, researcher=stranger)
    refresh_derived_data(researcher_ids=[lead.pk, coauthor.pk, stranger.pk, giant_team_mate.pk])
    graph_slice = build_slice(researcher_id=lead.pk)
    assert labels(graph_slice, "suggestion") == ["Stranger"]
    assert nodes_of(graph_slice, "suggestion")[0]["detail"] == "2 works on the same topics"


def test_institutions_own_first_then_coauthors():
    home, theirs = InstitutionFactory(display_name="Home"), InstitutionFactory(display_name="Away")
    lead = ResearcherFactory(last_known_institution=home)
    people = ResearcherFactory.create_batch(2, last_known_institution=theirs)
    work = WorkFactory(authors_count=3)
    for order, person in enumerate([lead, *people]):
        AuthorshipFactory(work=work, researcher=person, order=order)
    refresh_derived_data(researcher_ids=[lead.pk])
    graph_slice = build_slice(researcher_id=lead.pk)
    assert labels(graph_slice, "institution") == ["Home", "Away"]


def test_fingerprint_stops_needless_rebuilds(django_assert_max_num_queries):
    lead = researcher_with_coauthors()
    first = build_slice(researcher_id=lead.pk)
    computed_at = first.computed_at
    with django_assert_max_num_queries(8):  # the fingerprint's aggregates, no payload
        second = build_slice(researcher_id=lead.pk)
    assert second.computed_at == computed_at
    assert second.payload == first.payload

    work = WorkFactory(publication_year=2030)
    AuthorshipFactory(work=work, researcher=lead)
    refresh_researcher_counts(researcher_ids=[lead.pk])
    third = build_slice(researcher_id=lead.pk)
    assert third.computed_at > computed_at
    assert third.fingerprint != first.fingerprint


def test_force_rebuilds_even_when_unchanged():
    lead = researcher_with_coauthors()
    first = build_slice(researcher_id=lead.pk)
    again = build_slice(researcher_id=lead.pk, force=True)
    assert again.computed_at > first.computed_at


def test_task_runs_twice_same_result():
    lead = researcher_with_coauthors(coauthors=5, works=4)
    assert build_graph_slice(lead.pk) == GraphSlice.Status.READY
    first = GraphSlice.objects.get(researcher=lead)
    assert build_graph_slice(lead.pk) == GraphSlice.Status.READY
    second = GraphSlice.objects.get(researcher=lead)
    assert second.payload == first.payload
    assert second.computed_at == first.computed_at
    assert GraphSlice.objects.filter(researcher=lead).count() == 1


def test_task_for_a_deleted_researcher_is_a_no_op():
    assert build_graph_slice(987654321) is None
    assert not GraphSlice.objects.exists()


def test_failed_build_is_recorded(monkeypatch):
    lead = researcher_with_coauthors()

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(composition, "compose_slice", broken)
    with pytest.raises(RuntimeError):
        build_slice(researcher_id=lead.pk)
    graph_slice = GraphSlice.objects.get(researcher=lead)
    assert graph_slice.status == GraphSlice.Status.FAILED
    assert "database went away" in graph_slice.error


def test_failed_rebuild_keeps_the_ready_slice(monkeypatch):
    lead = researcher_with_coauthors()
    ready = build_slice(researcher_id=lead.pk)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(composition, "compose_slice", broken)
    with pytest.raises(RuntimeError):
        build_slice(researcher_id=lead.pk, force=True)
    graph_slice = GraphSlice.objects.get(researcher=lead)
    assert graph_slice.status == GraphSlice.Status.READY
    assert graph_slice.payload == ready.payload


def test_works_reported_not_me_leave_the_slice(teven):
    from claims.models import NotMeReport
    from tests.factories import UserFactory

    first = build_slice(researcher_id=teven.pk)
    assert "Ministral 3" in labels(first, "paper")
    w1 = teven.authorships.get(work__title="Ministral 3").work
    NotMeReport.objects.create(researcher=teven, work=w1, user=UserFactory(), reason="Not me")
    again = build_slice(researcher_id=teven.pk)  # the fingerprint saw the work leave
    assert again.computed_at > first.computed_at
    assert "Ministral 3" not in labels(again, "paper")
