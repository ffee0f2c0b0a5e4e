"""A record hidden through the services (a curator approving a hide request, or its owner
at once) is gone from every surface that shows researchers, cached or not: each page is
rendered first (filling the page cache), the record is hidden, and the page asked again."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest
from django.core.management import call_command
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
from tests.builders import bulk_authorships, bulk_works, refresh
from tests.claims.helpers import make_user
from tests.privacy.helpers import VISIBILITY
from works.models import Institution

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


ORCID = "0000-0002-1825-0097"
OPENALEX_ID = "https://openalex.org/A5000000042"


@pytest.fixture
def searchable(world):
    """The world with search documents, and identifiers on Ada's record."""
    Researcher.objects.filter(pk=world.ada.pk).update(orcid=ORCID, source_id=OPENALEX_ID)
    world.ada.refresh_from_db()
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
        "works search (first authors)": (reverse("search") + "?q=engine&kind=works", {}),
        "ORCID in the search fragment": (reverse("search_suggestions") + f"?q={ORCID}", HTMX),
        "source id in the search fragment": (
            reverse("search_suggestions") + "?q=A5000000042",
            HTMX,
        ),
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
    assert visitor.get(reverse("search") + f"?q={ORCID}")["Location"] == ada_url

    HIDERS[how](world, curator, worker)
    build_slice(researcher_id=world.bob.pk)  # the worker rebuilds the dropped slice

    gone = visitor.get(ada_url)
    assert gone.status_code == 410
    assert "Ada Lovelace" not in gone.content.decode()
    # An identifier names no hidden record: no redirect to it (its URL carries the name).
    by_orcid = visitor.get(reverse("search") + f"?q={ORCID}")
    assert by_orcid.status_code == 200 and not links_to(by_orcid.content.decode(), world.ada)
    by_source = reverse("researcher_by_source", args=[world.ada.source_id])
    assert visitor.get(by_source).status_code == 410
    assert visitor.get(reverse("researcher_feed", args=[world.ada.pk])).status_code == 410
    leaks = []
    for name, (url, headers) in pages.items():
        response = visitor.get(url, **headers)
        assert response.status_code == 200, (name, response.status_code)
        body = response.content.decode()
        if links_to(body, world.ada):
            leaks.append(name)
    assert leaks == []


# --- query budgets of the surfaces once the record is hidden ---------------------------------


def test_surfaces_keep_their_query_budgets_after_a_hide(searchable, curator, worker, query_budget):
    world = searchable
    # Bob keeps a co-author once Ada is gone (an empty list reads no page of rows).
    bulk_authorships([(work, [world.bob, world.cara]) for work in bulk_works(1)])
    refresh([world.bob, world.cara], edges=True)
    hide_by_request(world, curator, worker)
    visitor = Client()
    budgets = {
        "search.directory": reverse("researcher_directory"),
        "works.topic": world.topic.get_absolute_url(),
        "works.institution": world.institution.get_absolute_url(),
        "works.work": world.works[0].get_absolute_url(),
        "graph.neighbours.researcher": reverse(
            "graph_node_neighbours", args=[f"researcher:{world.bob.pk}"]
        ),
        "profile.coauthors": reverse("researcher_coauthors", args=[world.bob.pk]),
    }
    for budget, url in budgets.items():
        with query_budget(budget):
            response = visitor.get(url)
        assert response.status_code == 200, budget
        assert not links_to(response.content.decode(), world.ada), budget
    # The cached ones, asked again: the record with its version, nothing more.
    for url in (world.works[0].get_absolute_url(), world.institution.get_absolute_url()):
        with query_budget("pagecache.hit"):
            assert visitor.get(url)["X-Page-Cache"] == "hit"
    # Their institution's name matched both: the statement, then Bob's row alone.
    with query_budget("search.results_one_kind"):
        page = visitor.get(reverse("search") + "?q=Analytical&kind=researchers")
    assert links_to(page.content.decode(), world.bob)
    assert not links_to(page.content.decode(), world.ada)


# --- a hidden affiliation --------------------------------------------------------------------


def approve(world, curator, worker, researcher: Researcher, scope: str) -> None:
    request = hiding.file_hide_request(
        researcher=researcher,
        user=Client().get("/").wsgi_request.user,
        name=researcher.display_name,
        email="subject@engines.test",
        scope=scope,
        message="This record describes me; please hide this part.",
    )
    worker(lambda: curation.approve_hide_request(request=request, curator=curator))


