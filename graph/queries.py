"""Reads for the graph: the slice fragment's groups, ranked works and suggestions in SQL, and
the explorer's neighbourhoods."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, F
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from bzpeer.pagecache.front import validator
from bzpeer.pagecache.loading import load_with_version
from bzpeer.pagecache.models import ContentVersion
from bzpeer.utils import counted
from claims.listing import not_reported_sql as _not_me
from graph import edges
from graph.models import CoauthorEdge, GraphSlice
from graph.nodes import (
    NODE_TYPES,
    UnknownNode,
    institution_node,
    parse_node_id,
    researcher_node,
    topic_node,
    work_node,
)
from profiles.models import Researcher, ResearcherTopic, visible_q, visible_sql
from works.models import Authorship, Institution, Topic, Work

# The list view's groups: key, title, message when empty. The node types in each come
# from the types' own group (graph.nodes).
_GROUPS = [
    ("people", "People", "No co-authors in the imported works."),
    ("papers", "Papers", "No papers yet."),
    ("topics", "Topics", "No topics in the imported works."),
    ("institutions", "Institutions", "No institutions imported."),
    ("suggestions", "Never worked with, same topics", "Nobody else on these topics yet."),
]
GROUPS = [
    (key, title, tuple(t.type for t in NODE_TYPES if t.group == key), empty)
    for key, title, empty in _GROUPS
]


# What the slice fragment reads from the researcher row (its links, its title, the
# close-collaborator count and the freshness key): a narrow SELECT, no joins.
SLICE_RESEARCHER_FIELDS = (
    "display_name",
    "works_count",
    "topics_count",
    "close_collaborators_count",
    "last_known_institution_id",
    "merged_into_id",
    "hidden_at",
)


def researcher_for_slice(pk: int) -> Researcher:
    return get_object_or_404(Researcher.objects.only(*SLICE_RESEARCHER_FIELDS), pk=pk)


# The slice's state beside the researcher row (status, when computed, the freshness key it
# was built for; not the payload): all a cached fragment or explorer page needs to know
# it is current.
SLICE_STATE_JOIN = ' LEFT JOIN "graph_graphslice" gs ON gs.researcher_id = r.id'
SLICE_STATE = {
    "slice_id": "gs.id",
    "slice_status": "gs.status",
    "slice_computed_at": "gs.computed_at",
    "slice_fingerprint": "gs.fingerprint",
    "slice_freshness": "gs.payload -> 'freshness'",
}

# What the slice fragment's and the explorer's cache keys are made of: the record's content
# version and the slice's state (SliceState.front_state, in this order).
SLICE_PAGE_STATE = validator(
    Researcher._meta.db_table,
    ContentVersion.Kind.RESEARCHER,
    joins=SLICE_STATE_JOIN,
    extra=tuple(
        SLICE_STATE[name]
        for name in ("slice_id", "slice_status", "slice_fingerprint", "slice_computed_at")
    ),
)


@dataclass(frozen=True)
class SliceState:
    id: int | None
    status: str | None
    computed_at: datetime | None
    fingerprint: str | None
    freshness: list | None

    @property
    def key(self) -> str:
        """Names one build of the slice: its inputs and build time (as the drawing's own
        cache key does)."""
        computed = self.computed_at.timestamp() if self.computed_at else ""
        return f"slice{self.id}.{self.fingerprint}.{computed}"

    @property
    def front_state(self) -> tuple:
        """The slice's part of what SLICE_PAGE_STATE reads, in its order."""
        return (self.id, self.status, self.fingerprint, self.computed_at)


def _with_slice_state(pk: int, related: tuple[str, ...]) -> tuple[Researcher, SliceState]:
    researcher = load_with_version(
        Researcher,
        pk,
        kind=ContentVersion.Kind.RESEARCHER,
        related=related,
        joins=SLICE_STATE_JOIN,
        extra=SLICE_STATE,
    )
    if researcher is None:
        raise Http404("No such researcher")
    loaded: Any = researcher
    freshness = loaded.slice_freshness
    if isinstance(freshness, str):  # jsonb comes back as text
        freshness = json.loads(freshness)
    state = SliceState(
        id=loaded.slice_id,
        status=loaded.slice_status,
        computed_at=loaded.slice_computed_at,
        fingerprint=loaded.slice_fingerprint,
        freshness=freshness,
    )
    return researcher, state


def researcher_for_explorer(pk: int) -> tuple[Researcher, SliceState]:
    """The record with its institution, page version and slice state: one statement."""
    return _with_slice_state(pk, ("last_known_institution",))


def researcher_for_slice_page(pk: int) -> tuple[Researcher, SliceState]:
    """The record with its page version and slice state: one statement."""
    return _with_slice_state(pk, ())


