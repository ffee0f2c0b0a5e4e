"""The small server-rendered drawing of a slice: positions are worked out when the
fragment renders, from the stored nodes, so the saved payload holds data only."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

from graph.models import GraphSlice
from graph.nodes import LEGEND
from graph.queries import slice_groups
from profiles.models import Researcher

# The drawing's box (the SVG viewBox is 0 0 760 440): wider than tall, as the column it
# fills, so the rings are ellipses.
WIDTH, HEIGHT = 760, 440
CENTRE_X, CENTRE_Y = 380, 220
RING_OF_TYPE = {"researcher": 0, "person": 1, "topic": 1}  # anything else: the outer ring
RING_RADIUS = {0: (0, 0), 1: (200, 115), 2: (330, 185)}  # (horizontal, vertical)
# Labels: the topics and this many co-authors (close collaborators first), each kept only
# when its box overlaps no label already placed.
LABELLED_PEOPLE = 6
LABEL_CHARS = 22
LABEL_FONT_PX = 12
LABEL_CHAR_PX = 6.6  # average advance of the system sans-serif at 12px
LABEL_GAP = 10


def ring_layout(nodes: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """Each node's (x, y), in the order given: rings around the centre by type, evenly
    spaced in the order the slice lists them, each ring turned a little so edges do not
    overlap."""
    by_ring: dict[int, list[int]] = {}
    for index, node in enumerate(nodes):
        by_ring.setdefault(RING_OF_TYPE.get(node["type"], 2), []).append(index)
    positions: list[tuple[float, float]] = [(0.0, 0.0)] * len(nodes)
    for ring, members in by_ring.items():
        rx, ry = RING_RADIUS[ring]
        for place, index in enumerate(members):
            angle = 2 * math.pi * place / max(1, len(members)) + ring * 0.3
            positions[index] = (
                round(CENTRE_X + rx * math.cos(angle), 1),
                round(CENTRE_Y + ry * math.sin(angle), 1),
            )
    return positions


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def _label_box(text: str, x: float, y: float, anchor: str) -> tuple[float, float, float, float]:
    width = len(text) * LABEL_CHAR_PX
    left = {"start": x, "end": x - width, "middle": x - width / 2}[anchor]
    return (left, y - LABEL_FONT_PX, left + width, y + 3)


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(placed: list[dict[str, Any]], center: dict[str, Any] | None) -> list[dict]:
    """Labels outside their node, away from the centre; the researcher's name first, then
    the topics, then the top co-authors. A label that would overlap one already placed
    (or leave the box) is dropped: the node keeps its tooltip and the lists below name it."""
    boxes: list[tuple[float, float, float, float]] = []
    labels: list[dict[str, Any]] = []

    def add(text: str, x: float, y: float, anchor: str, kind: str) -> None:
        box = _label_box(text, x, y, anchor)
        if box[0] < 0 or box[2] > WIDTH or box[1] < 0 or box[3] > HEIGHT:
            return
        if any(_overlaps(box, other) for other in boxes):
            return
        boxes.append(box)
        labels.append(
            {"text": text, "x": round(x, 1), "y": round(y, 1), "anchor": anchor, "type": kind}
        )

    if center is not None:
        add(_short(center["label"]), center["x"], center["y"] + 32, "middle", "researcher")
    people = [n for n in placed if n["type"] == "person"]
    people.sort(key=lambda n: not n.get("close"))  # stable: the slice's order otherwise
    chosen = [n for n in placed if n["type"] == "topic"] + people[:LABELLED_PEOPLE]
    for node in chosen:
        dx, dy = node["x"] - CENTRE_X, node["y"] - CENTRE_Y
        if abs(dx) < 40:  # near the top or the bottom: centred above or below
            anchor, x = "middle", node["x"]
            y = node["y"] + (20 if dy > 0 else -12)
        else:
            anchor = "start" if dx > 0 else "end"
            x = node["x"] + (LABEL_GAP if dx > 0 else -LABEL_GAP)
            y = node["y"] + 4
        add(_short(node["label"]), x, y, anchor, node["type"])
    return labels


def slice_drawing(graph_slice: GraphSlice) -> dict[str, Any]:
    # Positions stored by older builds are ignored: the layout is always this one.
    nodes = graph_slice.payload.get("nodes", [])
    placed = [
        {**node, "x": x, "y": y} for node, (x, y) in zip(nodes, ring_layout(nodes), strict=True)
    ]
    positions = {node["id"]: (node["x"], node["y"]) for node in placed}
    lines = [
        {
            "type": e["type"],
            "x1": positions[e["source"]][0],
            "y1": positions[e["source"]][1],
            "x2": positions[e["target"]][0],
            "y2": positions[e["target"]][1],
        }
        for e in graph_slice.payload.get("edges", [])
        if e["source"] in positions and e["target"] in positions
    ]
    counts = {g.title: len(g.nodes) for g in slice_groups(graph_slice)}
    description = ", ".join(f"{n} {title.lower()}" for title, n in counts.items() if n)
    center = next((n for n in placed if n["id"] == graph_slice.payload.get("center")), None)
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "nodes": placed,
        "lines": lines,
        "labels": place_labels(placed, center),
        "description": f"Around the researcher: {description or 'nothing yet'}.",
        "center": center and {"x": center["x"], "y": center["y"] + 30, "label": center["label"]},
        "legend": LEGEND,
    }


# --- the rendered fragment's cache key ---------------------------------------------------

_HERE = Path(__file__).resolve().parent
# The sources that shape the ready fragment's HTML: the templates, this layout, the node
# types and groups. Their digest is the release the cached HTML belongs to, so a deploy
# that changes any of them renders afresh and nobody has to remember a version number.
RENDER_SOURCES = (
    _HERE / "templates" / "graph" / "_slice.html",
    _HERE / "templates" / "graph" / "_slice_drawing.html",
    _HERE / "drawing.py",
    _HERE / "nodes.py",
    _HERE / "queries.py",
)
RENDER_RELEASE = hashlib.sha256(b"".join(p.read_bytes() for p in RENDER_SOURCES)).hexdigest()[:16]


def slice_html_key(graph_slice: GraphSlice, researcher: Researcher) -> str:
    """Content (the slice's inputs and build time, the researcher's close-collaborator
    count, which the fragment reads from the row) and the release that draws it."""
    computed = graph_slice.computed_at.timestamp() if graph_slice.computed_at else ""
    parts = (
        "graph-slice-html",
        RENDER_RELEASE,
        graph_slice.pk,
        graph_slice.fingerprint,
        computed,
        researcher.close_collaborators_count,
    )
    return ":".join(str(part) for part in parts)
