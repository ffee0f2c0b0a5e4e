"""The full explorer page and the neighbours JSON it expands nodes from."""

from __future__ import annotations

import json
import re

import pytest

from graph import nodes, queries
from graph.models import GraphSlice
from graph.services import build_slice
from tests.builders import researcher_with_coauthors
from tests.factories import (
    AuthorshipFactory,
    InstitutionFactory,
    ResearcherFactory,
    TopicFactory,
    WorkFactory,
)

pytestmark = pytest.mark.django_db


def explorer_url(researcher) -> str:
    return f"/researchers/{researcher.pk}/graph/"


def neighbours_url(node_id: str) -> str:
    return f"/graph/nodes/{node_id}/neighbours.json"


def embedded_graph(html: str) -> dict:
    match = re.search(r'<script id="explorer-data" type="application/json">(.*?)</script>', html)
    assert match, "the page embeds its graph as JSON"
    return json.loads(match.group(1))


# --- the page -----------------------------------------------------------------------------


def test_explorer_shows_the_ready_slice_as_graph_and_lists(
    client, teven, queued_builds, django_capture_on_commit_callbacks
):
    graph_slice = build_slice(researcher_id=teven.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(explorer_url(teven))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Research graph explorer: Teven Le Scao" in html
    # cytoscape from node_modules (STATICFILES_DIRS), then our script, both deferred.
    assert '<script src="/static/vendor/cytoscape/cytoscape.min.js" defer></script>' in html
    assert '<script src="/static/js/explorer.js" defer></script>' in html
    assert '<link rel="stylesheet" href="/static/css/explorer.css">' in html
    assert 'id="explorer-canvas"' in html
    # No inline executable script: only the JSON data block.
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html) == []
    data = embedded_graph(html)
    assert data["center"] == f"researcher:{teven.pk}"
    assert len(data["nodes"]) == len(graph_slice.payload["nodes"])
    # The list view holds the same nodes as links (it works without JavaScript).
    for node in graph_slice.payload["nodes"][1:]:
        assert (
            f'<li data-node-id="{node["id"]}" data-type="{node["type"]}"><a href="{node["url"]}">'
            in html
        )
    # Legend and type filter, one checkbox per node type.
    for kind, _ in nodes.LEGEND:
        assert f'name="type" value="{kind}" checked' in html
    assert 'id="explorer-search"' in html
    assert "The ranked slice for this researcher is still being built" not in html
    assert queued_builds == []


def test_explorer_before_the_slice_shows_live_neighbours_and_queues_it(
    client, queued_builds, django_capture_on_commit_callbacks
):
    lead = researcher_with_coauthors(coauthors=3, works=2)
    with django_capture_on_commit_callbacks(execute=True):
        html = client.get(explorer_url(lead)).content.decode()
    data = embedded_graph(html)
    kinds = {n["type"] for n in data["nodes"]}
    assert kinds == {"researcher", "person", "paper", "topic", "institution"}
    assert "The ranked slice for this researcher is still being built" in html
    assert queued_builds == [lead.pk]
    assert GraphSlice.objects.get(researcher=lead).status == GraphSlice.Status.QUEUED


def test_explorer_unknown_researcher_is_404(client):
    assert client.get("/researchers/987654321/graph/").status_code == 404


def test_explorer_of_a_merged_record_redirects(client):
    survivor = ResearcherFactory()
    merged = ResearcherFactory(merged_into=survivor)
    response = client.get(explorer_url(merged))
    assert response.status_code == 301
    assert response["Location"] == explorer_url(survivor)


def test_explorer_query_budget_is_the_same_small_and_large(client, queued_builds, query_budget):
    small = researcher_with_coauthors(coauthors=1, works=1, topics=1, name="Small")
    large = researcher_with_coauthors(
        coauthors=40, works=60, topics=10, institutions=6, name="Large"
    )
    for researcher in (small, large):
        build_slice(researcher_id=researcher.pk)
        with query_budget("graph.explorer"):
            assert client.get(explorer_url(researcher)).status_code == 200


# --- neighbours.json -------------------------------------------------------------------------


