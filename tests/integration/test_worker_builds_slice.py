"""The graph slice and trust, computed by a real Celery worker process on a real broker.

Tests that wait on the worker commit their rows (`transactional_db`), since the worker
reads them through its own database connection.
"""

from __future__ import annotations

import json
import re
import threading

import pytest
from django.db import connections, transaction
from django.test import Client

from bzpeer.curation.derived import refresh_derived_data, refresh_researcher_counts
from graph.edges import rebuild_coauthor_edges
from graph.models import GraphSlice
from graph.services import request_slice
from profiles.models import Researcher
from tests.factories import AuthorshipFactory, ResearcherFactory, TopicFactory, WorkFactory
from tests.integration.conftest import broker_client, wait_until

HTMX = {"HX-Request": "true"}
# Bounded waits for the worker (it usually needs well under a second).
WORKER_TIMEOUT = 30
# A request that hangs on the broker never comes back; this bound turns that into a failure.
REQUEST_TIMEOUT = 30


def slice_url(researcher: Researcher) -> str:
    return f"/researchers/{researcher.pk}/graph/slice/"


def make_team() -> tuple[Researcher, list[Researcher]]:
    """A researcher with two co-authors on two works (one of them on both), edges built."""
    topic = TopicFactory(display_name="Graph Theory")
    lead = ResearcherFactory(display_name="Ada Lovelace")
    grace = ResearcherFactory(display_name="Grace Hopper")
    alan = ResearcherFactory(display_name="Alan Turing")
    for year, coauthors in ((2021, [grace, alan]), (2023, [grace])):
        work = WorkFactory(publication_year=year, authors_count=1 + len(coauthors))
        work.topics.add(topic)
        for order, person in enumerate([lead, *coauthors]):
            AuthorshipFactory(work=work, researcher=person, order=order)
    ids = [lead.pk, grace.pk, alan.pk]
    refresh_researcher_counts(researcher_ids=ids)
    rebuild_coauthor_edges(researcher_ids=ids)
    return lead, [grace, alan]


def hx_get(client: Client, url: str) -> str:
    response = client.get(url, headers=HTMX)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def queued_tasks(queue: str) -> list[dict]:
    connection, redis = broker_client()
    try:
        return [json.loads(raw) for raw in redis.lrange(queue, 0, -1)]
    finally:
        connection.release()


def get_in_thread(client: Client, url: str, **kwargs):
    """GET in another thread; fail (instead of hanging the run) if it never returns."""
    result: dict = {}

    def run() -> None:
        try:
            result["response"] = client.get(url, **kwargs)
        except BaseException as error:  # re-raised in the test thread
            result["error"] = error
        finally:
            connections.close_all()  # this thread's own connections

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(REQUEST_TIMEOUT)
    if thread.is_alive():
        pytest.fail(f"GET {url} did not come back within {REQUEST_TIMEOUT} s")
    if "error" in result:
        raise result["error"]
    return result["response"]


def poll_until_ready(client: Client, researcher: Researcher) -> str:
    """Ask for the fragment the way the page does until the worker's slice is there."""

    def ready() -> str | None:
        html = hx_get(client, f"{slice_url(researcher)}?poll=1")
        if "graph-slice-ready" in html:
            return html
        assert "Building this graph slice" in html, html
        return None

    return wait_until(ready, timeout=WORKER_TIMEOUT, what="the worker to build the slice")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_builds_the_slice_the_page_asked_for(client, celery_worker):
    lead, (grace, alan) = make_team()

    first = hx_get(client, slice_url(lead))

    assert "Building this graph slice" in first
    # The placeholder polls itself (the next attempt is numbered) until the slice is ready.
    assert f'hx-get="{slice_url(lead)}?poll=1"' in first
    assert 'hx-trigger="load delay:' in first

    html = poll_until_ready(client, lead)

    assert "hx-trigger" not in html  # the ready slice stops the polling
    people = html[html.index('id="slice-people"') : html.index('id="slice-papers"')]
    assert f'<a href="{grace.get_absolute_url()}">Grace Hopper</a>' in people
    assert f'<a href="{alan.get_absolute_url()}">Alan Turing</a>' in people
    # Ranked by shared works: Grace (2) before Alan (1).
    assert people.index("Grace Hopper") < people.index("Alan Turing")
    assert "2 shared works, last in 2023" in people
    graph_slice = GraphSlice.objects.get(researcher=lead)
    assert graph_slice.status == GraphSlice.Status.READY
    assert graph_slice.computed_at is not None


