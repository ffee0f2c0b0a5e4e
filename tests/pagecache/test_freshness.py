"""Every change a visitor can see is on the next request of a cached page.

Each test renders a page, proves the next request is a cache hit, makes the change the
way the product makes it (importer, service, curation, worker), and reads the page again.
"""

from __future__ import annotations

import pytest

from bzpeer import curation
from bzpeer.curation import derived, owners
from bzpeer.curation.importing import import_openalex
from graph.services import build_slice
from profiles import services as profile_services
from profiles.models import Researcher
from tests.builders import researcher_with_coauthors as build_researcher
from tests.claims.helpers import make_user
from tests.factories import (
    AuthorshipFactory,
    InstitutionFactory,
    ResearcherFactory,
    TopicFactory,
    UserFactory,
    WorkFactory,
)
from tests.pagecache.conftest import HTMX, assert_cached_then_fresh, get, html
from tests.works.conftest import SEED, demo_records, write_jsonl
from works.models import Authorship, Work

pytestmark = pytest.mark.django_db

STATEMENT = "I am a lecturer at this university and wrote these papers."


def author_of(work: Work, researcher: Researcher, order: int = 0) -> Authorship:
    return AuthorshipFactory(work=work, researcher=researcher, order=order)


@pytest.fixture
def ada():
    ada = ResearcherFactory(display_name="Ada Lovelace")
    author_of(WorkFactory(title="Notes on the Analytical Engine"), ada)
    derived.refresh_researcher_counts(researcher_ids=[ada.pk])
    ada.refresh_from_db()
    return ada


@pytest.fixture
def curator():
    return make_user("curator@bzpeer.test", staff=True)


# --- the importer -----------------------------------------------------------------------


def _reimport(tmp_path, name: str, edit) -> None:
    records = demo_records(SEED / name)
    edit(records)
    import_openalex([write_jsonl(tmp_path / name.removesuffix(".gz"), records)])


@pytest.fixture
def teven(tmp_path):
    import_openalex([SEED / "topics.jsonl.gz", SEED / "authors.jsonl.gz", SEED / "works.jsonl.gz"])
    return Researcher.objects.get(source_id="urn:bzpeer:seed:A1")


def test_an_import_that_renames_the_researcher_shows_on_the_profile(client, teven, tmp_path):
    def rename(records):
        for record in records:
            if record["id"] == teven.source_id:
                record["display_name"] = "Teven Le Scao-Renamed"

    old_url = teven.get_absolute_url()
    client.get(old_url)
    assert client.get(old_url)["X-Page-Cache"] == "hit"
    _reimport(tmp_path, "authors.jsonl.gz", rename)
    # The name is in the URL: the old one now redirects to the page with the new name.
    response = client.get(old_url, follow=True)
    assert response.redirect_chain[0][1] == 301
    assert '<h1 id="researcher-name">Teven Le Scao-Renamed</h1>' in response.content.decode()


def test_an_import_that_changes_one_of_the_works_shows_on_profile_and_work_page(
    client, teven, tmp_path
):
    work = Work.objects.get(title="Ministral 3")

    def retitle(records):
        for record in records:
            if record.get("title") == "Ministral 3":
                record["title"] = record["display_name"] = "Ministral 3, revised"

    profile = teven.get_absolute_url()
    client.get(profile)
    assert client.get(profile)["X-Page-Cache"] == "hit"
    assert_cached_then_fresh(
        client,
        work.get_absolute_url(),
        lambda: _reimport(tmp_path, "works.jsonl.gz", retitle),
        before="Ministral 3",
        after="Ministral 3, revised",
    )
    assert "Ministral 3, revised" in client.get(profile).content.decode()


# --- people's actions -------------------------------------------------------------------


def test_a_follow_shows_in_the_anonymous_follower_count(client, ada):
    assert_cached_then_fresh(
        client,
        ada.get_absolute_url(),
        lambda: profile_services.follow_researcher(user=UserFactory(), researcher=ada),
        before='<dd id="stat-followers">0</dd>',
        after='<dd id="stat-followers">1</dd>',
    )


def test_a_claim_decision_shows_on_the_profile(client, ada, curator):
    claimant = make_user("ada@uni.test")
    claim = owners.claim_with_evidence(user=claimant, researcher=ada, statement=STATEMENT)
    assert_cached_then_fresh(
        client,
        ada.get_absolute_url(),
        lambda: curation.services.approve_claim(claim=claim, curator=curator),
        before="Unclaimed author",
        after="Claimed author",
    )


