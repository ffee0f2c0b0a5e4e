"""The slice fragment the profile page loads: ready, building, capped polling, failed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from graph.models import GraphSlice
from graph.services import build_slice
from tests.builders import researcher_with_coauthors
from tests.factories import ResearcherFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def url(researcher) -> str:
    return f"/researchers/{researcher.pk}/graph/slice/"


def test_ready_slice_lists_groups_with_links(
    client, teven, queued_builds, django_capture_on_commit_callbacks
):
    build_slice(researcher_id=teven.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(url(teven), headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "graph-slice-ready" in html
    assert "hx-trigger" not in html  # nothing polls
    headings = re.findall(r'<h4 id="slice-\w+">([^<]+) <span class="count">\((\d+)\)</span>', html)
    assert headings == [
        ("People", "10"),
        ("Papers", "4"),
        ("Topics", "3"),
        ("Institutions", "0"),
        ("Never worked with, same topics", "0"),
    ]
    assert "Never worked with, same topics" in html
    thomas = teven.coauthor_edges.get(coauthor__display_name="Thomas Wang").coauthor
    assert f'<a href="{thomas.get_absolute_url()}">Thomas Wang</a>' in html
    assert "3 shared works, last in 2024, close collaborator" in html
    # The same close-collaborator number as the profile's stat.
    assert "88 co-authors, 8 close collaborators" in html
    assert teven.close_collaborators_count == 8
    # The small server-rendered drawing, described for screen readers.
    assert '<svg viewBox="0 0 760 440" role="img"' in html
    assert (
        '<desc id="slice-svg-desc">Around the researcher: 10 people, 4 papers, 3 topics.</desc>'
        in html
    )
    assert html.count('<circle class="node node-') == 1 + 10 + 4 + 3 + 6  # + legend keys
    assert f'href="/researchers/{teven.pk}/graph/"' in html
    assert queued_builds == []


def test_first_request_queues_and_polls(client, queued_builds, django_capture_on_commit_callbacks):
    lead = researcher_with_coauthors()
    with django_capture_on_commit_callbacks(execute=True):
        html = client.get(url(lead), headers=HTMX).content.decode()
    assert "Building this graph slice" in html
    assert f'hx-get="{url(lead)}?poll=1"' in html
    assert 'hx-trigger="load delay:2s"' in html
    assert queued_builds == [lead.pk]
    assert GraphSlice.objects.get(researcher=lead).status == GraphSlice.Status.QUEUED


def test_polling_stops_at_the_cap(
    client, settings, queued_builds, django_capture_on_commit_callbacks
):
    settings.GRAPH_SLICE_MAX_POLLS = 3
    lead = researcher_with_coauthors()
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url(lead), headers=HTMX)
        html = client.get(f"{url(lead)}?poll=2", headers=HTMX).content.decode()
    assert 'hx-trigger="load delay' in html
    with django_capture_on_commit_callbacks(execute=True):
        html = client.get(f"{url(lead)}?poll=3", headers=HTMX).content.decode()
    assert "hx-trigger" not in html
    assert "taking longer than usual" in html
    assert "Check again" in html
    assert queued_builds == [lead.pk]  # polling queues nothing more


def test_bad_poll_number_is_treated_as_zero(client, queued_builds):
    lead = researcher_with_coauthors()
    html = client.get(f"{url(lead)}?poll=abc", headers=HTMX).content.decode()
    assert f'hx-get="{url(lead)}?poll=1"' in html


# A request runs in autocommit (ATOMIC_REQUESTS is off): the build is published while the
# view runs, and the broker's refusal shows in this very response.
@pytest.mark.django_db(transaction=True)
def test_broker_down_says_unavailable_with_retry(client, settings, broker_unreachable):
    assert not settings.DATABASES["default"]["ATOMIC_REQUESTS"]
    lead = researcher_with_coauthors()
    html = client.get(url(lead), headers=HTMX).content.decode()
    assert "The research graph is unavailable right now." in html
    assert f'hx-get="{url(lead)}?retry=1"' in html
    graph_slice = GraphSlice.objects.get(researcher=lead)
    assert graph_slice.status == GraphSlice.Status.FAILED


def test_retry_after_failure_queues_again(
    client, queued_builds, django_capture_on_commit_callbacks
):
    lead = researcher_with_coauthors()
    GraphSlice.objects.create(researcher=lead, status=GraphSlice.Status.FAILED, error="x")
    with django_capture_on_commit_callbacks(execute=True):
        html = client.get(f"{url(lead)}?retry=1", headers=HTMX).content.decode()
    assert "Building this graph slice" in html
    assert queued_builds == [lead.pk]


def test_unknown_researcher_is_404(client):
    assert client.get("/researchers/987654321/graph/slice/", headers=HTMX).status_code == 404


def test_post_is_not_allowed(client):
    lead = researcher_with_coauthors()
    assert client.post(url(lead)).status_code == 405


def test_without_javascript_the_fragment_comes_in_a_page(client, queued_builds):
    lead = researcher_with_coauthors()
    build_slice(researcher_id=lead.pk)
    response = client.get(url(lead))
    html = response.content.decode()
    assert "<!doctype html>" in html
    assert "Research graph slice: Ada Lovelace" in html
    assert "graph-slice-ready" in html
    assert "HX-Request" in response["Vary"]


def test_building_page_without_javascript_offers_a_link(client, queued_builds):
    lead = researcher_with_coauthors()
    html = client.get(url(lead)).content.decode()
    assert f'<noscript><p><a href="{url(lead)}">Check again</a></p></noscript>' in html


def test_query_budget_is_the_same_small_and_large(client, queued_builds, query_budget):
    small = researcher_with_coauthors(coauthors=1, works=1, topics=1, name="Small")
    large = researcher_with_coauthors(
        coauthors=40, works=60, topics=10, institutions=6, name="Large"
    )
    for researcher in (small, large):
        build_slice(researcher_id=researcher.pk)
        with query_budget("graph.slice_ready"):
            response = client.get(url(researcher), headers=HTMX)
        assert response.status_code == 200
        assert "graph-slice-ready" in response.content.decode()


def test_query_budgets_while_building(
    client, queued_builds, query_budget, django_capture_on_commit_callbacks
):
    lead = researcher_with_coauthors()
    with django_capture_on_commit_callbacks(execute=True), query_budget("graph.slice_queued"):
        first = client.get(url(lead), headers=HTMX).content.decode()
    assert "Building this graph slice" in first
    with query_budget("graph.slice_polling"):
        polled = client.get(f"{url(lead)}?poll=1", headers=HTMX).content.decode()
    assert "Building this graph slice" in polled
    assert queued_builds == [lead.pk]


@pytest.mark.django_db(transaction=True)
def test_query_budget_when_the_build_cannot_be_queued(client, broker_unreachable, query_budget):
    lead = researcher_with_coauthors()
    with query_budget("graph.slice_failed"):
        html = client.get(url(lead), headers=HTMX).content.decode()
    assert "The research graph is unavailable right now." in html


def test_stale_ready_slice_is_served_and_rebuilt_once(
    client, queued_builds, django_capture_on_commit_callbacks
):
    lead = researcher_with_coauthors()
    build_slice(researcher_id=lead.pk)
    # An import refreshed the counts (one more work): the page still gets the old slice
    # at once, and one rebuild is queued, not one per request.
    type(lead).objects.filter(pk=lead.pk).update(works_count=lead.works_count + 1)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            html = client.get(url(lead), headers=HTMX).content.decode()
        assert "graph-slice-ready" in html
    assert queued_builds == [lead.pk]
    # After the dedupe window a still-stale slice asks again.
    GraphSlice.objects.filter(researcher=lead).update(
        requested_at=timezone.now() - timedelta(minutes=6)
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url(lead), headers=HTMX)
    assert queued_builds == [lead.pk, lead.pk]


def test_ready_html_is_rendered_once_per_slice_version(client, queued_builds, monkeypatch):
    from graph import views

    lead = researcher_with_coauthors()
    build_slice(researcher_id=lead.pk)
    renders: list[str] = []
    original = views.render_to_string
    monkeypatch.setattr(
        views, "render_to_string", lambda *a, **k: renders.append(a[0]) or original(*a, **k)
    )
    first = client.get(url(lead), headers=HTMX).content
    assert client.get(url(lead), headers=HTMX).content == first
    assert renders == ["graph/_slice.html"]
    # A rebuilt slice (new computed_at) is rendered again.
    build_slice(researcher_id=lead.pk, force=True)
    client.get(url(lead), headers=HTMX)
    assert len(renders) == 2


def test_slice_of_a_record_merged_since_the_page_loaded_is_the_survivors(
    client, queued_builds, django_capture_on_commit_callbacks
):
    lead = researcher_with_coauthors()
    duplicate = ResearcherFactory(display_name="Ada Duplicate", merged_into=lead)
    build_slice(researcher_id=lead.pk)
    with django_capture_on_commit_callbacks(execute=True):
        html = client.get(url(duplicate), headers=HTMX).content.decode()
    assert "graph-slice-ready" in html
    assert not GraphSlice.objects.filter(researcher=duplicate).exists()
    assert queued_builds == []
