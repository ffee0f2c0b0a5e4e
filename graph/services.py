"""The research graph slice: what sits around one researcher, built by the worker.

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
size of the researcher's record. The slice is stored with a fingerprint of its inputs:
a rebuild whose inputs did not change is a no-op.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from claims.queries import not_me_reported
from graph.edges import HYPER_AUTHORED
from graph.models import CoauthorEdge, GraphSlice
from graph.queries import nearby_work_ids, own_work_ids, works_in_order
from profiles.models import Researcher, ResearcherTopic
from works.models import Authorship, Institution, Work

logger = logging.getLogger(__name__)

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
# A queued build that never started (worker lost before it took the job) is queued again;
# a stale ready slice asks for one rebuild at most this often.
STUCK_AFTER = timedelta(minutes=5)


def node_id(kind: str, pk: int) -> str:
    return f"{kind}:{pk}"


@dataclass(frozen=True)
class SliceInputs:
    """Aggregates over everything a slice is built from (three cheap queries)."""

    fingerprint: str
    coauthors: int
    close_collaborators: int


def slice_inputs(researcher: Researcher) -> SliceInputs:
    works = (
        Work.objects.filter(authorships__researcher=researcher, is_hidden=False)
        .filter(~not_me_reported(researcher.pk))
        .aggregate(n=Count("id"), updated=Max("updated_at"), cited=Sum("cited_by_count"))
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


def slice_fingerprint(researcher: Researcher) -> str:
    return slice_inputs(researcher).fingerprint


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


def _layout(nodes: list[dict]) -> None:
    """Place nodes on rings around the centre (by type) for the server-rendered drawing."""
    rings = {"researcher": 0, "person": 1, "topic": 1}
    by_ring: dict[int, list[dict]] = {}
    for node in nodes:
        by_ring.setdefault(rings.get(node["type"], 2), []).append(node)
    for ring, members in by_ring.items():
        radius = {0: 0, 1: 120, 2: 220}[ring]
        for index, node in enumerate(members):
            angle = 2 * math.pi * index / max(1, len(members)) + ring * 0.3
            node["x"] = round(300 + radius * math.cos(angle), 1)
            node["y"] = round(260 + radius * math.sin(angle), 1)


def _work_node(work: Work, relation: str) -> dict:
    return {
        "id": node_id("work", work.pk),
        "type": "paper",
        "label": work.title or "Untitled work",
        "url": work.get_absolute_url(),
        "detail": ", ".join(
            str(part)
            for part in (work.publication_year, work.venue and work.venue.display_name)
            if part
        ),
        "relation": relation,
    }


def _suggestions(researcher: Researcher, topic_ids: list[int]) -> list[dict]:
    """Researchers strong on the same topics who never shared a work with this one."""
    if not topic_ids:
        return []
    topic_table = ResearcherTopic._meta.db_table
    researcher_table = Researcher._meta.db_table
    authorship_table = Authorship._meta.db_table
    edge_table = CoauthorEdge._meta.db_table
    work_table = Work._meta.db_table
    # "Worked with" is an edge, or a shared hyper-authored work (those make no edges): the
    # second set is read once, from the researcher's few hyper-authored works.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH giant_teams AS MATERIALIZED (
                SELECT DISTINCT theirs.researcher_id
                FROM {authorship_table} mine
                JOIN {work_table} w ON w.id = mine.work_id AND w.authors_count > %s
                JOIN {authorship_table} theirs ON theirs.work_id = mine.work_id
                WHERE mine.researcher_id = %s
            )
            SELECT r.id, r.display_name, SUM(rt.works_count) AS weight
            FROM unnest(%s::bigint[]) AS t(topic_id)
            CROSS JOIN LATERAL (
                SELECT researcher_id, works_count FROM {topic_table}
                WHERE topic_id = t.topic_id
                ORDER BY works_count DESC LIMIT {SUGGESTION_CANDIDATES_PER_TOPIC}
            ) rt
            JOIN {researcher_table} r ON r.id = rt.researcher_id AND r.merged_into_id IS NULL
            WHERE r.id <> %s
              AND NOT EXISTS (SELECT 1 FROM {edge_table} e
                              WHERE e.researcher_id = %s AND e.coauthor_id = r.id)
              AND r.id NOT IN (SELECT researcher_id FROM giant_teams)
            GROUP BY r.id, r.display_name
            ORDER BY weight DESC, r.display_name, r.id
            LIMIT {MAX_SUGGESTIONS}
            """,
            [
                HYPER_AUTHORED,
                researcher.pk,
                topic_ids[:SUGGESTION_TOPICS],
                researcher.pk,
                researcher.pk,
            ],
        )
        rows = cursor.fetchall()
    suggestions = []
    for pk, name, weight in rows:
        stub = Researcher(pk=pk, display_name=name)
        suggestions.append(
            {
                "id": node_id("researcher", pk),
                "type": "suggestion",
                "label": name,
                "url": stub.get_absolute_url(),
                "detail": f"{weight} work(s) on the same topics",
            }
        )
    return suggestions


