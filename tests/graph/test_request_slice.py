"""request_slice: one queued build per need, whatever the number of page views."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from bzpeer.celery import app as celery_app
from graph.models import GraphSlice
from graph.services import build_slice, request_slice
from graph.tasks import build_graph_slice
from tests.builders import researcher_with_coauthors

pytestmark = pytest.mark.django_db


def test_two_requests_queue_one_build(queued_builds, django_capture_on_commit_callbacks):
    lead = researcher_with_coauthors()
    with django_capture_on_commit_callbacks(execute=True):
        first = request_slice(researcher=lead)
        second = request_slice(researcher=lead)
    assert first.status == second.status == GraphSlice.Status.QUEUED
    assert queued_builds == [lead.pk]


def test_two_requests_put_one_message_on_the_broker(
    monkeypatch, django_capture_on_commit_callbacks
):
    """The same, counted on the real Redis broker: a queue of our own, read back with LLEN."""
    queue = f"bzpeer-graph-test-{timezone.now().timestamp():.0f}"
    original = build_graph_slice.apply_async
    monkeypatch.setattr(
        build_graph_slice, "delay", lambda pk: original(args=[pk], queue=queue, retry=False)
    )
    lead = researcher_with_coauthors()
    with celery_app.connection_for_write() as connection:
        redis = connection.default_channel.client
        try:
            with django_capture_on_commit_callbacks(execute=True):
                request_slice(researcher=lead)
                request_slice(researcher=lead)
            assert redis.llen(queue) == 1
        finally:
            redis.delete(queue, f"_kombu.binding.{queue}")


def test_ready_and_fresh_queues_nothing(queued_builds, django_capture_on_commit_callbacks):
    lead = researcher_with_coauthors()
    build_slice(researcher_id=lead.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert request_slice(researcher=lead).status == GraphSlice.Status.READY
    assert queued_builds == []


def test_building_queues_nothing(queued_builds, django_capture_on_commit_callbacks):
    lead = researcher_with_coauthors()
    GraphSlice.objects.create(researcher=lead, status=GraphSlice.Status.BUILDING)
    with django_capture_on_commit_callbacks(execute=True):
        assert request_slice(researcher=lead).status == GraphSlice.Status.BUILDING
    assert queued_builds == []


def test_lost_queued_build_is_queued_again(queued_builds, django_capture_on_commit_callbacks):
    lead = researcher_with_coauthors()
    GraphSlice.objects.create(
        researcher=lead,
        status=GraphSlice.Status.QUEUED,
        requested_at=timezone.now() - timedelta(minutes=10),
    )
    with django_capture_on_commit_callbacks(execute=True):
        request_slice(researcher=lead)
        request_slice(researcher=lead)
    assert queued_builds == [lead.pk]


def test_broker_down_marks_failed_then_retry_recovers(
    broker_unreachable, monkeypatch, django_capture_on_commit_callbacks
):
    lead = researcher_with_coauthors()
    with django_capture_on_commit_callbacks(execute=True):
        graph_slice = request_slice(researcher=lead)
    assert graph_slice.status == GraphSlice.Status.FAILED
    assert graph_slice.error == "The graph service is unavailable."
    calls: list[int] = []
    monkeypatch.setattr(build_graph_slice, "delay", calls.append)
    with django_capture_on_commit_callbacks(execute=True):
        assert request_slice(researcher=lead).status == GraphSlice.Status.QUEUED
    assert calls == [lead.pk]


def test_broker_down_keeps_a_stale_ready_slice(
    broker_unreachable, django_capture_on_commit_callbacks
):
    lead = researcher_with_coauthors()
    build_slice(researcher_id=lead.pk)
    type(lead).objects.filter(pk=lead.pk).update(works_count=99)
    lead.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert request_slice(researcher=lead).status == GraphSlice.Status.READY
    assert GraphSlice.objects.get(researcher=lead).status == GraphSlice.Status.READY


# --- queued when the transaction commits ------------------------------------------------


class RolledBack(Exception):
    pass


def test_a_rolled_back_transaction_queues_nothing(
    queued_builds, django_capture_on_commit_callbacks
):
    lead = researcher_with_coauthors()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RolledBack),
        transaction.atomic(),
    ):
        assert request_slice(researcher=lead).status == GraphSlice.Status.QUEUED
        raise RolledBack
    assert callbacks == []
    assert queued_builds == []
    assert not GraphSlice.objects.filter(researcher=lead).exists()


def test_inside_a_transaction_the_build_is_queued_when_it_commits(
    queued_builds, django_capture_on_commit_callbacks
):
    lead = researcher_with_coauthors()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        request_slice(researcher=lead)
        assert queued_builds == []  # not while the row is uncommitted
    assert len(callbacks) == 1
    assert queued_builds == [lead.pk]


def test_broker_down_at_commit_leaves_a_failed_slice_the_next_request_queues_again(
    broker_unreachable, monkeypatch, django_capture_on_commit_callbacks
):
    lead = researcher_with_coauthors()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        # Nothing is published before the commit: the slice says queued for now.
        assert request_slice(researcher=lead).status == GraphSlice.Status.QUEUED
    graph_slice = GraphSlice.objects.get(researcher=lead)
    assert graph_slice.status == GraphSlice.Status.FAILED
    assert graph_slice.error == "The graph service is unavailable."
    calls: list[int] = []
    monkeypatch.setattr(build_graph_slice, "delay", calls.append)
    with django_capture_on_commit_callbacks(execute=True):
        assert request_slice(researcher=lead).status == GraphSlice.Status.QUEUED
    assert calls == [lead.pk]
