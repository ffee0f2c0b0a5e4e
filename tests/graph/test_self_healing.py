"""A slice whose build was lost (worker killed, job gone) is queued again: by the next
request for it or by the periodic sweep, once it is older than a task may run.

Real processes (a killed worker, a job deleted from Redis, celery beat) are in
tests/integration/test_self_healing_slices.py; here the rules, in the test transaction.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from bzpeer.celery import app as celery_app
from graph.models import GraphSlice
from graph.services import build_slice, request_slice, requeue_stuck_slices
from graph.tasks import requeue_stuck_slices as requeue_stuck_slices_task
from tests.builders import researcher_with_coauthors
from tests.factories import ResearcherFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


STUCK = settings.GRAPH_SLICE_STUCK_SECONDS


# --- the limits agree with each other ---------------------------------------------------


def test_a_build_counts_as_stuck_only_after_the_task_time_limit():
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT < STUCK


def test_the_broker_redelivers_just_after_the_task_time_limit():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert settings.CELERY_TASK_TIME_LIMIT < visibility <= settings.CELERY_TASK_TIME_LIMIT + 60
    assert celery_app.conf.broker_transport_options["visibility_timeout"] == visibility


def test_beat_sweeps_for_stuck_slices_every_minute():
    entry = celery_app.conf.beat_schedule["requeue-stuck-graph-slices"]
    assert entry["task"] == "graph.tasks.requeue_stuck_slices"
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] == settings.GRAPH_SLICE_SWEEP_SECONDS == 60
    # A lost job is queued again within a few minutes even when no page asks.
    assert STUCK + settings.GRAPH_SLICE_SWEEP_SECONDS <= 5 * 60


def test_a_page_polls_past_the_moment_its_poll_queues_a_lost_build_again():
    polling = settings.GRAPH_SLICE_MAX_POLLS * settings.GRAPH_SLICE_POLL_SECONDS
    assert polling >= STUCK + 60
    assert polling <= 5 * 60


# --- the next request -------------------------------------------------------------------


def test_building_longer_than_a_task_may_run_is_queued_again(
    queued_builds, django_capture_on_commit_callbacks
):
    lead = researcher_with_coauthors()
    GraphSlice.objects.create(
        researcher=lead, status=GraphSlice.Status.BUILDING, started_at=ago(STUCK + 1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert request_slice(researcher=lead).status == GraphSlice.Status.QUEUED
        assert request_slice(researcher=lead).status == GraphSlice.Status.QUEUED
    assert queued_builds == [lead.pk]


def test_a_build_under_the_limit_is_left_alone(queued_builds, django_capture_on_commit_callbacks):
    building = researcher_with_coauthors(name="Building")
    waiting = researcher_with_coauthors(name="Waiting")
    GraphSlice.objects.create(
        researcher=building, status=GraphSlice.Status.BUILDING, started_at=ago(STUCK - 10)
    )
    GraphSlice.objects.create(
        researcher=waiting, status=GraphSlice.Status.QUEUED, requested_at=ago(STUCK - 10)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert request_slice(researcher=building).status == GraphSlice.Status.BUILDING
        assert request_slice(researcher=waiting).status == GraphSlice.Status.QUEUED
    assert queued_builds == []


def test_the_worker_records_when_it_took_the_build(queued_builds):
    lead = researcher_with_coauthors()
    GraphSlice.objects.create(researcher=lead, status=GraphSlice.Status.QUEUED, requested_at=ago(5))
    before = timezone.now()
    graph_slice = build_slice(researcher_id=lead.pk)
    assert graph_slice.status == GraphSlice.Status.READY
    assert graph_slice.started_at >= before


def test_a_polling_page_queues_a_lost_build_again_and_keeps_polling(
    client, queued_builds, django_capture_on_commit_callbacks
):
    """With the default poll interval and cap: the poll that comes after the stuck limit
    queues the build again, and the page is still polling for its result."""
    lead = researcher_with_coauthors()
    GraphSlice.objects.create(
        researcher=lead, status=GraphSlice.Status.BUILDING, started_at=ago(STUCK + 1)
    )
    poll = math.ceil((STUCK + 1) / settings.GRAPH_SLICE_POLL_SECONDS)
    url = f"/researchers/{lead.pk}/graph/slice/"
    with django_capture_on_commit_callbacks(execute=True):
        html = client.get(f"{url}?poll={poll}", headers=HTMX).content.decode()
    assert queued_builds == [lead.pk]
    assert "Building this graph slice" in html
    assert f'hx-get="{url}?poll={poll + 1}"' in html
    last = client.get(f"{url}?poll={settings.GRAPH_SLICE_MAX_POLLS}", headers=HTMX)
    html = last.content.decode()
    assert "hx-trigger" not in html
    assert "A build that stalls is started again by itself within a few minutes." in html


# --- the sweep ----------------------------------------------------------------------------


def test_the_sweep_queues_every_stuck_slice_and_nothing_else(
    queued_builds, django_capture_on_commit_callbacks
):
    lost_job = ResearcherFactory()
    killed_worker = ResearcherFactory()
    fresh = {
        GraphSlice.Status.QUEUED: ResearcherFactory(),
        GraphSlice.Status.BUILDING: ResearcherFactory(),
    }
    old_ready = ResearcherFactory()
    failed = ResearcherFactory()
    GraphSlice.objects.create(
        researcher=lost_job, status=GraphSlice.Status.QUEUED, requested_at=ago(STUCK + 1)
    )
    GraphSlice.objects.create(
        researcher=killed_worker, status=GraphSlice.Status.BUILDING, started_at=ago(STUCK + 1)
    )
    GraphSlice.objects.create(
        researcher=fresh[GraphSlice.Status.QUEUED],
        status=GraphSlice.Status.QUEUED,
        requested_at=ago(1),
    )
    GraphSlice.objects.create(
        researcher=fresh[GraphSlice.Status.BUILDING],
        status=GraphSlice.Status.BUILDING,
        started_at=ago(1),
    )
    GraphSlice.objects.create(
        researcher=old_ready, status=GraphSlice.Status.READY, requested_at=ago(STUCK * 10)
    )
    # A failed build waits for its page's retry button; the sweep leaves it.
    GraphSlice.objects.create(researcher=failed, status=GraphSlice.Status.FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        swept = requeue_stuck_slices()

    assert sorted(swept) == sorted(queued_builds) == sorted([lost_job.pk, killed_worker.pk])
    for researcher in (lost_job, killed_worker):
        graph_slice = GraphSlice.objects.get(researcher=researcher)
        assert graph_slice.status == GraphSlice.Status.QUEUED
        assert graph_slice.requested_at > ago(STUCK)
    assert GraphSlice.objects.get(researcher=old_ready).status == GraphSlice.Status.READY
    assert GraphSlice.objects.get(researcher=failed).status == GraphSlice.Status.FAILED
    # Queued again just now: the next sweep leaves them to their new jobs.
    with django_capture_on_commit_callbacks(execute=True):
        assert requeue_stuck_slices() == []
    assert len(queued_builds) == 2


def test_the_sweep_task_queues_after_its_transaction_commits(
    queued_builds, django_capture_on_commit_callbacks
):
    lead = ResearcherFactory()
    GraphSlice.objects.create(
        researcher=lead, status=GraphSlice.Status.QUEUED, requested_at=ago(STUCK + 1)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert requeue_stuck_slices_task() == 1
    assert queued_builds == []  # not before the commit
    for callback in callbacks:
        callback()
    assert queued_builds == [lead.pk]


def test_the_sweep_with_the_broker_down_leaves_failed_slices_to_their_pages(
    broker_unreachable, django_capture_on_commit_callbacks
):
    lead = ResearcherFactory()
    GraphSlice.objects.create(
        researcher=lead, status=GraphSlice.Status.QUEUED, requested_at=ago(STUCK + 1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        requeue_stuck_slices()
    graph_slice = GraphSlice.objects.get(researcher=lead)
    assert graph_slice.status == GraphSlice.Status.FAILED
    assert graph_slice.error == "The graph service is unavailable."
