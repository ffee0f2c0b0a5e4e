"""The slice drawing is laid out when the fragment renders, and the rendered fragment is
cached by the slice's content and the release of the code that draws it."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from bzpeer.pagecache import front
from graph import drawing
from graph.models import GraphSlice
from graph.services import build_slice
from tests.builders import researcher_with_coauthors

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def fragment(client, researcher) -> str:
    response = client.get(f"/researchers/{researcher.pk}/graph/slice/", headers=HTMX)
    assert response.status_code == 200
    return response.content.decode()


def circles(html: str) -> list[tuple[str, str, str]]:
    return re.findall(r'<circle class="node node-(\w+)" cx="([\d.]+)" cy="([\d.]+)" r="\d+"', html)


def test_ring_layout_puts_the_researcher_in_the_middle_and_the_rest_on_rings():
    nodes = [
        {"id": "researcher:1", "type": "researcher"},
        {"id": "researcher:2", "type": "person"},
        {"id": "topic:3", "type": "topic"},
        {"id": "work:4", "type": "paper"},
    ]
    positions = drawing.ring_layout(nodes)
    assert positions[0] == (380, 220)
    # person and topic share the inner ellipse (radii 200 x 115), turned by 0.3 rad.
    assert positions[1] == (round(380 + 200 * 0.955336489, 1), round(220 + 115 * 0.295520207, 1))
    assert positions[3] == (round(380 + 330 * 0.825335615, 1), round(220 + 185 * 0.564642473, 1))
    assert drawing.ring_layout(nodes) == positions  # the same nodes, the same drawing


def test_the_fragment_draws_positions_the_payload_does_not_hold(
    client, queued_builds, django_capture_on_commit_callbacks
):
    lead = researcher_with_coauthors(coauthors=4, works=3, topics=2)
    graph_slice = build_slice(researcher_id=lead.pk)
    assert all("x" not in n for n in graph_slice.payload["nodes"])
    with django_capture_on_commit_callbacks(execute=True):
        drawn = circles(fragment(client, lead))
    expected = drawing.ring_layout(graph_slice.payload["nodes"])
    nodes = graph_slice.payload["nodes"]
    assert drawn[: len(nodes)] == [
        (n["type"], str(x), str(y)) for n, (x, y) in zip(nodes, expected, strict=True)
    ]
    assert queued_builds == []


def test_a_payload_stored_with_positions_renders_the_same_drawing(client, queued_builds):
    """Slices built before the layout moved to render time carry x and y: they still
    render, with the render-time layout (their fingerprint is unchanged, so they are not
    rebuilt for it)."""
    lead = researcher_with_coauthors(coauthors=4, works=3, topics=2)
    graph_slice = build_slice(researcher_id=lead.pk)
    now = fragment(client, lead)
    cache.clear()
    old = graph_slice.payload
    old["nodes"] = [{**n, "x": 1.0, "y": 2.0} for n in old["nodes"]]
    GraphSlice.objects.filter(pk=graph_slice.pk).update(payload=old)
    assert fragment(client, lead) == now


def test_new_content_is_rendered_again_even_at_the_same_build_time(client, queued_builds):
    lead = researcher_with_coauthors(coauthors=2, works=2, topics=1)
    graph_slice = build_slice(researcher_id=lead.pk)
    first = fragment(client, lead)
    payload = graph_slice.payload
    payload["nodes"][1]["label"] = "Renamed co-author"
    # Same computed_at, new content: the key follows the content, not a counter.
    GraphSlice.objects.filter(pk=graph_slice.pk).update(payload=payload, fingerprint="changed")
    again = fragment(client, lead)
    assert again != first
    assert "Renamed co-author" in again


def test_a_new_release_renders_again(client, queued_builds, monkeypatch):
    from graph import views

    lead = researcher_with_coauthors()
    build_slice(researcher_id=lead.pk)
    renders: list[str] = []
    original = views.render_to_string
    monkeypatch.setattr(
        views, "render_to_string", lambda *a, **k: renders.append(a[0]) or original(*a, **k)
    )
    fragment(client, lead)
    fragment(client, lead)
    assert len(renders) == 1
    monkeypatch.setattr(drawing, "RENDER_RELEASE", "next-release")
    # A release starts new worker processes: nothing they kept in front of the view is left.
    front.clear()
    fragment(client, lead)
    assert len(renders) == 2


def test_the_release_is_a_digest_of_the_code_and_templates_that_draw():
    names = {path.name for path in drawing.RENDER_SOURCES}
    assert {"_slice.html", "_slice_drawing.html", "drawing.py", "nodes.py"} <= names
    assert all(path.is_file() for path in drawing.RENDER_SOURCES)
    assert re.fullmatch(r"[0-9a-f]{16}", drawing.RENDER_RELEASE)


def test_cache_key_changes_with_content_and_release(queued_builds):
    lead = researcher_with_coauthors()
    graph_slice = build_slice(researcher_id=lead.pk)
    key = drawing.slice_html_key(graph_slice, lead)
    assert drawing.RENDER_RELEASE in key
    changed = GraphSlice.objects.get(pk=graph_slice.pk)
    changed.fingerprint = "other"
    assert drawing.slice_html_key(changed, lead) != key
    rebuilt = build_slice(researcher_id=lead.pk, force=True)
    assert drawing.slice_html_key(rebuilt, lead) != key
    lead.close_collaborators_count += 1
    assert drawing.slice_html_key(graph_slice, lead) != key


def test_labels_name_the_centre_topics_and_top_coauthors_without_overlap():
    nodes = [{"id": "researcher:1", "type": "researcher", "label": "Ada Lovelace"}]
    nodes += [
        {
            "id": f"researcher:{i}",
            "type": "person",
            "label": f"Co-author number {i} with a long name",
            "close": i % 3 == 0,
        }
        for i in range(2, 12)
    ]
    nodes += [{"id": f"topic:{i}", "type": "topic", "label": f"Topic {i}"} for i in range(3)]
    nodes += [{"id": f"work:{i}", "type": "paper", "label": f"Paper {i}"} for i in range(4)]
    placed = [
        {**node, "x": x, "y": y}
        for node, (x, y) in zip(nodes, drawing.ring_layout(nodes), strict=True)
    ]
    labels = drawing.place_labels(placed, placed[0])

    texts = [label["text"] for label in labels]
    assert texts[0] == "Ada Lovelace"
    assert {"Topic 0", "Topic 1", "Topic 2"} <= set(texts)
    people = [label for label in labels if label["type"] == "person"]
    assert 1 <= len(people) <= drawing.LABELLED_PEOPLE
    assert not any(label["type"] == "paper" for label in labels)
    boxes = [
        drawing._label_box(label["text"], label["x"], label["y"], label["anchor"])
        for label in labels
    ]
    for i, a in enumerate(boxes):
        assert a[0] >= 0 and a[2] <= drawing.WIDTH and a[1] >= 0 and a[3] <= drawing.HEIGHT
        for b in boxes[i + 1 :]:
            assert not drawing._overlaps(a, b), (a, b)
