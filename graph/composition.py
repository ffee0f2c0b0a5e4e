"""What a research graph slice holds: the nodes and edges around one researcher, one
node kind at a time, and the inputs that say when it must be built again.

Ranking and caps (at most 40 nodes in all, the researcher included):
1. people: co-authors by shared works, then by the last year they worked together, then
   by name (10); close collaborators are flagged, and the total counts travel with them;
2. papers: the researcher's own most recent and most cited works (4 + 4), then recent
   works of the close collaborators shown that carry one of the researcher's topics and
   that the researcher is not on (3);
3. topics: the researcher's topics by how many of their works carry them (8);
4. institutions: their own (last known, then the most frequent on their authorships),
   then their co-authors' most frequent (5);
5. suggestions: researchers strong on the same topics who share no work with them (3).
Every list is ordered and capped in SQL (LIMIT), so the cost follows the caps, not the
size of the researcher's record. The payload holds no drawing positions: the fragment
lays the nodes out when it renders them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Q, Sum

from bzpeer.utils import counted
from claims.listing import listed_works
from graph.models import CoauthorEdge, GraphSlice
from graph.nodes import (
    edge,
    institution_node,
    node_id,
    researcher_node,
    topic_node,
    work_node,
)
from graph.queries import nearby_work_ids, own_work_ids, suggested_researchers, works_in_order
from profiles.models import Researcher, ResearcherTopic, visible_q
from works.models import Authorship, Institution

MAX_PEOPLE = 10
MAX_RECENT_PAPERS = 4
MAX_CITED_PAPERS = 4
MAX_NEARBY_PAPERS = 3
MAX_TOPICS = 8
MAX_INSTITUTIONS = 5
MAX_OWN_INSTITUTIONS = 2
MAX_SUGGESTIONS = 3
MAX_NODES = 1 + MAX_PEOPLE + MAX_RECENT_PAPERS + MAX_CITED_PAPERS + MAX_NEARBY_PAPERS
MAX_NODES += MAX_TOPICS + MAX_INSTITUTIONS + MAX_SUGGESTIONS
# Suggestions look at the strongest researchers of the top topics only (an index range).
SUGGESTION_TOPICS = 3
SUGGESTION_CANDIDATES_PER_TOPIC = 100


# --- inputs: when a stored slice is out of date -------------------------------------------


@dataclass(frozen=True)
class SliceInputs:
    """Aggregates over everything a slice is built from (three cheap queries)."""

    fingerprint: str
    coauthors: int
    close_collaborators: int


def slice_inputs(researcher: Researcher) -> SliceInputs:
    works = listed_works(researcher.pk).aggregate(
        n=Count("id"), updated=Max("updated_at"), cited=Sum("cited_by_count")
    )
    edges = CoauthorEdge.objects.filter(researcher=researcher).aggregate(
        n=Count("id"),
        close=Count("id", filter=Q(is_close=True)),
        shared=Sum("shared_works"),
        last=Max("last_year"),
    )
    topics = ResearcherTopic.objects.filter(researcher=researcher).aggregate(
        n=Count("id"), weight=Sum("works_count")
    )
    raw = "|".join(
        str(value)
        for value in (
            researcher.display_name,
            researcher.last_known_institution_id,
            researcher.merged_into_id,
            *works.values(),
            *edges.values(),
            *topics.values(),
        )
    )
    return SliceInputs(
        fingerprint=hashlib.sha256(raw.encode()).hexdigest(),
        coauthors=edges["n"],
        close_collaborators=edges["close"],
    )


def freshness_key(researcher: Researcher) -> list[int | None]:
    """Denormalised values on the researcher row that move whenever the slice's inputs do
    (an import refreshes them): comparing them costs no query on a page view."""
    return [
        researcher.works_count,
        researcher.topics_count,
        researcher.close_collaborators_count,
        researcher.last_known_institution_id,
    ]


def is_stale(graph_slice: GraphSlice, researcher: Researcher) -> bool:
    return graph_slice.payload.get("freshness") != freshness_key(researcher)


# --- one part per node kind ----------------------------------------------------------------


@dataclass
class Part:
    """The nodes of one kind and the edges that join them to what is already shown."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class People(Part):
    coauthors: list[Researcher] = field(default_factory=list)
    close_ids: list[int] = field(default_factory=list)


@dataclass
class Topics(Part):
    topic_ids: list[int] = field(default_factory=list)


def people_part(researcher: Researcher) -> People:
    """Co-authors by shared works, then the last year together, then name."""
    center = node_id("researcher", researcher.pk)
    rows = list(
        CoauthorEdge.objects.filter(visible_q("coauthor__"), researcher=researcher)
        .select_related("coauthor", "coauthor__last_known_institution")
        .order_by("-shared_works", "-last_year", "coauthor__display_name", "coauthor_id")[
            :MAX_PEOPLE
        ]
    )
    part = People(
        coauthors=[row.coauthor for row in rows],
        close_ids=[row.coauthor_id for row in rows if row.is_close],
    )
    for row in rows:
        detail = (
            counted(row.shared_works, "shared work")
            + (f", last in {row.last_year}" if row.last_year else "")
            + (", close collaborator" if row.is_close else "")
        )
        person = researcher_node(row.coauthor, detail=detail, close=row.is_close)
        part.nodes.append(person)
        part.edges.append(edge(center, person["id"], "coauthor", weight=row.shared_works))
    return part


