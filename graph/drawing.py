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

# The drawing's box (the SVG viewBox is 0 0 600 520) and its rings.
CENTRE_X, CENTRE_Y = 300, 260
RING_OF_TYPE = {"researcher": 0, "person": 1, "topic": 1}  # anything else: the outer ring
RING_RADIUS = {0: 0, 1: 120, 2: 220}


def ring_layout(nodes: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """Each node's (x, y), in the order given: rings around the centre by type, evenly
    spaced in the order the slice lists them, each ring turned a little so edges do not
    overlap."""
    by_ring: dict[int, list[int]] = {}
    for index, node in enumerate(nodes):
        by_ring.setdefault(RING_OF_TYPE.get(node["type"], 2), []).append(index)
    positions: list[tuple[float, float]] = [(0.0, 0.0)] * len(nodes)
    for ring, members in by_ring.items():
        radius = RING_RADIUS[ring]
        for place, index in enumerate(members):
            angle = 2 * math.pi * place / max(1, len(members)) + ring * 0.3
            positions[index] = (
                round(CENTRE_X + radius * math.cos(angle), 1),
                round(CENTRE_Y + radius * math.sin(angle), 1),
            )
    return positions


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
        "nodes": placed,
        "lines": lines,
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