def compute_slice_payload(researcher: Researcher, inputs: SliceInputs | None = None) -> dict:
    inputs = inputs or slice_inputs(researcher)
    center = node_id("researcher", researcher.pk)
    nodes: list[dict] = [
        {
            "id": center,
            "type": "researcher",
            "label": researcher.display_name,
            "url": researcher.get_absolute_url(),
        }
    ]
    edges: list[dict] = []

    people_edges = list(
        CoauthorEdge.objects.filter(researcher=researcher, coauthor__merged_into__isnull=True)
        .select_related("coauthor", "coauthor__last_known_institution")
        .order_by("-shared_works", "-last_year", "coauthor__display_name", "coauthor_id")[
            :MAX_PEOPLE
        ]
    )
    people = [edge.coauthor for edge in people_edges]
    for edge in people_edges:
        person = edge.coauthor
        nodes.append(
            {
                "id": node_id("researcher", person.pk),
                "type": "person",
                "label": person.display_name,
                "url": person.get_absolute_url(),
                "detail": f"{edge.shared_works} shared work(s)"
                + (f", last in {edge.last_year}" if edge.last_year else "")
                + (", close collaborator" if edge.is_close else ""),
                "close": edge.is_close,
            }
        )
        edges.append(
            {
                "source": center,
                "target": node_id("researcher", person.pk),
                "type": "coauthor",
                "weight": edge.shared_works,
            }
        )

    topic_rows = list(
        ResearcherTopic.objects.filter(researcher=researcher)
        .select_related("topic")
        .order_by("-works_count", "topic__display_name", "topic_id")[:MAX_TOPICS]
    )
    topic_ids = [row.topic_id for row in topic_rows]
    for row in topic_rows:
        nodes.append(
            {
                "id": node_id("topic", row.topic_id),
                "type": "topic",
                "label": row.topic.display_name,
                "url": row.topic.get_absolute_url(),
                "detail": f"{row.works_count} work(s)",
            }
        )
        edges.append(
            {"source": center, "target": node_id("topic", row.topic_id), "type": "studies"}
        )

    recent_ids, cited_ids = own_work_ids(
        researcher.pk, recent=MAX_RECENT_PAPERS, cited=MAX_CITED_PAPERS
    )
    close_people = [edge.coauthor_id for edge in people_edges if edge.is_close]
    nearby_ids = nearby_work_ids(
        researcher_id=researcher.pk,
        people=close_people,
        topic_ids=topic_ids,
        limit=MAX_NEARBY_PAPERS,
    )
    papers = works_in_order([*recent_ids, *cited_ids, *nearby_ids], topics=True)
    nearby = [work for work in papers if work.pk in set(nearby_ids)]
    authored = [work for work in papers if work.pk not in set(nearby_ids)]
    shown_topics = set(topic_ids)
    for work, relation in [(w, "authored") for w in authored] + [(w, "nearby") for w in nearby]:
        nodes.append(_work_node(work, relation))
        if relation == "authored":
            edges.append({"source": center, "target": node_id("work", work.pk), "type": "authored"})
        for topic in work.topics.all():
            if topic.pk in shown_topics:
                edges.append(
                    {
                        "source": node_id("work", work.pk),
                        "target": node_id("topic", topic.pk),
                        "type": "about",
                    }
                )
    if nearby:
        for work_id, researcher_id in Authorship.objects.filter(
            work_id__in=[w.pk for w in nearby], researcher_id__in=close_people
        ).values_list("work_id", "researcher_id"):
            edges.append(
                {
                    "source": node_id("researcher", researcher_id),
                    "target": node_id("work", work_id),
                    "type": "authored",
                }
            )

    nodes_and_edges = _institutions(researcher, people)
    nodes.extend(nodes_and_edges[0])
    edges.extend(nodes_and_edges[1])
    nodes.extend(_suggestions(researcher, topic_ids))
    _layout(nodes)
    return {
        "center": center,
        "nodes": nodes,
        "edges": edges,
        "counts": {
            "coauthors": inputs.coauthors,
            "close_collaborators": inputs.close_collaborators,
        },
        "freshness": freshness_key(researcher),
    }