@dataclass(frozen=True)
class SliceGroup:
    key: str
    title: str
    nodes: list[dict]
    empty: str


def slice_groups(graph_slice: GraphSlice) -> list[SliceGroup]:
    return group_nodes(graph_slice.payload.get("nodes", []))


# --- ranked works, in SQL that cannot take the wrong plan --------------------------------
# "A researcher's newest works, LIMIT 4" invites Postgres to walk the whole works table in
# year order until four of theirs turn up (the planner assumes they are spread evenly); on
# a million works that is most of the table. These queries read the researcher's own rows
# first (a MATERIALIZED CTE from the authorship index), then sort those: the cost follows
# the size of the record, never the size of the corpus.

_AUTHORSHIP = Authorship._meta.db_table
_WORK = Work._meta.db_table
_WORK_TOPICS = Work.topics.through._meta.db_table
_NEWEST = "publication_year DESC NULLS LAST, publication_date DESC NULLS LAST, id DESC"


def own_work_ids(researcher_id: int, *, recent: int, cited: int = 0) -> tuple[list[int], list[int]]:
    """The ids of a researcher's newest works and of their most cited other works."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH mine AS MATERIALIZED (
                SELECT w.id, w.publication_year, w.publication_date, w.cited_by_count
                FROM {_AUTHORSHIP} a JOIN {_WORK} w ON w.id = a.work_id
                WHERE a.researcher_id = %s AND NOT w.is_hidden AND {_not_me("a")}
            ), newest AS (
                SELECT id FROM mine ORDER BY {_NEWEST} LIMIT %s
            )
            SELECT id, 'recent' FROM newest
            UNION ALL
            (SELECT id, 'cited' FROM mine
             WHERE cited_by_count > 0 AND id NOT IN (SELECT id FROM newest)
             ORDER BY cited_by_count DESC, id DESC LIMIT %s)
            """,
            [researcher_id, recent, cited],
        )
        rows = cursor.fetchall()
    return [pk for pk, kind in rows if kind == "recent"], [
        pk for pk, kind in rows if kind == "cited"
    ]


def nearby_work_ids(
    *, researcher_id: int, people: list[int], topic_ids: list[int], limit: int
) -> list[int]:
    """The newest works of these people on one of these topics that the researcher is
    not on (read from the people's authorships, then sorted)."""
    if not people or not topic_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH theirs AS MATERIALIZED (
                SELECT DISTINCT w.id, w.publication_year, w.publication_date
                FROM {_AUTHORSHIP} a JOIN {_WORK} w ON w.id = a.work_id
                WHERE a.researcher_id = ANY(%s) AND NOT w.is_hidden AND {_not_me("a")}
            )
            SELECT id FROM theirs t
            WHERE EXISTS (SELECT 1 FROM {_WORK_TOPICS} wt
                          WHERE wt.work_id = t.id AND wt.topic_id = ANY(%s))
              AND NOT EXISTS (SELECT 1 FROM {_AUTHORSHIP} m
                              WHERE m.work_id = t.id AND m.researcher_id = %s)
            ORDER BY {_NEWEST} LIMIT %s
            """,
            [people, topic_ids, researcher_id, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def works_in_order(ids: list[int], *, topics: bool = False) -> list[Work]:
    """These works (with venue, and topics when asked) in the order of `ids`."""
    if not ids:
        return []
    works = Work.objects.filter(pk__in=ids).select_related("venue")
    if topics:
        works = works.prefetch_related("topics")
    found = {work.pk: work for work in works}
    return [found[pk] for pk in ids if pk in found]


def suggested_researchers(
    *, researcher_id: int, topic_ids: list[int], candidates_per_topic: int, limit: int
) -> list[tuple[int, str, int]]:
    """(id, name, weight) of the researchers strongest on these topics who never worked
    with this one, strongest first; only the top `candidates_per_topic` of each topic are
    looked at (an index range)."""
    if not topic_ids:
        return []
    topic_table = ResearcherTopic._meta.db_table
    researcher_table = Researcher._meta.db_table
    edge_table = CoauthorEdge._meta.db_table
    # "Worked with" is an edge, or a shared hyper-authored work (those make no edges): the
    # second set is read once, from the researcher's few hyper-authored works.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH giant_teams AS MATERIALIZED (
                SELECT DISTINCT theirs.researcher_id
                FROM {_AUTHORSHIP} mine
                JOIN {_WORK} w ON w.id = mine.work_id AND w.team_size > %s
                JOIN {_AUTHORSHIP} theirs ON theirs.work_id = mine.work_id
                WHERE mine.researcher_id = %s
            )
            SELECT r.id, r.display_name, SUM(rt.works_count) AS weight
            FROM unnest(%s::bigint[]) AS t(topic_id)
            CROSS JOIN LATERAL (
                SELECT researcher_id, works_count FROM {topic_table}
                WHERE topic_id = t.topic_id
                ORDER BY works_count DESC LIMIT %s
            ) rt
            JOIN {researcher_table} r ON r.id = rt.researcher_id AND {visible_sql("r")}
            WHERE r.id <> %s AND r.in_suggestions
              AND NOT EXISTS (SELECT 1 FROM {edge_table} e
                              WHERE e.researcher_id = %s AND e.coauthor_id = r.id)
              AND r.id NOT IN (SELECT researcher_id FROM giant_teams)
            GROUP BY r.id, r.display_name
            ORDER BY weight DESC, r.display_name, r.id
            LIMIT %s
            """,
            [
                edges.HYPER_AUTHORED,
                researcher_id,
                topic_ids,
                candidates_per_topic,
                researcher_id,
                researcher_id,
                limit,
            ],
        )
        return cursor.fetchall()


