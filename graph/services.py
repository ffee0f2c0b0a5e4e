"""The research graph slice: what sits around one researcher, built by the worker.

Ranking and caps (about 40 nodes in all):
1. people: co-authors by shared works, then by the last year they worked together (10);
2. papers: the researcher's own most recent and most cited works (4 + 4), then works of
   those co-authors that share one of the researcher's topics (4);
3. topics: the researcher's topics by how many of their works carry them (8);
4. institutions: their own, then their co-authors' most frequent (5);
5. suggestions: researchers on the same topics they never worked with (3).
The slice is stored with a fingerprint of its inputs, so a rebuild whose inputs did not
change is a no-op.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import Counter
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from graph.models import CoauthorEdge, GraphSlice
from profiles.models import Researcher, ResearcherTopic
from works.models import Authorship, Work

logger = logging.getLogger(__name__)

MAX_PEOPLE = 10
MAX_RECENT_PAPERS = 4
MAX_CITED_PAPERS = 4
MAX_NEARBY_PAPERS = 4
MAX_TOPICS = 8
MAX_INSTITUTIONS = 5
MAX_SUGGESTIONS = 3
# A queued build that never started (worker lost before it took the job) is queued again.
STUCK_AFTER = timedelta(minutes=5)


def _node_id(kind: str, pk: int) -> str:
    return f"{kind}:{pk}"


def slice_fingerprint(researcher: Researcher) -> str:
    """A hash of everything the slice is built from (cheap aggregate queries)."""
    works = Work.objects.filter(authorships__researcher=researcher, is_hidden=False).aggregate(
        n=Count("id"), updated=Max("updated_at"), cited=Sum("cited_by_count")
    )
    edges = CoauthorEdge.objects.filter(researcher=researcher).aggregate(
        n=Count("id"), shared=Sum("shared_works"), last=Max("last_year")
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
    return hashlib.sha256(raw.encode()).hexdigest()


def _layout(nodes: list[dict]) -> None:
    """Place nodes on rings around the centre (by type) for the server-rendered drawing."""
    rings = {
        "researcher": 0,
        "person": 1,
        "topic": 1,
        "paper": 2,
        "institution": 2,
        "suggestion": 2,
    }
    by_ring: dict[int, list[dict]] = {}
    for node in nodes:
        by_ring.setdefault(rings.get(node["type"], 2), []).append(node)
    for ring, members in by_ring.items():
        radius = {0: 0, 1: 120, 2: 220}[ring]
        for index, node in enumerate(members):
            angle = 2 * math.pi * index / max(1, len(members)) + ring * 0.3
            node["x"] = round(300 + radius * math.cos(angle), 1)
            node["y"] = round(260 + radius * math.sin(angle), 1)


def compute_slice_payload(researcher: Researcher) -> dict:
    center = _node_id("researcher", researcher.pk)
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
        .order_by("-shared_works", "-last_year", "coauthor__display_name")[:MAX_PEOPLE]
    )
    people = [edge.coauthor for edge in people_edges]
    for edge in people_edges:
        person = edge.coauthor
        node_id = _node_id("researcher", person.pk)
        nodes.append(
            {
                "id": node_id,
                "type": "person",
                "label": person.display_name,
                "url": person.get_absolute_url(),
                "detail": f"{edge.shared_works} shared work(s)"
                + (f", last in {edge.last_year}" if edge.last_year else ""),
                "close": edge.is_close,
            }
        )
        edges.append(
            {"source": center, "target": node_id, "type": "coauthor", "weight": edge.shared_works}
        )

    topic_rows = list(
        ResearcherTopic.objects.filter(researcher=researcher)
        .select_related("topic")
        .order_by("-works_count", "topic__display_name")[:MAX_TOPICS]
    )
    topic_ids = [row.topic_id for row in topic_rows]
    for row in topic_rows:
        node_id = _node_id("topic", row.topic_id)
        nodes.append(
            {
                "id": node_id,
                "type": "topic",
                "label": row.topic.display_name,
                "url": row.topic.get_absolute_url(),
                "detail": f"{row.works_count} work(s)",
            }
        )
        edges.append({"source": center, "target": node_id, "type": "studies"})

    own_works = Work.objects.filter(authorships__researcher=researcher, is_hidden=False)
    recent = list(
        own_works.select_related("venue")
        .prefetch_related("topics")
        .order_by("-publication_year", "-publication_date", "-id")[:MAX_RECENT_PAPERS]
    )
    cited = list(
        own_works.filter(cited_by_count__gt=0)
        .exclude(pk__in=[w.pk for w in recent])
        .select_related("venue")
        .prefetch_related("topics")
        .order_by("-cited_by_count", "-id")[:MAX_CITED_PAPERS]
    )
    nearby: list[Work] = []
    if people and topic_ids:
        nearby = list(
            Work.objects.filter(
                authorships__researcher__in=people, topics__in=topic_ids, is_hidden=False
            )
            .exclude(authorships__researcher=researcher)
            .select_related("venue")
            .prefetch_related("topics")
            .distinct()
            .order_by("-publication_year", "-id")[:MAX_NEARBY_PAPERS]
        )
    shown_topics = set(topic_ids)
    for work, relation in [(w, "authored") for w in recent + cited] + [
        (w, "nearby") for w in nearby
    ]:
        node_id = _node_id("work", work.pk)
        nodes.append(
            {
                "id": node_id,
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
        )
        if relation == "authored":
            edges.append({"source": center, "target": node_id, "type": "authored"})
        for topic in work.topics.all():
            if topic.pk in shown_topics:
                edges.append(
                    {"source": node_id, "target": _node_id("topic", topic.pk), "type": "about"}
                )
    if nearby:
        nearby_ids = [w.pk for w in nearby]
        person_ids = {p.pk for p in people}
        for work_id, researcher_id in Authorship.objects.filter(
            work_id__in=nearby_ids, researcher_id__in=person_ids
        ).values_list("work_id", "researcher_id"):
            edges.append(
                {
                    "source": _node_id("researcher", researcher_id),
                    "target": _node_id("work", work_id),
                    "type": "authored",
                }
            )

    institution_counts: Counter = Counter()
    institutions = {}
    for person in [researcher, *people]:
        if person.last_known_institution_id:
            institutions[person.last_known_institution_id] = person.last_known_institution
            weight = 1000 if person is researcher else 1
            institution_counts[person.last_known_institution_id] += weight
    for institution_id, _ in institution_counts.most_common(MAX_INSTITUTIONS):
        institution = institutions[institution_id]
        node_id = _node_id("institution", institution_id)
        nodes.append(
            {
                "id": node_id,
                "type": "institution",
                "label": institution.display_name,
                "url": institution.get_absolute_url(),
                "detail": institution.country_code,
            }
        )
        for person in [researcher, *people]:
            if person.last_known_institution_id == institution_id:
                edges.append(
                    {
                        "source": _node_id("researcher", person.pk),
                        "target": node_id,
                        "type": "affiliated",
                    }
                )

    suggestions: list[dict] = []
    if topic_ids:
        known = {p.pk for p in people} | {researcher.pk}
        rows = (
            ResearcherTopic.objects.filter(
                topic_id__in=topic_ids[:3], researcher__merged_into__isnull=True
            )
            .exclude(researcher_id__in=known)
            .exclude(
                researcher__in=CoauthorEdge.objects.filter(researcher=researcher).values("coauthor")
            )
            .values("researcher_id", "researcher__display_name")
            .annotate(weight=Sum("works_count"))
            .order_by("-weight", "researcher__display_name")[:MAX_SUGGESTIONS]
        )
        for row in rows:
            stub = Researcher(pk=row["researcher_id"], display_name=row["researcher__display_name"])
            suggestions.append(
                {
                    "id": _node_id("researcher", stub.pk),
                    "type": "suggestion",
                    "label": stub.display_name,
                    "url": stub.get_absolute_url(),
                    "detail": f"{row['weight']} work(s) on the same topics",
                }
            )
    nodes.extend(suggestions)
    _layout(nodes)
    return {"center": center, "nodes": nodes, "edges": edges}


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
        fingerprint = slice_fingerprint(researcher)
        if (
            not force
            and graph_slice.status == GraphSlice.Status.READY
            and graph_slice.fingerprint == fingerprint
        ):
            return graph_slice
        graph_slice.status = GraphSlice.Status.BUILDING
        graph_slice.save(update_fields=["status"])
    try:
        payload = compute_slice_payload(researcher)
    except Exception as error:
        GraphSlice.objects.filter(pk=graph_slice.pk).update(
            status=GraphSlice.Status.FAILED, error=str(error)[:2000]
        )
        raise
    graph_slice.payload = payload
    graph_slice.fingerprint = fingerprint
    graph_slice.status = GraphSlice.Status.READY
    graph_slice.error = ""
    graph_slice.computed_at = timezone.now()
    graph_slice.save(update_fields=["payload", "fingerprint", "status", "error", "computed_at"])
    return graph_slice


def request_slice(*, researcher: Researcher) -> GraphSlice:
    """Return the slice for a page, queueing one build when none is ready or under way.

    A second request while a build is queued or running queues nothing: the status row is
    claimed with a conditional UPDATE. When the broker is down the slice comes back FAILED
    with `error` set, and the page offers a retry.
    """
    from graph.tasks import build_graph_slice

    now = timezone.now()
    graph_slice, created = GraphSlice.objects.get_or_create(
        researcher=researcher,
        defaults={"status": GraphSlice.Status.QUEUED, "requested_at": now},
    )
    if not created:
        if graph_slice.status == GraphSlice.Status.READY:
            return graph_slice
        claimed = (
            GraphSlice.objects.filter(pk=graph_slice.pk)
            .filter(
                Q(status=GraphSlice.Status.FAILED)
                | Q(status=GraphSlice.Status.QUEUED, requested_at__lt=now - STUCK_AFTER)
                | Q(status=GraphSlice.Status.QUEUED, requested_at__isnull=True)
            )
            .update(status=GraphSlice.Status.QUEUED, requested_at=now, error="")
        )
        if not claimed:
            graph_slice.refresh_from_db()
            return graph_slice
        graph_slice.status = GraphSlice.Status.QUEUED
    try:
        build_graph_slice.delay(researcher.pk)
    except Exception as error:  # kombu raises several types when the broker is unreachable
        logger.warning("Graph slice for %s not queued: %s", researcher.pk, error)
        GraphSlice.objects.filter(pk=graph_slice.pk).update(
            status=GraphSlice.Status.FAILED, error="The graph service is unavailable."
        )
        graph_slice.status = GraphSlice.Status.FAILED
        graph_slice.error = "The graph service is unavailable."
    return graph_slice