def test_an_owner_edit_shows_on_the_profile(client, ada):
    owner = make_user("ada@home.test")
    Researcher.objects.filter(pk=ada.pk).update(owner=owner)
    ada.refresh_from_db()
    assert_cached_then_fresh(
        client,
        ada.get_absolute_url(),
        lambda: owners.update_summary(user=owner, researcher=ada, summary="Poet of the engine."),
        before="Ada Lovelace has a public author record",
        after="Poet of the engine.",
    )


def test_a_not_me_report_takes_the_work_off_the_profile(client, ada):
    owner = make_user("ada@home.test")
    Researcher.objects.filter(pk=ada.pk).update(owner=owner)
    ada.refresh_from_db()
    work = Work.objects.get(title="Notes on the Analytical Engine")
    assert_cached_then_fresh(
        client,
        ada.get_absolute_url(),
        lambda: owners.report_not_me(user=owner, researcher=ada, work=work, reason="Not mine."),
        before="Notes on the Analytical Engine",
        after="0 published items",
    )


# --- curators -----------------------------------------------------------------------------


def test_a_merge_moves_the_works_onto_the_survivors_cached_page(client, ada, curator):
    duplicate = ResearcherFactory(display_name="A. Lovelace")
    author_of(WorkFactory(title="Sketch of the engine"), duplicate)
    assert_cached_then_fresh(
        client,
        ada.get_absolute_url(),
        lambda: curation.services.merge_researchers(
            survivor=ada, duplicates=[duplicate], curator=curator
        ),
        before="Notes on the Analytical Engine",
        after="Sketch of the engine",
        gone=False,
    )


def test_a_split_takes_the_work_off_the_profile(client, ada, curator):
    authorship = Authorship.objects.get(researcher=ada)
    assert_cached_then_fresh(
        client,
        ada.get_absolute_url(),
        lambda: curation.services.split_authorships(
            authorships=[authorship], curator=curator, new_display_name="Another Ada"
        ),
        before="Notes on the Analytical Engine",
        after="0 published items",
    )


def test_hiding_a_work_takes_it_off_the_profile_and_its_page(client, ada, curator):
    work = Work.objects.get(title="Notes on the Analytical Engine")
    url = work.get_absolute_url()
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    assert_cached_then_fresh(
        client,
        ada.get_absolute_url(),
        lambda: curation.services.hide_work(work=work, curator=curator),
        before="1 published item<",
        after="0 published items",
    )
    assert client.get(url).status_code == 404


def test_a_researcher_rename_shows_on_the_work_page(client, ada):
    work = Work.objects.get(title="Notes on the Analytical Engine")
    assert_cached_then_fresh(
        client,
        work.get_absolute_url(),
        lambda: Researcher.objects.filter(pk=ada.pk).update(display_name="Augusta Ada King"),
        before="Ada Lovelace",
        after="Augusta Ada King",
    )


def test_renamed_topic_institution_and_venue_show_where_they_are_named(client, ada):
    topic = TopicFactory(display_name="Computing machinery")
    place = InstitutionFactory(display_name="University of London")
    work = Work.objects.get(title="Notes on the Analytical Engine")
    work.topics.add(topic)
    Authorship.objects.get(researcher=ada).institutions.add(place)
    Researcher.objects.filter(pk=ada.pk).update(last_known_institution=place)
    derived.refresh_researcher_counts(researcher_ids=[ada.pk])
    venue = work.venue
    profile, work_url = ada.get_absolute_url(), work.get_absolute_url()

    def renamed(model, pk, name):
        return lambda: model.objects.filter(pk=pk).update(display_name=name)

    assert_cached_then_fresh(
        client,
        profile,
        renamed(type(topic), topic.pk, "Engines"),
        before="Computing",
        after="Engines",
    )
    assert_cached_then_fresh(
        client, work_url, renamed(type(topic), topic.pk, "Looms"), before="Engines", after="Looms"
    )
    assert_cached_then_fresh(
        client, profile, renamed(type(place), place.pk, "UCL"), before="University of", after="UCL"
    )
    assert_cached_then_fresh(
        client, work_url, renamed(type(place), place.pk, "KCL"), before="UCL", after="KCL"
    )
    assert_cached_then_fresh(
        client,
        profile,
        renamed(type(venue), venue.pk, "Taylor's"),
        before=venue.display_name,
        after="Taylor&#x27;s",
    )


def test_topic_and_institution_pages_follow_their_researchers_and_works(client):
    topic = TopicFactory(display_name="Engines")
    place = InstitutionFactory()
    ada = ResearcherFactory(display_name="Ada Lovelace", last_known_institution=place)
    work = WorkFactory(title="Notes")
    work.topics.add(topic)
    author_of(work, ada)
    derived.refresh_researcher_counts(researcher_ids=[ada.pk])
    assert_cached_then_fresh(
        client,
        topic.get_absolute_url(),
        lambda: Work.objects.filter(pk=work.pk).update(title="Notes, annotated"),
        before="Notes",
        after="Notes, annotated",
    )
    assert_cached_then_fresh(
        client,
        place.get_absolute_url(),
        lambda: ResearcherFactory(display_name="Charles Babbage", last_known_institution=place),
        before="Ada Lovelace",
        after="Charles Babbage",
        gone=False,
    )