# --- the explorer's neighbourhoods ------------------------------------------------------
# One node's neighbours for the full explorer, capped per kind, in a fixed number of
# queries whatever the size of the record (a researcher with 5,000 works, a topic with
# 100,000 researchers, a 3,000-author paper).

NEIGHBOUR_PEOPLE = 25
NEIGHBOUR_WORKS = 15
NEIGHBOUR_TOPICS = 10
NEIGHBOUR_INSTITUTIONS = 10
NEIGHBOUR_AUTHORS = 30


@dataclass
class Neighbourhood:
    node: dict
    nodes: list[dict] = field(default_factory=list)
    edges: list[dict] = field(default_factory=list)
    truncated: bool = False

    def add(self, node: dict, edge_type: str, *, reverse: bool = False) -> None:
        self.nodes.append(node)
        source, target = self.node["id"], node["id"]
        if reverse:
            source, target = target, source
        self.edges.append({"source": source, "target": target, "type": edge_type})

    def as_json(self) -> dict:
        return {
            "node": self.node,
            "nodes": self.nodes,
            "edges": self.edges,
            "truncated": self.truncated,
        }


def _person(researcher: Researcher, detail: str = "") -> dict:
    """A researcher around the node expanded, with their number of works unless told."""
    return researcher_node(researcher, detail=detail or counted(researcher.works_count, "work"))


def _capped(rows: list, limit: int) -> tuple[list, bool]:
    """Rows fetched with limit + 1: the extra one only says there are more."""
    return rows[:limit], len(rows) > limit


def neighbourhood(node_id: str) -> Neighbourhood:
    kind, pk = parse_node_id(node_id)
    return {
        "researcher": _researcher_neighbours,
        "work": _work_neighbours,
        "topic": _topic_neighbours,
        "institution": _institution_neighbours,
    }[kind](pk)


def _researcher_neighbours(pk: int) -> Neighbourhood:
    """Co-authors, recent works, topics and last institution: four queries."""
    researcher = (
        Researcher.objects.visible().select_related("last_known_institution").filter(pk=pk).first()
    )
    if researcher is None:
        raise UnknownNode(pk)
    result = Neighbourhood(
        node=researcher_node(
            researcher, type="researcher", detail=counted(researcher.works_count, "work")
        )
    )
    coauthors, more_people = _capped(
        list(
            CoauthorEdge.objects.filter(visible_q("coauthor__"), researcher=researcher)
            .select_related("coauthor")
            .order_by("-shared_works", "-last_year", "coauthor__display_name", "coauthor_id")[
                : NEIGHBOUR_PEOPLE + 1
            ]
        ),
        NEIGHBOUR_PEOPLE,
    )
    for edge in coauthors:
        detail = counted(edge.shared_works, "shared work") + (", close" if edge.is_close else "")
        result.add(_person(edge.coauthor, detail=detail), "coauthor")
    recent_ids, _ = own_work_ids(researcher.pk, recent=NEIGHBOUR_WORKS + 1)
    works, more_works = _capped(works_in_order(recent_ids), NEIGHBOUR_WORKS)
    for work in works:
        result.add(work_node(work), "authored")
    topics, more_topics = _capped(
        list(
            ResearcherTopic.objects.filter(researcher=researcher)
            .select_related("topic")
            .order_by("-works_count", "topic__display_name", "topic_id")[: NEIGHBOUR_TOPICS + 1]
        ),
        NEIGHBOUR_TOPICS,
    )
    for row in topics:
        result.add(topic_node(row.topic, detail=counted(row.works_count, "work")), "studies")
    if researcher.shown_institution:
        result.add(institution_node(researcher.shown_institution), "affiliated")
    result.truncated = more_people or more_works or more_topics
    return result