@pytest.mark.django_db
def test_second_request_while_queued_queues_nothing(
    client, idle_queue, django_capture_on_commit_callbacks
):
    lead, _ = make_team()

    # Each request publishes on commit (at once in a real request's autocommit).
    with django_capture_on_commit_callbacks(execute=True):
        hx_get(client, slice_url(lead))
    with django_capture_on_commit_callbacks(execute=True):
        hx_get(client, f"{slice_url(lead)}?poll=1")
    with django_capture_on_commit_callbacks(execute=True):
        again = request_slice(researcher=lead)

    assert again.status == GraphSlice.Status.QUEUED
    tasks = queued_tasks(idle_queue)
    assert len(tasks) == 1
    headers = tasks[0]["headers"]
    assert headers["task"] == "graph.tasks.build_graph_slice"
    assert headers["argsrepr"] == f"({lead.pk},)"


@pytest.mark.django_db(transaction=True)  # the requests run in another thread
def test_broker_down_keeps_the_page_and_offers_a_retry(client, broker_down):
    lead, _ = make_team()

    page = get_in_thread(client, lead.get_absolute_url())
    fragment = get_in_thread(client, slice_url(lead), headers=HTMX)

    assert page.status_code == 200
    html = page.content.decode()
    for section in (
        "Researcher profile",
        "Ada Lovelace",
        "Trust snapshot",
        "Decide how to stay connected",
        "Follow researcher",
        "How to connect with this researcher",
        "Open a focused conversation when the fit is right",
        "See the researcher in context",
        "2 published items",
    ):
        assert section in html
    assert fragment.status_code == 200
    unavailable = fragment.content.decode()
    assert "The research graph is unavailable right now" in unavailable
    retry = re.search(r'hx-get="([^"]+)"[^>]*>Retry</a>', unavailable)
    assert retry is not None, unavailable
    assert GraphSlice.objects.get(researcher=lead).status == GraphSlice.Status.FAILED


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_retry_after_the_broker_is_back_builds_the_slice(client, celery_worker):
    lead, (grace, _) = make_team()
    GraphSlice.objects.create(
        researcher=lead,
        status=GraphSlice.Status.FAILED,
        error="The graph service is unavailable.",
    )

    retried = hx_get(client, f"{slice_url(lead)}?retry=1")

    assert "Building this graph slice" in retried
    assert "Grace Hopper" in poll_until_ready(client, lead)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_refresh_derived_data_has_the_worker_compute_trust_and_refresh_slices(celery_worker):
    lead, (grace, alan) = make_team()
    # A slice built before the import: the worker rebuilds slices that exist.
    GraphSlice.objects.create(
        researcher=lead, status=GraphSlice.Status.READY, fingerprint="before-the-import"
    )
    assert not Researcher.objects.filter(trust_computed_at__isnull=False).exists()

    with transaction.atomic():
        affected = refresh_derived_data(researcher_ids=[lead.pk])
    # The task is queued on commit, so it can only be the worker that computes trust.

    assert affected == {lead.pk, grace.pk, alan.pk}

    def computed() -> bool:
        return not Researcher.objects.filter(
            pk__in=affected, trust_computed_at__isnull=True
        ).exists()

    wait_until(computed, timeout=WORKER_TIMEOUT, what="the worker to compute trust")
    lead.refresh_from_db()
    assert lead.trust_score > 0
    assert lead.trust_components
    wait_until(
        lambda: GraphSlice.objects.get(researcher=lead).fingerprint != "before-the-import",
        timeout=WORKER_TIMEOUT,
        what="the worker to rebuild the slice",
    )
    graph_slice = GraphSlice.objects.get(researcher=lead)
    assert graph_slice.status == GraphSlice.Status.READY
    labels = {node["label"] for node in graph_slice.payload["nodes"]}
    assert {"Grace Hopper", "Alan Turing"} <= labels