def test_hidden_affiliation_leaves_search_filters_lists_and_graphs(searchable, curator, worker):
    world = searchable
    place = world.institution
    Institution.objects.filter(pk=place.pk).update(country_code="GB")
    refresh_search_documents(researcher_ids=[world.ada.pk, world.bob.pk])
    visitor = Client()
    by_place = reverse("search") + "?q=Analytical&kind=researchers"
    in_place = reverse("researcher_directory") + f"?institution={place.pk}"
    in_country = reverse("researcher_directory") + "?country=GB"
    by_name = reverse("search") + "?q=Lovelace"
    suggest = reverse("search_suggestions") + "?q=Lovelace"
    place_hood = reverse("graph_node_neighbours", args=[f"institution:{place.pk}"])
    ada_hood = reverse("graph_node_neighbours", args=[f"researcher:{world.ada.pk}"])
    for url in (by_place, in_place, in_country):
        assert links_to(visitor.get(url).content.decode(), world.ada), url
    for url in (by_name, suggest):
        assert place.display_name in visitor.get(url, **HTMX).content.decode(), url
    for _ in range(2):  # cached
        assert links_to(visitor.get(place.get_absolute_url()).content.decode(), world.ada)
    assert f"institution:{place.pk}" in visitor.get(ada_hood).content.decode()

    approve(world, curator, worker, world.ada, HideRequest.Scope.AFFILIATION)

    # Searching or filtering by the institution finds Bob, not Ada.
    for url in (by_place, in_place, in_country):
        body = visitor.get(url).content.decode()
        assert not links_to(body, world.ada), url
        assert links_to(body, world.bob), url
    # Her profile is still public, found by name, without the institution.
    for url in (by_name, suggest):
        body = visitor.get(url, **HTMX).content.decode()
        assert links_to(body, world.ada), url
        assert place.display_name not in body, url
    assert "Affiliation not shown" in visitor.get(by_name).content.decode()
    page = visitor.get(place.get_absolute_url())
    assert not links_to(page.content.decode(), world.ada)
    assert links_to(page.content.decode(), world.bob)
    assert not links_to(visitor.get(place_hood).content.decode(), world.ada)
    assert f"institution:{place.pk}" not in visitor.get(ada_hood).content.decode()
    profile = visitor.get(world.ada.get_absolute_url()).content.decode()
    assert "Affiliation not shown" in profile and place.display_name not in profile
    place.refresh_from_db()
    assert place.researchers_count == 1  # Bob


# --- the explorer's neighbours JSON: fresh at once after a hide ------------------------------


