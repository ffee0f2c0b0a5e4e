"""A hidden record through every surface on main that shows researchers: the profile and
its fragments answer 410 with a neutral page, lists and graphs leave it out, its works stay
with the author's name unlinked. Hidden once, by the one rule (Researcher.objects.visible,
visible_q, visible_sql)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from graph.models import GraphSlice
from graph.services import build_slice
from profiles.models import HiddenBy, Researcher

pytestmark = pytest.mark.django_db


def hide(researcher: Researcher) -> None:
    Researcher.objects.filter(pk=researcher.pk).update(
        hidden_at=timezone.now(), hidden_by=HiddenBy.REQUEST
    )


def node_ids(payload: dict) -> set[str]:
    return {node["id"] for node in payload["nodes"]}


def test_hidden_profile_answers_410_with_a_neutral_page(client, world):
    hide(world.ada)
    response = client.get(world.ada.get_absolute_url())
    assert response.status_code == 410
    body = response.content.decode()
    assert "This profile is not available" in body
    assert "Ada Lovelace" not in body
    assert "noindex" in body
    # The short URL and the fragments too.
    for url in [
        reverse("researcher_detail_short", args=[world.ada.pk]),
        reverse("researcher_works", args=[world.ada.pk]),
        reverse("graph_slice", args=[world.ada.pk]),
        reverse("graph_explorer", args=[world.ada.pk]),
        reverse("hide_request_new", args=[world.ada.pk]),
    ]:
        assert client.get(url).status_code == 410, url
    assert client.post(reverse("researcher_follow", args=[world.ada.pk])).status_code == 410


def test_visible_profile_links_to_the_hide_request_form(client, world):
    response = client.get(world.ada.get_absolute_url())
    assert response.status_code == 200
    assert reverse("hide_request_new", args=[world.ada.pk]) in response.content.decode()
    assert "Request removal or hiding" in response.content.decode()


def test_hidden_record_leaves_home_topic_and_institution_pages(client, world):
    hide(world.ada)
    for url in [
        reverse("home"),
        world.topic.get_absolute_url(),
        world.institution.get_absolute_url(),
    ]:
        body = client.get(url).content.decode()
        assert "Ada Lovelace" not in body, url
        assert world.ada.get_absolute_url() not in body, url
    assert "Bob Babbage" in client.get(world.institution.get_absolute_url()).content.decode()


def test_work_page_keeps_the_work_and_shows_the_hidden_author_unlinked(client, world):
    hide(world.ada)
    body = client.get(world.works[0].get_absolute_url()).content.decode()
    assert "Notes on the engine 0" in body
    assert "Ada Lovelace" in body  # the name as printed on the work
    assert world.ada.get_absolute_url() not in body
    assert world.bob.get_absolute_url() in body


def test_hidden_coauthor_leaves_the_slice_and_the_explorer(client, world):
    before = build_slice(researcher_id=world.bob.pk)
    assert f"researcher:{world.ada.pk}" in node_ids(before.payload)
    hide(world.ada)
    after = build_slice(researcher_id=world.bob.pk, force=True)
    assert f"researcher:{world.ada.pk}" not in node_ids(after.payload)
    # The explorer's live neighbourhoods (JSON) of Bob, of the shared work, of the topic and
    # of the institution.
    for node in [
        f"researcher:{world.bob.pk}",
        f"work:{world.works[0].pk}",
        f"topic:{world.topic.pk}",
        f"institution:{world.institution.pk}",
    ]:
        data = client.get(reverse("graph_node_neighbours", args=[node])).json()
        assert f"researcher:{world.ada.pk}" not in {n["id"] for n in data["nodes"]}, node
    hidden = client.get(reverse("graph_node_neighbours", args=[f"researcher:{world.ada.pk}"]))
    assert hidden.status_code == 404


def test_hidden_record_is_no_suggestion(world):
    # Bob never worked with Cara and shares her topic: she is a suggestion; hide her.
    first = build_slice(researcher_id=world.bob.pk)
    assert f"researcher:{world.cara.pk}" in node_ids(first.payload)
    hide(world.cara)
    again = build_slice(researcher_id=world.bob.pk, force=True)
    assert f"researcher:{world.cara.pk}" not in node_ids(again.payload)


def test_visible_queryset_is_the_one_rule(world):
    hide(world.ada)
    Researcher.objects.filter(pk=world.cara.pk).update(merged_into=world.bob)
    assert set(Researcher.objects.visible()) == {world.bob}


def test_stored_slices_that_show_a_hidden_record_are_dropped(world):
    from bzpeer.curation import owners
    from tests.builders import researcher_with_works
    from tests.factories import UserFactory

    dan = researcher_with_works(2, topic="Botany")  # nothing in common with Ada
    for person in (world.ada, world.bob, world.cara, dan):
        build_slice(researcher_id=person.pk)
    owner = UserFactory()
    Researcher.objects.filter(pk=world.ada.pk).update(owner=owner)
    world.ada.refresh_from_db()
    owners.set_record_hidden(user=owner, researcher=world.ada, hidden=True)
    # Ada's own slice, Bob's (a co-author) and Cara's (a suggestion) are gone; Dan's
    # never showed her.
    assert set(GraphSlice.objects.values_list("researcher_id", flat=True)) == {dan.pk}


def test_hidden_record_leaves_the_coauthors_page_feed_and_digest(client, world, mailoutbox):
    from datetime import timedelta

    from profiles.digest import send_digest
    from profiles.models import DigestState, Follow
    from tests.claims.helpers import make_user
    from works.models import Work

    coauthors = reverse("researcher_coauthors", args=[world.bob.pk])
    assert "Ada Lovelace" in client.get(coauthors).content.decode()
    follower = make_user("reader@engines.test")
    for person in (world.ada, world.bob):
        Follow.objects.create(user=follower, researcher=person, email_digest=True)
    now = timezone.now()
    Work.objects.update(first_imported_at=now - timedelta(days=1))
    DigestState.objects.create(user=follower, since=now - timedelta(days=7))

    hide(world.ada)
    body = client.get(coauthors).content.decode()
    assert "Ada Lovelace" not in body and world.ada.get_absolute_url() not in body
    assert client.get(reverse("researcher_feed", args=[world.ada.pk])).status_code == 410
    assert send_digest(user_id=follower.pk, now=now)
    assert world.bob.get_absolute_url() in mailoutbox[-1].body
    assert world.ada.get_absolute_url() not in mailoutbox[-1].body


def test_hidden_summary_and_affiliation_leave_the_profiles_structured_data(client, world):
    Researcher.objects.filter(pk=world.ada.pk).update(summary_hidden=True, affiliation_hidden=True)
    body = client.get(world.ada.get_absolute_url()).content.decode()
    assert "Writes notes on engines." not in body
    assert "Analytical Engine Institute" not in body