def _institutions(
    researcher: Researcher, people: list[Researcher]
) -> tuple[list[dict], list[dict]]:
    """Their own institutions first (last known, then the most frequent on their
    authorships), then the ones most of the co-authors shown were last seen at."""
    own: list[int] = []
    if researcher.last_known_institution_id:
        own.append(researcher.last_known_institution_id)
    own.extend(
        pk
        for pk in Institution.objects.filter(authorships__researcher=researcher)
        .exclude(pk__in=own)
        .values_list("pk", flat=True)
        .annotate(n=Count("authorships"))
        .order_by("-n", "pk")[:MAX_OWN_INSTITUTIONS]
    )
    theirs = Counter(p.last_known_institution_id for p in people if p.last_known_institution_id)
    chosen = own[:MAX_OWN_INSTITUTIONS]
    chosen += [pk for pk, _ in theirs.most_common() if pk not in chosen]
    chosen = chosen[:MAX_INSTITUTIONS]
    known = {p.last_known_institution_id: p.last_known_institution for p in people}
    if researcher.last_known_institution_id:
        known[researcher.last_known_institution_id] = researcher.last_known_institution
    missing = [pk for pk in chosen if pk not in known]
    if missing:
        known.update(Institution.objects.in_bulk(missing))
    nodes, edges = [], []
    for pk in chosen:
        institution = known[pk]
        target = node_id("institution", pk)
        nodes.append(
            {
                "id": target,
                "type": "institution",
                "label": institution.display_name,
                "url": institution.get_absolute_url(),
                "detail": institution.country_code,
            }
        )
        if pk in own:
            edges.append(
                {
                    "source": node_id("researcher", researcher.pk),
                    "target": target,
                    "type": "affiliated",
                }
            )
        for person in people:
            if person.last_known_institution_id == pk:
                edges.append(
                    {
                        "source": node_id("researcher", person.pk),
                        "target": target,
                        "type": "affiliated",
                    }
                )
    return nodes, edges