def _work_neighbours(pk: int) -> Neighbourhood:
    """Authors (in order), topics and the authors' institutions: four queries."""
    work = Work.objects.select_related("venue").filter(pk=pk, is_hidden=False).first()
    if work is None:
        raise UnknownNode(pk)
    result = Neighbourhood(node=work_node(work))
    authorships, more_authors = _capped(
        list(
            Authorship.objects.filter(visible_q("researcher__"), work=work)
            .select_related("researcher")
            .order_by("order", "pk")[: NEIGHBOUR_AUTHORS + 1]
        ),
        NEIGHBOUR_AUTHORS,
    )
    for authorship in authorships:
        result.add(_person(authorship.researcher), "authored", reverse=True)
    for topic in Topic.objects.filter(works=work).order_by("display_name", "pk")[:NEIGHBOUR_TOPICS]:
        result.add(topic_node(topic), "about")
    institutions, more_institutions = _capped(
        list(
            Institution.objects.filter(authorships__work=work)
            .annotate(n=Count("authorships"))
            .order_by("-n", "display_name", "pk")[: NEIGHBOUR_INSTITUTIONS + 1]
        ),
        NEIGHBOUR_INSTITUTIONS,
    )
    for institution in institutions:
        result.add(institution_node(institution), "affiliated")
    result.truncated = more_authors or more_institutions
    return result


def _topic_neighbours(pk: int) -> Neighbourhood:
    """Its strongest researchers and most recent works: three queries."""
    topic = Topic.objects.filter(pk=pk).first()
    if topic is None:
        raise UnknownNode(pk)
    result = Neighbourhood(node=topic_node(topic))
    rows, more_people = _capped(
        list(
            ResearcherTopic.objects.filter(visible_q("researcher__"), topic=topic)
            .select_related("researcher")
            .order_by("-works_count", "researcher__display_name", "researcher_id")[
                : NEIGHBOUR_PEOPLE + 1
            ]
        ),
        NEIGHBOUR_PEOPLE,
    )
    for row in rows:
        node = _person(row.researcher, detail=f"{counted(row.works_count, 'work')} on it")
        result.add(node, "studies", reverse=True)
    works, more_works = _capped(
        list(
            Work.objects.filter(topics=topic, is_hidden=False)
            .select_related("venue")
            # Sorting on an expression no index provides: Postgres reads the topic's works
            # first (its index) and sorts them, instead of walking all works by year.
            .order_by(Coalesce("publication_year", 0).desc(), "-id")[: NEIGHBOUR_WORKS + 1]
        ),
        NEIGHBOUR_WORKS,
    )
    for work in works:
        result.add(work_node(work), "about", reverse=True)
    result.truncated = more_people or more_works
    return result


def _institution_neighbours(pk: int) -> Neighbourhood:
    """The researchers last seen there, most works first: two queries."""
    institution = Institution.objects.filter(pk=pk).first()
    if institution is None:
        raise UnknownNode(pk)
    result = Neighbourhood(node=institution_node(institution))
    people, more_people = _capped(
        list(
            Researcher.objects.visible()
            .filter(last_known_institution=institution, affiliation_hidden=False)
            .order_by("-works_count", "display_name", "pk")[: NEIGHBOUR_PEOPLE + 1]
        ),
        NEIGHBOUR_PEOPLE,
    )
    for person in people:
        result.add(_person(person), "affiliated", reverse=True)
    result.truncated = more_people
    return result


def group_nodes(nodes: list[dict]) -> list[SliceGroup]:
    """Nodes in the list view's groups (the same groups as the inline slice)."""
    return [
        SliceGroup(key, title, [n for n in nodes if n.get("type") in types], empty)
        for key, title, types, empty in GROUPS
    ]


# --- the co-authors page ------------------------------------------------------------------

COAUTHORS_PER_PAGE = 50
COAUTHOR_SORTS = {
    "shared": (F("shared_works").desc(), F("last_year").desc(nulls_last=True)),
    "recent": (F("last_year").desc(nulls_last=True), F("shared_works").desc()),
    "name": (F("coauthor__display_name").asc(),),
}
DEFAULT_COAUTHOR_SORT = "shared"


def coauthors_page(researcher: Researcher, *, sort: str, page_number: str | int | None) -> Page:
    """One page of a researcher's co-authors (every edge, close or not) with shared works
    and the last year they published together: two queries (count and page)."""
    ordering = COAUTHOR_SORTS.get(sort, COAUTHOR_SORTS[DEFAULT_COAUTHOR_SORT])
    edges = (
        CoauthorEdge.objects.filter(visible_q("coauthor__"), researcher=researcher)
        .select_related("coauthor", "coauthor__last_known_institution")
        .order_by(*ordering, "coauthor__display_name", "coauthor_id")
    )
    return Paginator(edges, COAUTHORS_PER_PAGE).get_page(page_number)