def test_neighbours_json_is_revalidated_and_changes_with_a_hide(searchable, curator, worker):
    world = searchable
    url = reverse("graph_node_neighbours", args=[f"researcher:{world.bob.pk}"])
    visitor = Client()
    first = visitor.get(url)
    assert first["Cache-Control"] == "public, no-cache"  # no cache reuses it unchecked
    assert links_to(first.content.decode(), world.ada)
    etag = first["ETag"]
    again = visitor.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag

    hide_by_request(world, curator, worker)

    after = visitor.get(url, HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200
    assert after["ETag"] != etag
    assert not links_to(after.content.decode(), world.ada)
    hidden = reverse("graph_node_neighbours", args=[f"researcher:{world.ada.pk}"])
    assert visitor.get(hidden).status_code == 404


# --- re-import ---------------------------------------------------------------------------


def author_record(researcher: Researcher, institution: Institution) -> dict:
    return {
        "id": researcher.source_id,
        "display_name": researcher.display_name,
        "display_name_alternatives": [f"{researcher.display_name} (again)"],
        "last_known_institutions": [
            {
                "id": institution.source_id,
                "display_name": institution.display_name,
                "type": "education",
            }
        ],
        "updated_date": "2030-01-01T00:00:00",
    }


def test_hidden_record_and_hidden_affiliation_stay_hidden_after_a_reimport(
    searchable, curator, worker, tmp_path
):
    world = searchable
    approve(world, curator, worker, world.ada, HideRequest.Scope.PROFILE)
    approve(world, curator, worker, world.bob, HideRequest.Scope.AFFILIATION)
    path = tmp_path / "authors.jsonl"
    records = [author_record(person, world.institution) for person in (world.ada, world.bob)]
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    worker(
        lambda: call_command(
            "import_openalex", str(path), stdout=io.StringIO(), stderr=io.StringIO()
        )
    )
    world.ada.refresh_from_db()
    world.bob.refresh_from_db()
    assert world.ada.alternative_names == ["Ada Lovelace (again)"]  # the import did run
    assert world.ada.hidden_at is not None and world.bob.affiliation_hidden

    visitor = Client()
    assert visitor.get(world.ada.get_absolute_url()).status_code == 410
    search = visitor.get(reverse("search") + "?q=Lovelace+again").content.decode()
    assert not links_to(search, world.ada)
    place = world.institution
    for url in (
        reverse("search") + "?q=Analytical&kind=researchers",
        reverse("researcher_directory") + f"?institution={place.pk}",
        place.get_absolute_url(),
        reverse("graph_node_neighbours", args=[f"institution:{place.pk}"]),
    ):
        body = visitor.get(url).content.decode()
        assert not links_to(body, world.ada), url
        assert not links_to(body, world.bob), url
    assert links_to(visitor.get(reverse("researcher_directory")).content.decode(), world.bob)


# --- the owner's visibility controls, where their data appears -------------------------------


def owner_of(researcher: Researcher, email: str) -> Client:
    user = make_user(email)
    Researcher.objects.filter(pk=researcher.pk).update(owner=user, verification_level=2)
    researcher.refresh_from_db()
    client = Client()
    client.force_login(user)
    return client


def test_leaving_suggestions_takes_effect_on_cached_slices_and_explorers(world):
    cara = owner_of(world.cara, "cara@engines.test")
    build_slice(researcher_id=world.bob.pk)
    visitor = Client()
    slice_url = reverse("graph_slice", args=[world.bob.pk])
    explorer_url = reverse("graph_explorer", args=[world.bob.pk])
    for url, headers in ((slice_url, HTMX), (explorer_url, {})):
        visitor.get(url, **headers)
        cached = visitor.get(url, **headers)
        assert cached["X-Page-Cache"] == "hit"
        assert links_to(cached.content.decode(), world.cara), url

    response = cara.post(
        reverse("owner_visibility", args=[world.cara.pk]), {**VISIBILITY, "in_suggestions": ""}
    )
    assert response.status_code == 302
    build_slice(researcher_id=world.bob.pk)  # the worker builds the slice asked for again

    for url, headers in ((slice_url, HTMX), (explorer_url, {})):
        body = visitor.get(url, **headers).content.decode()
        assert "Bob Babbage" in body, url
        assert not links_to(body, world.cara), url


def test_invitations_off_takes_effect_on_the_cached_profile(world):
    ada = owner_of(world.ada, "ada@engines.test")
    visitor = Client()
    url = world.ada.get_absolute_url()
    visitor.get(url)
    cached = visitor.get(url)
    assert cached["X-Page-Cache"] == "hit"
    assert "Log in to send an invitation" in cached.content.decode()

    ada.post(
        reverse("owner_visibility", args=[world.ada.pk]), {**VISIBILITY, "accepts_invitations": ""}
    )

    body = visitor.get(url).content.decode()
    assert "This researcher does not accept invitations." in body
    assert "Log in to send an invitation" not in body
    sender = Client()
    sender.force_login(make_user("grace@navy.test"))
    assert "This researcher does not accept invitations." in sender.get(url).content.decode()
    assert sender.get(reverse("invitation_new", args=[world.ada.pk])).status_code == 404


@pytest.mark.parametrize("followers_visibility", ["everyone", "owner"])
def test_no_public_page_names_a_follower(world, followers_visibility):
    """Followers are counted on the profile, never named, whichever the owner's choice."""
    ada = owner_of(world.ada, "ada@engines.test")
    reader = make_user("reader@engines.test")
    follower = Client()
    follower.force_login(reader)
    follower.post(reverse("researcher_follow", args=[world.ada.pk]))
    ada.post(
        reverse("owner_visibility", args=[world.ada.pk]),
        {**VISIBILITY, "followers_visibility": followers_visibility},
    )
    stranger = Client()
    stranger.force_login(make_user("mallory@evil.test"))
    for client in (Client(), stranger):
        for url in (
            world.ada.get_absolute_url(),
            reverse("graph_node_neighbours", args=[f"researcher:{world.ada.pk}"]),
            reverse("researcher_feed", args=[world.ada.pk]),
        ):
            body = client.get(url).content.decode()
            assert reader.email not in body and reader.get_username() not in body, url


def test_owner_shows_the_record_again_and_search_finds_it_again(searchable, curator, worker):
    world = searchable
    hide_by_owner(world, curator, worker)
    visitor = Client()
    url = reverse("search") + "?q=Lovelace&kind=researchers"
    assert not links_to(visitor.get(url).content.decode(), world.ada)
    owner = world.ada.owner
    worker(lambda: owners.set_record_hidden(user=owner, researcher=world.ada, hidden=False))
    assert links_to(visitor.get(url).content.decode(), world.ada)
    assert visitor.get(world.ada.get_absolute_url()).status_code == 200