def topics_part(researcher: Researcher) -> Topics:
    """The researcher's topics, by how many of their works carry them."""
    center = node_id("researcher", researcher.pk)
    rows = list(
        ResearcherTopic.objects.filter(researcher=researcher)
        .select_related("topic")
        .order_by("-works_count", "topic__display_name", "topic_id")[:MAX_TOPICS]
    )
    part = Topics(topic_ids=[row.topic_id for row in rows])
    for row in rows:
        node = topic_node(row.topic, detail=counted(row.works_count, "work"))
        part.nodes.append(node)
        part.edges.append(edge(center, node["id"], "studies"))
    return part


def papers_part(researcher: Researcher, *, close_ids: list[int], topic_ids: list[int]) -> Part:
    """Their newest and most cited works, then close collaborators' newest works on the
    same topics; each joined to the topics shown that it carries."""
    center = node_id("researcher", researcher.pk)
    recent_ids, cited_ids = own_work_ids(
        researcher.pk, recent=MAX_RECENT_PAPERS, cited=MAX_CITED_PAPERS
    )
    nearby_ids = nearby_work_ids(
        researcher_id=researcher.pk, people=close_ids, topic_ids=topic_ids, limit=MAX_NEARBY_PAPERS
    )
    works = works_in_order([*recent_ids, *cited_ids, *nearby_ids], topics=True)
    authored = [work for work in works if work.pk not in set(nearby_ids)]
    nearby = [work for work in works if work.pk in set(nearby_ids)]
    shown_topics = set(topic_ids)
    part = Part()
    for work, relation in [(w, "authored") for w in authored] + [(w, "nearby") for w in nearby]:
        node = work_node(work, relation=relation)
        part.nodes.append(node)
        if relation == "authored":
            part.edges.append(edge(center, node["id"], "authored"))
        for topic in work.topics.all():
            if topic.pk in shown_topics:
                part.edges.append(edge(node["id"], node_id("topic", topic.pk), "about"))
    if nearby:
        for work_id, author_id in Authorship.objects.filter(
            work_id__in=[w.pk for w in nearby], researcher_id__in=close_ids
        ).values_list("work_id", "researcher_id"):
            part.edges.append(
                edge(node_id("researcher", author_id), node_id("work", work_id), "authored")
            )
    return part


def institutions_part(researcher: Researcher, *, coauthors: list[Researcher]) -> Part:
    """Their own institutions first (last known, then the most frequent on their
    authorships), then the ones most of the co-authors shown were last seen at."""
    own: list[int] = []
    if researcher.last_known_institution_id and not researcher.affiliation_hidden:
        own.append(researcher.last_known_institution_id)
    own.extend(
        pk
        for pk in Institution.objects.filter(authorships__researcher=researcher)
        .exclude(pk__in=own)
        .values_list("pk", flat=True)
        .annotate(n=Count("authorships"))
        .order_by("-n", "pk")[:MAX_OWN_INSTITUTIONS]
    )
    # A co-author who asked to hide their affiliation is not tied to it here either.
    coauthors = [p for p in coauthors if not p.affiliation_hidden]
    theirs = Counter(p.last_known_institution_id for p in coauthors if p.last_known_institution_id)
    chosen = own[:MAX_OWN_INSTITUTIONS]
    chosen += [pk for pk, _ in theirs.most_common() if pk not in chosen]
    chosen = chosen[:MAX_INSTITUTIONS]
    known = {p.last_known_institution_id: p.last_known_institution for p in coauthors}
    if researcher.last_known_institution_id and not researcher.affiliation_hidden:
        known[researcher.last_known_institution_id] = researcher.last_known_institution
    missing = [pk for pk in chosen if pk not in known]
    if missing:
        known.update(Institution.objects.in_bulk(missing))
    part = Part()
    for pk in chosen:
        institution = known[pk]
        assert institution is not None  # `chosen` holds ids of existing institutions
        node = institution_node(institution)
        part.nodes.append(node)
        if pk in own:
            part.edges.append(edge(node_id("researcher", researcher.pk), node["id"], "affiliated"))
        for person in coauthors:
            if person.last_known_institution_id == pk:
                part.edges.append(edge(node_id("researcher", person.pk), node["id"], "affiliated"))
    return part


def suggestions_part(researcher: Researcher, *, topic_ids: list[int]) -> Part:
    """Researchers strong on the same topics who never shared a work with this one."""
    rows = suggested_researchers(
        researcher_id=researcher.pk,
        topic_ids=topic_ids[:SUGGESTION_TOPICS],
        candidates_per_topic=SUGGESTION_CANDIDATES_PER_TOPIC,
        limit=MAX_SUGGESTIONS,
    )
    part = Part()
    for pk, name, weight in rows:
        stub = Researcher(pk=pk, display_name=name)
        part.nodes.append(
            researcher_node(
                stub, type="suggestion", detail=f"{counted(weight, 'work')} on the same topics"
            )
        )
    return part


def compose_slice(researcher: Researcher, inputs: SliceInputs) -> dict[str, Any]:
    """The payload stored for one researcher: centre, nodes and edges in a fixed order
    (people, topics, papers, institutions, suggestions), counts and the freshness key."""
    center = researcher_node(researcher, type="researcher")
    people = people_part(researcher)
    topics = topics_part(researcher)
    papers = papers_part(researcher, close_ids=people.close_ids, topic_ids=topics.topic_ids)
    institutions = institutions_part(researcher, coauthors=people.coauthors)
    suggestions = suggestions_part(researcher, topic_ids=topics.topic_ids)
    parts: list[Part] = [people, topics, papers, institutions, suggestions]
    return {
        "center": center["id"],
        "nodes": [center, *(node for part in parts for node in part.nodes)],
        "edges": [e for part in parts for e in part.edges],
        "counts": {
            "coauthors": inputs.coauthors,
            "close_collaborators": inputs.close_collaborators,
        },
        "freshness": freshness_key(researcher),
    }
