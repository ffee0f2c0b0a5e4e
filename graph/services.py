"""Writes for the research graph slice: build one (the worker), ask for one (a page),
and queue the build. What a slice holds is composed in graph.composition."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from graph import composition
from graph.composition import freshness_key, is_stale, slice_inputs
from graph.models import GraphSlice
from profiles.models import Researcher

logger = logging.getLogger(__name__)

# A queued build that never started (worker lost before it took the job) is queued again;
# a stale ready slice asks for one rebuild at most this often.
STUCK_AFTER = timedelta(minutes=5)


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
        payload = composition.compose_slice(researcher, inputs)
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
