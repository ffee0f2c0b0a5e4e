"""Node ids and node dicts: one shape for a record whether the slice or the explorer
built it, and the node types the explorer is sent."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from graph import nodes
from graph.models import GraphSlice
from graph.services import build_slice
from tests.builders import researcher_with_coauthors
from tests.factories import InstitutionFactory, ResearcherFactory, TopicFactory, WorkFactory


@pytest.mark.parametrize("kind", nodes.NODE_KINDS)
def test_node_id_is_kind_colon_pk_and_parses_back(kind):
    assert nodes.node_id(kind, 42) == f"{kind}:42"
    assert nodes.parse_node_id(nodes.node_id(kind, 42)) == (kind, 42)


def test_node_ids_of_different_kinds_never_collide():
    ids = {nodes.node_id(kind, pk) for kind in nodes.NODE_KINDS for pk in (1, 2, 10, 12)}
    assert len(ids) == len(nodes.NODE_KINDS) * 4


@pytest.mark.parametrize("kind", ["person", "paper", "suggestion", "user", ""])
def test_node_id_refuses_a_kind_that_is_not_a_record(kind):
    with pytest.raises(ValueError):
        nodes.node_id(kind, 1)


@pytest.mark.parametrize(
    "value", ["work:", "work:-1", "work:1x", "paper:1", "x", "work:" + "9" * 19]
)
def test_malformed_node_ids_are_unknown(value):
    with pytest.raises(nodes.UnknownNode):
        nodes.parse_node_id(value)


@pytest.mark.django_db
def test_builders_give_one_id_per_record():
    researcher = ResearcherFactory()
    work = WorkFactory(title="")
    topic, place = TopicFactory(), InstitutionFactory()
    assert nodes.researcher_node(researcher)["id"] == f"researcher:{researcher.pk}"
    for type_ in ("researcher", "person", "suggestion"):
        node = nodes.researcher_node(researcher, type=type_)
        assert (node["id"], node["type"]) == (f"researcher:{researcher.pk}", type_)
    assert nodes.work_node(work) == {
        "id": f"work:{work.pk}",
        "type": "paper",
        "label": "Untitled work",
        "url": work.get_absolute_url(),
        "detail": nodes.work_node(work)["detail"],
    }
    assert nodes.work_node(work, relation="nearby")["relation"] == "nearby"
    assert nodes.topic_node(topic)["id"] == f"topic:{topic.pk}"
    assert nodes.institution_node(place)["id"] == f"institution:{place.pk}"


@pytest.mark.django_db
def test_slice_and_explorer_give_a_record_the_same_node_id(client, queued_builds):
    lead = researcher_with_coauthors(coauthors=4, works=3, topics=2)
    graph_slice = build_slice(researcher_id=lead.pk)
    hood = client.get(f"/graph/nodes/researcher:{lead.pk}/neighbours.json").json()
    slice_ids = {n["id"] for n in graph_slice.payload["nodes"]}
    hood_ids = {n["id"] for n in [hood["node"], *hood["nodes"]]}
    # Every node the explorer adds for the same researcher is one the slice already has
    # (same co-authors, papers, topics, institution), never a second copy.
    assert hood_ids <= slice_ids
    assert all(nodes.parse_node_id(node_id) for node_id in slice_ids)


@pytest.mark.django_db
def test_explorer_gets_the_node_types_from_the_server(client, queued_builds):
    lead = researcher_with_coauthors()
    build_slice(researcher_id=lead.pk)
    html = client.get(f"/researchers/{lead.pk}/graph/").content.decode()
    match = re.search(
        r'<script id="explorer-node-types" type="application/json">(.*?)</script>', html
    )
    assert match, "the node types travel as a JSON data block"
    sent = json.loads(match.group(1))
    assert [t["type"] for t in sent] == [t.type for t in nodes.NODE_TYPES]
    assert sent[1] == {
        "type": "person",
        "name": "Co-author",
        "legend": "co-author",
        "group": "people",
        "color": "#1d6b3a",
        "shape": "ellipse",
        "size": 18,
    }
    assert GraphSlice.objects.get(researcher=lead).status == GraphSlice.Status.READY


def test_the_explorer_script_holds_no_list_of_node_types():
    script = (Path(settings.BASE_DIR) / "static" / "js" / "explorer.js").read_text()
    for node_type in nodes.NODE_TYPES:
        assert f'"{node_type.name}"' not in script
        assert f"{node_type.type}: {{" not in script  # no per-type table
    for look in ("#0b5cad", "#1d6b3a", "#8a4b00", "#6b2d8f", "#a11d1d", "diamond", "hexagon"):
        assert look not in script