def test_researcher_neighbours(client, teven):
    response = client.get(neighbours_url(f"researcher:{teven.pk}"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    # Kept by caches but revalidated on every use (a hidden record leaves at once).
    assert response["Cache-Control"] == "public, no-cache"
    assert response["ETag"]
    data = response.json()
    assert data["node"]["id"] == f"researcher:{teven.pk}"
    kinds = [n["type"] for n in data["nodes"]]
    assert kinds.count("person") == queries.NEIGHBOUR_PEOPLE  # 88 co-authors, capped
    assert kinds.count("paper") == 7
    assert kinds.count("topic") == 3
    assert data["truncated"] is True
    assert data["nodes"][0]["label"] == "Thomas Wang"
    assert {e["source"] for e in data["edges"]} == {data["node"]["id"]}
    assert {e["type"] for e in data["edges"]} == {"coauthor", "authored", "studies"}


def test_work_neighbours_authors_in_order_capped(client, teven):
    big = teven.authorships.get(work__title="Ministral 3").work
    data = client.get(neighbours_url(f"work:{big.pk}")).json()
    people = [n for n in data["nodes"] if n["type"] == "person"]
    assert len(people) == queries.NEIGHBOUR_AUTHORS  # 119 authors on the record
    assert data["truncated"] is True
    first = big.authorships.order_by("order").select_related("researcher")[0].researcher
    assert people[0]["id"] == f"researcher:{first.pk}"
    assert {
        "source": f"researcher:{first.pk}",
        "target": f"work:{big.pk}",
        "type": "authored",
    } in data["edges"]
    assert sorted(n["label"] for n in data["nodes"] if n["type"] == "topic") == [
        "Deep Learning Methods",
        "Large Language Models",
    ]


def test_topic_and_institution_neighbours(client):
    topic = TopicFactory(display_name="Graph Theory")
    place = InstitutionFactory(display_name="Bangor University")
    people = ResearcherFactory.create_batch(3, last_known_institution=place)
    for person in people:
        work = WorkFactory()
        work.topics.add(topic)
        AuthorshipFactory(work=work, researcher=person)
    from bzpeer.curation.derived import refresh_researcher_counts

    refresh_researcher_counts(researcher_ids=[p.pk for p in people])
    topic_data = client.get(neighbours_url(f"topic:{topic.pk}")).json()
    assert sorted(n["type"] for n in topic_data["nodes"]) == ["paper"] * 3 + ["person"] * 3
    place_data = client.get(neighbours_url(f"institution:{place.pk}")).json()
    assert {n["id"] for n in place_data["nodes"]} == {f"researcher:{p.pk}" for p in people}
    assert place_data["truncated"] is False


@pytest.mark.parametrize(
    "node_id",
    ["researcher:987654321", "work:987654321", "topic:0", "institution:5x", "user:1", "nonsense"],
)
def test_unknown_or_malformed_node_is_404(client, node_id):
    assert client.get(neighbours_url(node_id)).status_code == 404


def test_hidden_work_and_merged_researcher_are_404(client):
    hidden = WorkFactory(is_hidden=True)
    merged = ResearcherFactory(merged_into=ResearcherFactory())
    assert client.get(neighbours_url(f"work:{hidden.pk}")).status_code == 404
    assert client.get(neighbours_url(f"researcher:{merged.pk}")).status_code == 404


def test_neighbours_is_get_only(client):
    lead = researcher_with_coauthors()
    assert client.post(neighbours_url(f"researcher:{lead.pk}")).status_code == 405


@pytest.mark.parametrize("kind", ["researcher", "work", "topic", "institution"])
def test_neighbours_query_budget_is_constant(client, kind, query_budget):
    small = researcher_with_coauthors(coauthors=1, works=1, topics=1, name="Small")
    large = researcher_with_coauthors(
        coauthors=60, works=40, topics=12, institutions=5, name="Large"
    )
    for researcher in (small, large):
        node = {
            "researcher": researcher,
            "work": researcher.authorships.order_by("-work__authors_count").first().work,
            "topic": researcher.topics.first(),
            "institution": researcher.last_known_institution,
        }[kind]
        with query_budget(f"graph.neighbours.{kind}"):
            response = client.get(neighbours_url(f"{kind}:{node.pk}"))
        assert response.status_code == 200
