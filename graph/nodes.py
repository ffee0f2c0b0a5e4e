"""Graph nodes: their ids, their types, and the dicts the slice and the explorer send.

A node id is "<kind>:<pk>", where the kind names the record (researcher, work, topic,
institution). The node *type* says how it is drawn and listed: a researcher is the
"researcher" at the centre, a "person" around it, or a "suggestion"; a work is a "paper".
Both the stored slice and the explorer's neighbourhoods build their nodes here, so one
record has one id whichever of them showed it first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from profiles.models import Researcher
from works.models import Institution, Topic, Work

NODE_KINDS = ("researcher", "work", "topic", "institution")


class UnknownNode(Exception):
    """The node id is malformed, of an unknown kind, or names no visible record."""


def node_id(kind: str, pk: int) -> str:
    if kind not in NODE_KINDS:
        raise ValueError(f"Unknown node kind: {kind!r}")
    return f"{kind}:{int(pk)}"


def parse_node_id(value: str) -> tuple[str, int]:
    kind, _, pk = value.partition(":")
    # ASCII digits only: "²".isdigit() is True but int() refuses it.
    if kind not in NODE_KINDS or not (pk.isascii() and pk.isdigit()) or len(pk) > 18:
        raise UnknownNode(value)
    return kind, int(pk)


@dataclass(frozen=True)
class NodeType:
    """How one node type is named, grouped in the lists, and drawn by the explorer."""

    type: str
    name: str  # the explorer's panel ("Co-author")
    legend: str  # the legend and the type filter ("co-author")
    group: str | None  # the list it goes in (the centre is in none)
    color: str
    shape: str
    size: int


NODE_TYPES = (
    NodeType("researcher", "Researcher", "researcher", None, "#0b5cad", "ellipse", 34),
    NodeType("person", "Co-author", "co-author", "people", "#1d6b3a", "ellipse", 18),
    NodeType("paper", "Paper", "paper", "papers", "#8a4b00", "round-rectangle", 16),
    NodeType("topic", "Topic", "topic", "topics", "#6b2d8f", "diamond", 20),
    NodeType("institution", "Institution", "institution", "institutions", "#a11d1d", "hexagon", 20),
    NodeType(
        "suggestion",
        "Same topics, never worked with",
        "same topics, never worked with",
        "suggestions",
        "#ffffff",
        "ellipse",
        18,
    ),
)
LEGEND = [(t.type, t.legend) for t in NODE_TYPES]


def node_types_json() -> list[dict[str, Any]]:
    """The node types for the explorer's script (sent with json_script)."""
    return [asdict(t) for t in NODE_TYPES]


def researcher_node(
    researcher: Researcher,
    *,
    type: str = "person",
    detail: str | None = None,
    close: bool | None = None,
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": node_id("researcher", researcher.pk),
        "type": type,
        "label": researcher.display_name,
        "url": researcher.get_absolute_url(),
    }
    if detail is not None:
        node["detail"] = detail
    if close is not None:
        node["close"] = close
    return node


def work_node(work: Work, *, relation: str | None = None) -> dict[str, Any]:
    """A paper; `relation` (authored, nearby) says why the slice shows it."""
    node: dict[str, Any] = {
        "id": node_id("work", work.pk),
        "type": "paper",
        "label": work.title or "Untitled work",
        "url": work.get_absolute_url(),
        "detail": ", ".join(
            str(part)
            for part in (work.publication_year, work.venue and work.venue.display_name)
            if part
        ),
    }
    if relation is not None:
        node["relation"] = relation
    return node


def topic_node(topic: Topic, *, detail: str = "") -> dict[str, Any]:
    return {
        "id": node_id("topic", topic.pk),
        "type": "topic",
        "label": topic.display_name,
        "url": topic.get_absolute_url(),
        "detail": detail,
    }


def institution_node(institution: Institution) -> dict[str, Any]:
    return {
        "id": node_id("institution", institution.pk),
        "type": "institution",
        "label": institution.display_name,
        "url": institution.get_absolute_url(),
        "detail": institution.country_code,
    }


def edge(source: str, target: str, type: str, **extra: Any) -> dict[str, Any]:
    return {"source": source, "target": target, "type": type, **extra}
