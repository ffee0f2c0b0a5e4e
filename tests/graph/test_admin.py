from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from graph.models import CoauthorEdge, GraphSlice
from tests.factories import ResearcherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    return ResearcherFactory(display_name="Ada"), ResearcherFactory(display_name="Charles")


@pytest.fixture
def edges(pair):
    ada, charles = pair
    close = CoauthorEdge.objects.create(
        researcher=ada,
        coauthor=charles,
        shared_works=3,
        last_year=1843,
        smallest_team=2,
        is_close=True,
    )
    loose = CoauthorEdge.objects.create(
        researcher=charles,
        coauthor=ada,
        shared_works=1,
        last_year=1843,
        smallest_team=40,
    )
    return close, loose


def test_edge_changelist_filters(admin_client, pair, edges):
    close, loose = edges
    url = reverse("admin:graph_coauthoredge_changelist")
    response = admin_client.get(url)
    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == {close, loose}
    assert list(admin_client.get(url, {"is_close__exact": "1"}).context["cl"].result_list) == [
        close
    ]
    assert list(admin_client.get(url, {"researcher": pair[1].pk}).context["cl"].result_list) == [
        loose
    ]


def test_edges_are_read_only(admin_client, edges):
    close, _ = edges
    response = admin_client.get(reverse("admin:graph_coauthoredge_change", args=[close.pk]))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    assert admin_client.get(reverse("admin:graph_coauthoredge_add")).status_code == 403
    post = admin_client.post(
        reverse("admin:graph_coauthoredge_change", args=[close.pk]), {"shared_works": 99}
    )
    assert post.status_code == 403
    close.refresh_from_db()
    assert close.shared_works == 3


def test_slice_pages_show_pretty_payload(admin_client, pair):
    ada, _ = pair
    graph_slice = GraphSlice.objects.create(
        researcher=ada,
        status=GraphSlice.Status.READY,
        payload={"nodes": [{"id": "researcher:1", "label": "<b>Ada</b>"}], "edges": []},
        fingerprint="f" * 64,
        computed_at=timezone.now(),
    )
    url = reverse("admin:graph_graphslice_changelist")
    response = admin_client.get(url, {"status__exact": "ready"})
    assert list(response.context["cl"].result_list) == [graph_slice]
    assert admin_client.get(url, {"status__exact": "failed"}).context["cl"].result_count == 0

    response = admin_client.get(reverse("admin:graph_graphslice_change", args=[graph_slice.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "\n  &quot;edges&quot;: [],\n" in body  # indented JSON
    assert "&lt;b&gt;Ada&lt;/b&gt;" in body  # escaped, never raw HTML
    assert admin_client.get(reverse("admin:graph_graphslice_add")).status_code == 403


def test_deleting_a_slice_is_allowed(admin_client, pair):
    graph_slice = GraphSlice.objects.create(researcher=pair[0])
    url = reverse("admin:graph_graphslice_delete", args=[graph_slice.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not GraphSlice.objects.exists()


def test_deleting_a_researcher_takes_its_edges(admin_client, pair, edges):
    ada, _ = pair
    url = reverse("admin:profiles_researcher_delete", args=[ada.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not CoauthorEdge.objects.exists()
