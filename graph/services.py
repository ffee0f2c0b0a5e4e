"""Writes for the research graph slice: build one (the worker), ask for one (a page),
and queue the build. What a slice holds is composed in graph.composition."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from graph import composition
from graph.composition import freshness_key, is_stale, slice_inputs
from graph.models import GraphSlice
from profiles.models import Researcher

logger = logging.getLogger(__name__)

# A stale ready slice asks for one rebuild at most this often.
STALE_REBUILD_EVERY = timedelta(minutes=5)
# How many stuck slices one sweep queues again (the next sweep takes the rest).
SWEEP_BATCH = 500
UNAVAILABLE = "The graph service is unavailable."


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
            graph_slice.started_at = timezone.now()
            graph_slice.save(update_fields=["status", "started_at"])
    _wait_at_test_gate()
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


def drop_slices_showing(*, researcher_ids: Iterable[int]) -> int:
    """Delete these researchers' slices and every slice that shows one of them (as a
    co-author or a suggestion), in the caller's transaction: a record just hidden leaves
    no stored trace in anyone's graph. A page that asks again gets a fresh build."""
    ids = sorted(set(researcher_ids))
    if not ids:
        return 0
    shows = Q(researcher_id__in=ids)
    for pk in ids:
        shows |= Q(payload__nodes__contains=[{"id": f"researcher:{pk}"}])
    deleted, _ = GraphSlice.objects.filter(shows).delete()
    return deleted


def stuck_slices(*, now: datetime) -> Q:
    """Slices whose build was lost: queued (never taken) or building (the worker died) for
    longer than a task may run (GRAPH_SLICE_STUCK_SECONDS, above the task time limit)."""
    before = now - timedelta(seconds=settings.GRAPH_SLICE_STUCK_SECONDS)
    queued = Q(status=GraphSlice.Status.QUEUED) & (
        Q(requested_at__lt=before) | Q(requested_at__isnull=True)
    )
    building = Q(status=GraphSlice.Status.BUILDING, started_at__lt=before)
    return queued | building


def request_slice(*, researcher: Researcher) -> GraphSlice:
    """Return the slice for a page, queueing one build when none is ready or under way.

    1. No row yet: create it QUEUED and queue a build.
    2. READY: serve it. When the researcher row says its inputs moved (`is_stale`), also
       queue one rebuild, at most once per STALE_REBUILD_EVERY (a conditional UPDATE on
       requested_at claims it), and keep serving the old slice meanwhile.
    3. QUEUED or BUILDING: queue nothing, unless the build is stuck (`stuck_slices`: its
       job or its worker was lost). FAILED: queue again (the retry button).
    The conditional UPDATE lets only one of two concurrent requests queue the build.
    The build is queued when the caller's transaction commits (`_enqueue`). When the
    broker is down a slice without a ready payload comes back FAILED with `error` set
    (or, inside a transaction, is left FAILED after the commit), and the page offers a retry.
    """
    now = timezone.now()
    graph_slice, created = GraphSlice.objects.get_or_create(
        researcher=researcher,
        defaults={"status": GraphSlice.Status.QUEUED, "requested_at": now},
    )
    if created:
        return _enqueue(graph_slice)
    if graph_slice.status == GraphSlice.Status.READY:
        if not is_stale(graph_slice, researcher):
            return graph_slice
        overdue = Q(requested_at__lt=now - STALE_REBUILD_EVERY) | Q(requested_at__isnull=True)
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
        .filter(Q(status=GraphSlice.Status.FAILED) | stuck_slices(now=now))
        .update(status=GraphSlice.Status.QUEUED, requested_at=now, error="")
    )
    if not claimed:
        graph_slice.refresh_from_db()
        return graph_slice
    graph_slice.status = GraphSlice.Status.QUEUED
    graph_slice.requested_at = now
    graph_slice.error = ""
    return _enqueue(graph_slice)


def requeue_stuck_slices() -> list[int]:
    """Queue again every stuck slice (`stuck_slices`), so a lost build heals even when no
    page asks for it; Celery beat runs this every GRAPH_SLICE_SWEEP_SECONDS. Returns the
    researcher ids queued. Rows a worker or a request holds right now are left to them."""
    now = timezone.now()
    with transaction.atomic():
        stuck = list(
            GraphSlice.objects.select_for_update(skip_locked=True)
            .filter(stuck_slices(now=now))
            .order_by("pk")[:SWEEP_BATCH]
        )
        GraphSlice.objects.filter(pk__in=[graph_slice.pk for graph_slice in stuck]).update(
            status=GraphSlice.Status.QUEUED, requested_at=now, error=""
        )
        for graph_slice in stuck:
            graph_slice.status = GraphSlice.Status.QUEUED
            graph_slice.requested_at = now
            _enqueue(graph_slice)
    if stuck:
        logger.warning("Queued %d stuck graph slice(s) again", len(stuck))
    return [graph_slice.researcher_id for graph_slice in stuck]


def _enqueue(graph_slice: GraphSlice, *, keep_ready: bool = False) -> GraphSlice:
    """Queue the build once the caller's transaction commits, so the worker never reads a
    row that is not committed yet or was rolled back. Outside a transaction (a request:
    ATOMIC_REQUESTS is off) that is at once, and a broker failure shows in the slice
    returned; inside one, the failure is written after the commit (`_publish`)."""
    transaction.on_commit(functools.partial(_publish, graph_slice, keep_ready=keep_ready))
    return graph_slice


def _publish(graph_slice: GraphSlice, *, keep_ready: bool) -> None:
    """Send the build to the broker. When the broker refuses, a slice that has no ready
    payload becomes FAILED (a later request, or the retry button, queues it again); a ready
    one is kept and asks again after STALE_REBUILD_EVERY."""
    from graph.tasks import build_graph_slice

    try:
        build_graph_slice.delay(graph_slice.researcher_id)
    except Exception as error:  # kombu raises several types when the broker is unreachable
        logger.warning("Graph slice for %s not queued: %s", graph_slice.researcher_id, error)
        if keep_ready:
            return
        failed = GraphSlice.objects.filter(
            pk=graph_slice.pk, status=GraphSlice.Status.QUEUED
        ).update(status=GraphSlice.Status.FAILED, error=UNAVAILABLE)
        if failed:
            graph_slice.status = GraphSlice.Status.FAILED
            graph_slice.error = UNAVAILABLE


def _wait_at_test_gate() -> None:
    """Tests only: with GRAPH_SLICE_BUILD_GATE set, wait while a test holds that Postgres
    advisory lock, so the test can catch (and kill) a worker in the middle of a build."""
    gate = settings.GRAPH_SLICE_BUILD_GATE
    if gate is None:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [gate])
