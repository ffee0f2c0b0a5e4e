"""A graph slice whose build was lost heals by itself: the worker killed mid-build, the job
removed from the broker, a transaction rolled back before its build was queued.

Real processes throughout: a Celery worker SIGKILLed (main process and pool child) while a
build waits on a Postgres advisory lock the test holds (GRAPH_SLICE_BUILD_GATE), the Redis
broker's own keys, and `celery beat` running the sweep. A lost build counts as stuck once
it is older than a task may run (GRAPH_SLICE_STUCK_SECONDS); the tests move the slice's
clock back that far instead of waiting for it, and wait only for states.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import F

from bzpeer.celery import app as celery_app
from bzpeer.curation.derived import queue_recompute
from graph.models import GraphSlice
from graph.services import request_slice
from tests.integration.conftest import (
    WORKER_STOP_SECONDS,
    WorkerProcess,
    broker_client,
    broker_keys,
    wait_until,
)
from tests.integration.conftest import (
    test_database_url as database_url_for_tests,
)
from tests.integration.test_worker_builds_slice import (
    WORKER_TIMEOUT,
    hx_get,
    make_team,
    poll_until_ready,
    slice_url,
)

pytestmark = pytest.mark.django_db(transaction=True)


def past_the_stuck_limit() -> timedelta:
    return timedelta(seconds=settings.GRAPH_SLICE_STUCK_SECONDS + 1)


def queue_length(queue: str) -> int:
    connection, redis = broker_client()
    try:
        return redis.llen(queue)
    finally:
        connection.release()


@contextmanager
def routed_to(queue: str) -> Iterator[None]:
    """Send this process's tasks to `queue` for a while."""
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        yield
    finally:
        celery_app.conf.task_default_queue = previous


@pytest.fixture
def unconsumed_queue() -> Iterator[str]:
    """A queue no worker consumes (routing stays the session worker's until `routed_to`)."""
    queue = f"bzpeer-test-unconsumed-{uuid.uuid4().hex[:12]}"
    yield queue
    connection, redis = broker_client()
    try:
        redis.delete(*broker_keys(queue))
    finally:
        connection.release()


