"""Reads for the graph fragments: a stored slice turned into what templates show."""

from __future__ import annotations

from dataclasses import dataclass

from graph.models import GraphSlice

GROUPS = [
    ("people", "People", ("person",), "No co-authors in the imported works."),
    ("papers", "Papers", ("paper",), "No papers yet."),
    ("topics", "Topics", ("topic",), "No topics in the imported works."),
    ("institutions", "Institutions", ("institution",), "No institutions imported."),
    (
        "suggestions",
        "Never worked with, same topics",
        ("suggestion",),
        "Nobody else on these topics yet.",
    ),
]


@dataclass(frozen=True)
class SliceGroup:
    key: str
    title: str
    nodes: list[dict]
    empty: str


def slice_groups(graph_slice: GraphSlice) -> list[SliceGroup]:
    nodes = graph_slice.payload.get("nodes", [])
    return [
        SliceGroup(key, title, [n for n in nodes if n.get("type") in types], empty)
        for key, title, types, empty in GROUPS
    ]


def slice_drawing(graph_slice: GraphSlice) -> dict:
    nodes = graph_slice.payload.get("nodes", [])
    position = {n["id"]: n for n in nodes if "x" in n}
    lines = [
        {
            "type": e["type"],
            "x1": position[e["source"]]["x"],
            "y1": position[e["source"]]["y"],
            "x2": position[e["target"]]["x"],
            "y2": position[e["target"]]["y"],
        }
        for e in graph_slice.payload.get("edges", [])
        if e["source"] in position and e["target"] in position
    ]
    counts = {g.title: len(g.nodes) for g in slice_groups(graph_slice)}
    description = ", ".join(f"{n} {title.lower()}" for title, n in counts.items() if n)
    return {
        "nodes": [n for n in nodes if "x" in n],
        "lines": lines,
        "description": f"Around the researcher: {description or 'nothing yet'}.",
    }