def build_slice(*, researcher_id: int, force: bool = False) -> GraphSlice | None:
    """Build (or confirm) one researcher's slice. Idempotent: unchanged inputs → no-op."""
    researcher = (
        Researcher.objects.select_related("last_known_institution").filter(pk=researcher_id).first()
    )
    if researcher is None:
        return None
    with transaction.atomic():
        graph_slice, _ = GraphSlice.objects.select_for_update().get_or_create(
            researcher=researcher, defaults={"status": GraphSlice.Status.BUILDING}
        )
        inputs = slice_inputs(researcher)
        if (
            not force
            and graph_slice.status == GraphSlice.Status.READY
            and graph_slice.fingerprint == inputs.fingerprint
        ):
            if is_stale(graph_slice, researcher):
                # Same inputs, but the researcher row moved (counts refreshed since):
                # keep the slice and record the new freshness key, so pages stop asking.
                graph_slice.payload = {
                    **graph_slice.payload,
                    "freshness": freshness_key(researcher),
                }
                graph_slice.save(update_fields=["payload"])
            return graph_slice
        if graph_slice.status != GraphSlice.Status.READY:
            graph_slice.status = GraphSlice.Status.BUILDING
            graph_slice.save(update_fields=["status"])
    try:
        payload = compute_slice_payload(researcher, inputs)
    except Exception as error:
        GraphSlice.objects.filter(pk=graph_slice.pk).exclude(status=GraphSlice.Status.READY).update(
            status=GraphSlice.Status.FAILED, error=str(error)[:2000]
        )
        raise
    graph_slice.payload = payload
    graph_slice.fingerprint = inputs.fingerprint
    graph_slice.status = GraphSlice.Status.READY
    graph_slice.error = ""
    graph_slice.computed_at = timezone.now()
    graph_slice.save(update_fields=["payload", "fingerprint", "status", "error", "computed_at"])
    return graph_slice


def request_slice(*, researcher: Researcher) -> GraphSlice:
    """Return the slice for a page, queueing one build when none is ready or under way.

    1. No row yet: create it QUEUED and queue a build.
    2. READY: serve it. When the researcher row says its inputs moved (`is_stale`), also
       queue one rebuild, at most once per STUCK_AFTER (a conditional UPDATE on
       requested_at claims it), and keep serving the old slice meanwhile.
    3. QUEUED or BUILDING: queue nothing, unless a QUEUED request is older than
       STUCK_AFTER (its job was lost). FAILED: queue again (the retry button).
    The conditional UPDATE lets only one of two concurrent requests queue the build.
    When the broker is down a slice without a ready payload comes back FAILED with
    `error` set, and the page offers a retry.
    """
    now = timezone.now()
    graph_slice, created = GraphSlice.objects.get_or_create(
        researcher=researcher,
        defaults={"status": GraphSlice.Status.QUEUED, "requested_at": now},
    )
    if created:
        return _enqueue(graph_slice)
    overdue = Q(requested_at__lt=now - STUCK_AFTER) | Q(requested_at__isnull=True)
    if graph_slice.status == GraphSlice.Status.READY:
        if not is_stale(graph_slice, researcher):
            return graph_slice
        claimed = (
            GraphSlice.objects.filter(pk=graph_slice.pk, status=GraphSlice.Status.READY)
            .filter(overdue)
            .update(requested_at=now)
        )
        if claimed:
            _enqueue(graph_slice, keep_ready=True)
        return graph_slice
    claimed = (
        GraphSlice.objects.filter(pk=graph_slice.pk)
        .filter(Q(status=GraphSlice.Status.FAILED) | (Q(status=GraphSlice.Status.QUEUED) & overdue))
        .update(status=GraphSlice.Status.QUEUED, requested_at=now, error="")
    )
    if not claimed:
        graph_slice.refresh_from_db()
        return graph_slice
    graph_slice.status = GraphSlice.Status.QUEUED
    graph_slice.error = ""
    return _enqueue(graph_slice)


def _enqueue(graph_slice: GraphSlice, *, keep_ready: bool = False) -> GraphSlice:
    from graph.tasks import build_graph_slice

    try:
        build_graph_slice.delay(graph_slice.researcher_id)
    except Exception as error:  # kombu raises several types when the broker is unreachable
        logger.warning("Graph slice for %s not queued: %s", graph_slice.researcher_id, error)
        if keep_ready:
            return graph_slice
        message = "The graph service is unavailable."
        GraphSlice.objects.filter(pk=graph_slice.pk).update(
            status=GraphSlice.Status.FAILED, error=message
        )
        graph_slice.status = GraphSlice.Status.FAILED
        graph_slice.error = message
    return graph_slice
