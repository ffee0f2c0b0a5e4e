"""A record hidden through the services (a curator approving a hide request, or its owner
at once) is gone from every surface that shows researchers, cached or not: each page is
rendered first (filling the page cache), the record is hidden, and the page asked again."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from bzpeer.curation import derived, owners
from bzpeer.curation import services as curation
from bzpeer.pagecache.responses import clear_all
from bzpeer.search.documents import refresh_search_documents
from claims import hiding
from claims.models import HideRequest
from graph.services import build_slice
from profiles.models import Researcher
from tests.claims.helpers import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem_cache")]

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _cold_page_cache():
    clear_all()
    yield
    clear_all()


@pytest.fixture
def worker(monkeypatch, django_capture_on_commit_callbacks):
    """Run a write's after-commit work as the worker would: the recomputations it queues
    (trust, metrics, slices) run here, once the write has committed."""
    from bzpeer.curation.tasks import recompute_researchers

    queued: list[list[int]] = []
    monkeypatch.setattr(recompute_researchers, "delay", lambda ids: queued.append(list(ids)))

    def run(write: Callable[[], object]) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            write()
        while queued:
            derived.recompute_researchers(researcher_ids=queued.pop(0))

    return run


@pytest.fixture
def searchable(world):
    refresh_search_documents(researcher_ids=[world.ada.pk, world.bob.pk, world.cara.pk])
    return world


def hide_by_request(world, curator, worker) -> None:
    request = hiding.file_hide_request(
        researcher=world.ada,
        user=Client().get("/").wsgi_request.user,
        name="Ada Lovelace",
        email="ada@engines.test",
        scope=HideRequest.Scope.PROFILE,
        message="This record describes me; please hide it.",
    )
    worker(lambda: curation.approve_hide_request(request=request, curator=curator))


def hide_by_owner(world, curator, worker) -> None:
    owner = make_user("ada@engines.test")
    Researcher.objects.filter(pk=world.ada.pk).update(owner=owner)
    world.ada.refresh_from_db()
    worker(lambda: owners.set_record_hidden(user=owner, researcher=world.ada, hidden=True))


HIDERS = {"request": hide_by_request, "owner": hide_by_owner}


def surfaces(world) -> dict[str, tuple[str, dict]]:
    """Every public page or fragment that showed Ada before she was hidden."""
    bob, work = world.bob, world.works[0]
    return {
        "search page": (reverse("search") + "?q=Lovelace", {}),
        "search fragment": (reverse("search_suggestions") + "?q=Lovelace", HTMX),
        "directory": (reverse("researcher_directory"), {}),
        "directory by institution": (
            reverse("researcher_directory") + f"?institution={world.institution.pk}",
            {},
        ),
        "topic page": (world.topic.get_absolute_url(), {}),
        "institution page": (world.institution.get_absolute_url(), {}),
        "home": (reverse("home"), {}),
        "co-author's profile": (bob.get_absolute_url(), {}),
        "co-author's works fragment": (reverse("researcher_works", args=[bob.pk]), HTMX),
        "co-author's co-authors page": (reverse("researcher_coauthors", args=[bob.pk]), {}),
        "work page": (work.get_absolute_url(), {}),
        "co-author's slice fragment": (reverse("graph_slice", args=[bob.pk]), HTMX),
        "co-author's explorer": (reverse("graph_explorer", args=[bob.pk]), {}),
        "co-author's neighbours": (
            reverse("graph_node_neighbours", args=[f"researcher:{bob.pk}"]),
            {},
        ),
        "work's neighbours": (reverse("graph_node_neighbours", args=[f"work:{work.pk}"]), {}),
        "topic's neighbours": (
            reverse("graph_node_neighbours", args=[f"topic:{world.topic.pk}"]),
            {},
        ),
        "institution's neighbours": (
            reverse("graph_node_neighbours", args=[f"institution:{world.institution.pk}"]),
            {},
        ),
        "co-author's feed": (reverse("researcher_feed", args=[bob.pk]), {}),
        "sitemap": ("/sitemap-researchers.xml", {}),
    }


# A researcher's feed lists their works without their co-authors: checked all the same.
NEVER_NAMES_COAUTHORS = {"co-author's feed"}


def links_to(body: str, researcher: Researcher) -> bool:
    """A link to the record's profile (any of its URLs) or its node in graph data."""
    pk = researcher.pk
    return any(
        mark in body for mark in (f"/researchers/{pk}-", f"/researchers/{pk}/", f'researcher:{pk}"')
    )


@pytest.mark.parametrize("how", sorted(HIDERS))
def test_hidden_record_leaves_every_surface_cached_or_not(searchable, curator, worker, how):
    world = searchable
    ada_url = world.ada.get_absolute_url()
    build_slice(researcher_id=world.bob.pk)
    visitor = Client()
    pages = surfaces(world)
    for name, (url, headers) in pages.items():
        for _ in range(2):  # the second request is a cache hit where the page is cached
            response = visitor.get(url, **headers)
            assert response.status_code == 200, (name, response.status_code)
        body = response.content.decode()
        if name not in NEVER_NAMES_COAUTHORS:
            assert "Ada Lovelace" in body or links_to(body, world.ada), name
    profile = visitor.get(ada_url)
    assert profile.status_code == 200

    HIDERS[how](world, curator, worker)
    build_slice(researcher_id=world.bob.pk)  # the worker rebuilds the dropped slice

    gone = visitor.get(ada_url)
    assert gone.status_code == 410
    assert "Ada Lovelace" not in gone.content.decode()
    assert visitor.get(reverse("researcher_feed", args=[world.ada.pk])).status_code == 410
    leaks = []
    for name, (url, headers) in pages.items():
        response = visitor.get(url, **headers)
        assert response.status_code == 200, (name, response.status_code)
        body = response.content.decode()
        if links_to(body, world.ada):
            leaks.append(name)
    assert leaks == []