@contextmanager
def held_gate() -> Iterator[tuple[int, psycopg.Connection]]:
    """An advisory lock key, held by a connection of the test's own: a build that reaches
    the gate waits there until the lock is released."""
    key = random.randint(1, 2**31 - 1)
    with psycopg.connect(database_url_for_tests(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield key, holder
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", [key])


def backend_waiting_at(holder: psycopg.Connection, key: int) -> int | None:
    """The Postgres backend (pid) of a build waiting at the gate, if one is."""
    row = holder.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND classid = 0 AND objid = %s AND objsubid = 1",
        [key],
    ).fetchone()
    return row[0] if row else None


@pytest.fixture
def doomed_worker(celery_worker, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A second real worker (prefork: each task runs in a child process) on a queue of its
    own, whose builds stop at the gate; the test kills it. The session's worker stays up
    to build what is queued again."""
    queue = f"bzpeer-test-doomed-{uuid.uuid4().hex[:12]}"
    env = {**celery_worker.env, "CELERY_QUEUE": queue}
    worker = WorkerProcess(queue=queue, log_path=tmp_path / "doomed.log", env=env, pool="prefork")
    yield worker
    worker.stop()
    with suppress(Exception):
        worker.forget_queue()


@pytest.mark.worker
def test_a_build_whose_worker_was_killed_is_queued_again_by_the_next_poll(
    client, celery_worker, doomed_worker
):
    lead, (grace, _) = make_team()
    with held_gate() as (key, holder):
        doomed_worker.env["GRAPH_SLICE_BUILD_GATE"] = str(key)
        doomed_worker.start()
        with routed_to(doomed_worker.queue):
            assert "Building this graph slice" in hx_get(client, slice_url(lead))
        backend = wait_until(
            lambda: backend_waiting_at(holder, key),
            timeout=WORKER_TIMEOUT,
            what="the worker's build to reach the gate",
        )
        building = GraphSlice.objects.get(researcher=lead)
        assert building.status == GraphSlice.Status.BUILDING
        assert building.started_at is not None
        pids = doomed_worker.pids()
        assert len(pids) == 2, f"expected the worker and its pool child, got {pids}"

        doomed_worker.kill()
        wait_until(
            lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids),
            timeout=WORKER_STOP_SECONDS,
            what="the killed worker's processes to be gone",
        )
        # Its database session would wait at the gate until the lock is released; end it
        # the way Postgres does once it notices the client is gone.
        holder.execute("SELECT pg_terminate_backend(%s)", [backend])

    # The job is neither done nor back on a queue: the broker holds it, unacknowledged,
    # until its visibility timeout. Before the stuck limit a poll leaves the build alone.
    polled = hx_get(client, f"{slice_url(lead)}?poll=1")
    assert "Building this graph slice" in polled
    still = GraphSlice.objects.get(researcher=lead)
    assert (still.status, still.started_at) == (GraphSlice.Status.BUILDING, building.started_at)
    assert queue_length(celery_worker.queue) == 0

    # Once the build is older than a task may run, the page's next poll queues it again
    # and the session's worker builds it.
    GraphSlice.objects.filter(researcher=lead).update(
        started_at=F("started_at") - past_the_stuck_limit()
    )
    html = poll_until_ready(client, lead)

    assert "Grace Hopper" in html
    graph_slice = GraphSlice.objects.get(researcher=lead)
    assert graph_slice.status == GraphSlice.Status.READY
    assert graph_slice.started_at > building.started_at  # a build of its own, by the other worker


class BeatProcess:
    """`celery beat` as docker-compose runs it, with a short sweep interval."""

    def __init__(self, *, env: dict[str, str], workdir: Path) -> None:
        self.log_path = workdir / "beat.log"
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bzpeer",
                "beat",
                "--loglevel",
                "info",
                "--schedule",
                str(workdir / "beat-schedule"),
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(WORKER_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(WORKER_STOP_SECONDS)


@pytest.mark.worker
def test_a_build_removed_from_the_broker_is_queued_again_by_the_beat_sweep(
    client, celery_worker, unconsumed_queue, tmp_path
):
    lead, (grace, _) = make_team()
    with routed_to(unconsumed_queue):
        assert "Building this graph slice" in hx_get(client, slice_url(lead))
    assert queue_length(unconsumed_queue) == 1
    connection, redis = broker_client()
    try:
        redis.delete(unconsumed_queue)  # the job is lost: nothing will ever build this slice
    finally:
        connection.release()
    GraphSlice.objects.filter(researcher=lead).update(
        requested_at=F("requested_at") - past_the_stuck_limit()
    )
    assert GraphSlice.objects.get(researcher=lead).status == GraphSlice.Status.QUEUED

    # No page asks any more; the periodic sweep (celery beat, as deployed) finds the slice.
    env = {**celery_worker.env, "GRAPH_SLICE_SWEEP_SECONDS": "1"}
    sweeper = BeatProcess(env=env, workdir=tmp_path)
    try:
        wait_until(
            lambda: GraphSlice.objects.get(researcher=lead).status == GraphSlice.Status.READY,
            timeout=WORKER_TIMEOUT,
            what="the beat sweep to queue the slice again and the worker to build it",
        )
    finally:
        sweeper.stop()
    assert "graph.tasks.requeue_stuck_slices" in sweeper.log()
    labels = {node["label"] for node in GraphSlice.objects.get(researcher=lead).payload["nodes"]}
    assert "Grace Hopper" in labels


@pytest.mark.worker
def test_a_build_removed_from_the_broker_is_queued_again_by_the_next_poll(
    client, celery_worker, unconsumed_queue
):
    lead, (grace, _) = make_team()
    with routed_to(unconsumed_queue):
        assert "Building this graph slice" in hx_get(client, slice_url(lead))
    connection, redis = broker_client()
    try:
        redis.delete(unconsumed_queue)
    finally:
        connection.release()
    GraphSlice.objects.filter(researcher=lead).update(
        requested_at=F("requested_at") - past_the_stuck_limit()
    )

    assert "Grace Hopper" in poll_until_ready(client, lead)


class RolledBack(Exception):
    pass


def test_a_rolled_back_transaction_puts_nothing_on_the_broker(idle_queue):
    lead, _ = make_team()

    with suppress(RolledBack), transaction.atomic():
        request_slice(researcher=lead)
        raise RolledBack

    assert queue_length(idle_queue) == 0
    assert not GraphSlice.objects.filter(researcher=lead).exists()
    # The same request committed puts one build there, after the commit.
    with transaction.atomic():
        request_slice(researcher=lead)
        assert queue_length(idle_queue) == 0
    assert queue_length(idle_queue) == 1


def test_a_rolled_back_change_queues_no_recompute(idle_queue):
    lead, _ = make_team()

    with suppress(RolledBack), transaction.atomic():
        queue_recompute(researcher_ids=[lead.pk])
        raise RolledBack

    assert queue_length(idle_queue) == 0
    with transaction.atomic():
        queue_recompute(researcher_ids=[lead.pk])
        assert queue_length(idle_queue) == 0
    assert queue_length(idle_queue) == 1
