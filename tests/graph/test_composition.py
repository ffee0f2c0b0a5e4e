"""The slice composed one node kind at a time: each part on its own, and the payload
they make together."""

from __future__ import annotations

import pytest

from bzpeer.curation.derived import refresh_derived_data
from graph import composition
from graph.composition import (
    compose_slice,
    institutions_part,
    papers_part,
    people_part,
    slice_inputs,
    suggestions_part,
    topics_part,
)
from profiles.models import Researcher
from tests.builders import researcher_with_coauthors
from tests.factories import (
    AuthorshipFactory,
    InstitutionFactory,
    ResearcherFactory,
    TopicFactory,
    WorkFactory,
)

pytestmark = pytest.mark.django_db


def loaded(researcher: Researcher) -> Researcher:
    return Researcher.objects.select_related("last_known_institution").get(pk=researcher.pk)


def test_people_part_ranks_flags_and_joins_coauthors_to_the_centre():
    lead = loaded(researcher_with_coauthors(coauthors=14, works=4))
    part = people_part(lead)
    assert len(part.nodes) == composition.MAX_PEOPLE
    assert {n["type"] for n in part.nodes} == {"person"}
    edges = list(lead.coauthor_edges.order_by("-shared_works", "-last_year"))
    assert part.nodes[0]["id"] == f"researcher:{part.coauthors[0].pk}"
    assert part.edges[0] == {
        "source": f"researcher:{lead.pk}",
        "target": part.nodes[0]["id"],
        "type": "coauthor",
        "weight": edges[0].shared_works,
    }
    assert part.close_ids == [
        p.pk for p, n in zip(part.coauthors, part.nodes, strict=True) if n["close"]
    ]
    assert [n["id"] for n in part.nodes] == [f"researcher:{p.pk}" for p in part.coauthors]


def test_topics_part_orders_by_works_and_hands_on_the_topic_ids():
    lead = loaded(researcher_with_coauthors(works=6, topics=3))
    part = topics_part(lead)
    assert [n["id"] for n in part.nodes] == [f"topic:{pk}" for pk in part.topic_ids]
    assert [n["detail"] for n in part.nodes] == ["2 works"] * 3
    assert {(e["source"], e["type"]) for e in part.edges} == {(f"researcher:{lead.pk}", "studies")}


def test_papers_part_joins_papers_only_to_the_topics_shown():
    shown, hidden = TopicFactory.create_batch(2)
    lead = ResearcherFactory()
    work = WorkFactory(publication_year=2020)
    work.topics.add(shown, hidden)
    AuthorshipFactory(work=work, researcher=lead)
    part = papers_part(loaded(lead), close_ids=[], topic_ids=[shown.pk])
    assert [n["id"] for n in part.nodes] == [f"work:{work.pk}"]
    assert part.nodes[0]["relation"] == "authored"
    assert part.edges == [
        {"source": f"researcher:{lead.pk}", "target": f"work:{work.pk}", "type": "authored"},
        {"source": f"work:{work.pk}", "target": f"topic:{shown.pk}", "type": "about"},
    ]


def test_institutions_part_joins_the_centre_and_the_coauthors_seen_there():
    home, away = InstitutionFactory(), InstitutionFactory()
    lead = ResearcherFactory(last_known_institution=home)
    friend = ResearcherFactory(last_known_institution=away)
    part = institutions_part(loaded(lead), coauthors=[friend])
    assert [n["id"] for n in part.nodes] == [f"institution:{home.pk}", f"institution:{away.pk}"]
    assert part.edges == [
        {
            "source": f"researcher:{lead.pk}",
            "target": f"institution:{home.pk}",
            "type": "affiliated",
        },
        {
            "source": f"researcher:{friend.pk}",
            "target": f"institution:{away.pk}",
            "type": "affiliated",
        },
    ]


def test_suggestions_part_has_nodes_and_no_edges():
    topic = TopicFactory()
    lead, stranger = ResearcherFactory(), ResearcherFactory(display_name="Stranger")
    for person in (lead, stranger):
        work = WorkFactory()
        work.topics.add(topic)
        AuthorshipFactory(work=work, researcher=person)
    refresh_derived_data(researcher_ids=[lead.pk, stranger.pk])
    part = suggestions_part(loaded(lead), topic_ids=[topic.pk])
    assert part.nodes == [
        {
            "id": f"researcher:{stranger.pk}",
            "type": "suggestion",
            "label": "Stranger",
            "url": stranger.get_absolute_url(),
            "detail": "1 work on the same topics",
        }
    ]
    assert part.edges == []
    assert suggestions_part(loaded(lead), topic_ids=[]).nodes == []


def test_payload_is_the_parts_in_order_with_no_positions():
    lead = loaded(researcher_with_coauthors(coauthors=5, works=4, topics=2, institutions=2))
    payload = compose_slice(lead, slice_inputs(lead))
    types = [n["type"] for n in payload["nodes"]]
    assert types[0] == "researcher"
    order = ["person", "topic", "paper", "institution", "suggestion"]
    assert types[1:] == sorted(types[1:], key=order.index)
    assert payload["center"] == f"researcher:{lead.pk}"
    # Data only: the drawing's positions are worked out when the fragment renders.
    assert all("x" not in n and "y" not in n for n in payload["nodes"])
    ids = [n["id"] for n in payload["nodes"]]
    assert len(ids) == len(set(ids))
    assert all(e["source"] in ids and e["target"] in ids for e in payload["edges"])