# --- the worker -------------------------------------------------------------------------


def test_new_metrics_show_on_the_profile(client, ada):
    assert_cached_then_fresh(
        client,
        ada.get_absolute_url(),
        lambda: derived.recompute_trust(researcher_ids=[ada.pk]),
        before="The score has not been computed yet",
        after="Computed ",
    )


def test_a_rebuilt_slice_shows_in_the_fragment_and_the_explorer(client, monkeypatch):
    from graph.tasks import build_graph_slice

    monkeypatch.setattr(build_graph_slice, "delay", lambda researcher_id: None)
    lead = build_researcher(coauthors=2, works=2)
    build_slice(researcher_id=lead.pk)
    newcomer = ResearcherFactory(display_name="Grace Hopper")

    def new_coauthor_and_rebuild():
        from graph.edges import rebuild_coauthor_edges

        work = WorkFactory(title="Compilers", authors_count=2)
        author_of(work, lead)
        author_of(work, newcomer, order=1)
        ids = [lead.pk, newcomer.pk]
        derived.refresh_researcher_counts(researcher_ids=ids)
        rebuild_coauthor_edges(researcher_ids=ids)
        build_slice(researcher_id=lead.pk)

    slice_url = f"/researchers/{lead.pk}/graph/slice/"
    assert_cached_then_fresh(
        client,
        slice_url,
        new_coauthor_and_rebuild,
        before="graph-slice-ready",
        after="Grace Hopper",
        gone=False,
        headers=HTMX,
    )
    explorer = f"/researchers/{lead.pk}/graph/"
    assert "Grace Hopper" in client.get(explorer).content.decode()
    assert client.get(explorer)["X-Page-Cache"] == "hit"


def test_truncating_a_table_retires_every_cached_page(client, ada):
    """TRUNCATE ... RESTART IDENTITY hands the same ids out again: nothing cached before
    may be served for the new rows."""
    from django.db import connection

    url = ada.get_absolute_url()
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE claims_notmereport")
    assert client.get(url)["X-Page-Cache"] == "miss"


# --- the scholarly record (first authors, citations, filters, author paging) -----------


def test_a_coauthor_rename_shows_in_the_works_list_of_the_profile(client, ada):
    babbage = ResearcherFactory(display_name="Charles Babbage")
    work = Work.objects.get(title="Notes on the Analytical Engine")
    author_of(work, babbage, order=1)
    assert_cached_then_fresh(
        client,
        ada.get_absolute_url(),
        lambda: Researcher.objects.filter(pk=babbage.pk).update(display_name="C. Babbage FRS"),
        before="Charles Babbage",
        after="C. Babbage FRS",
    )


def test_new_citation_counts_show_in_the_works_list(client, ada):
    assert_cached_then_fresh(
        client,
        ada.get_absolute_url(),
        lambda: Work.objects.filter(title="Notes on the Analytical Engine").update(
            cited_by_count=1843
        ),
        before="Citations not known",
        after="Cited by 1,843",
    )


def test_a_filtered_works_list_is_rendered_for_each_request(client, ada):
    url = f"{ada.get_absolute_url()}?type=article"
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200
        assert response.get("X-Page-Cache") != "hit"


def test_the_work_page_from_a_profile_keeps_its_author_and_stays_fresh(client, ada):
    work = Work.objects.get(title="Notes on the Analytical Engine")
    url = f"{work.get_absolute_url()}?author={ada.pk}"
    assert_cached_then_fresh(
        client,
        url,
        lambda: Researcher.objects.filter(pk=ada.pk).update(display_name="Augusta Ada King"),
        before="Ada Lovelace",
        after="Augusta Ada King",
    )


def test_the_directory_shows_a_rename_and_a_newcomer(client, ada):
    url = "/researchers/?sort=name"
    assert_cached_then_fresh(
        client,
        url,
        lambda: Researcher.objects.filter(pk=ada.pk).update(display_name="Augusta Ada King"),
        before="Ada Lovelace",
        after="Augusta Ada King",
    )
    assert get(client, url)["X-Page-Cache"] == "hit"
    newcomer = ResearcherFactory(display_name="Aardvark Newcomer")
    author_of(WorkFactory(title="First steps"), newcomer)
    assert "Aardvark Newcomer" in html(get(client, url))
