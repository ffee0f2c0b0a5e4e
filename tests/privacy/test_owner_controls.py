"""The owner's own switches: hide the profile at once (and show it again), and the four
visibility controls, each tested where its data appears on main."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bzpeer.curation import owners
from graph.services import build_slice
from profiles import invitations
from profiles.models import FollowersVisibility, HiddenBy, Invitation, Researcher
from tests.claims.helpers import make_user
from tests.privacy.helpers import VISIBILITY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem_cache")]


@pytest.fixture
def ada_user():
    return make_user("ada@engines.test")


@pytest.fixture
def owned(world, ada_user) -> Researcher:
    Researcher.objects.filter(pk=world.ada.pk).update(owner=ada_user, verification_level=2)
    world.ada.refresh_from_db()
    return world.ada


@pytest.fixture
def owner_client(ada_user) -> Client:
    client = Client()
    client.force_login(ada_user)
    return client


def test_owner_hides_the_profile_at_once_and_shows_it_again(owner_client, owned):
    page = owner_client.get(owned.get_absolute_url()).content.decode()
    assert reverse("owner_hide", args=[owned.pk]) in page
    response = owner_client.post(reverse("owner_hide", args=[owned.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("account_privacy")
    owned.refresh_from_db()
    assert owned.hidden_by == HiddenBy.OWNER
    assert Client().get(owned.get_absolute_url()).status_code == 410
    # The owner, on the gone page, may show it again; a visitor learns nothing.
    gone = owner_client.get(owned.get_absolute_url())
    assert gone.status_code == 410
    assert "Show my profile again" in gone.content.decode()
    assert "Show my profile again" not in Client().get(owned.get_absolute_url()).content.decode()
    owner_client.post(reverse("owner_unhide", args=[owned.pk]))
    assert Client().get(owned.get_absolute_url()).status_code == 200


def test_owner_cannot_show_a_record_a_curator_hid(owner_client, owned):
    Researcher.objects.filter(pk=owned.pk).update(
        hidden_at=timezone.now(), hidden_by=HiddenBy.REQUEST
    )
    owner_client.post(reverse("owner_unhide", args=[owned.pk]))
    assert Client().get(owned.get_absolute_url()).status_code == 410


def test_only_the_owner_hides(owned, world):
    other = Client()
    other.force_login(make_user("mallory@evil.test"))
    assert other.post(reverse("owner_hide", args=[owned.pk])).status_code == 403
    assert Client().get(owned.get_absolute_url()).status_code == 200


def test_owner_saves_the_visibility_controls(owner_client, owned):
    response = owner_client.post(
        reverse("owner_visibility", args=[owned.pk]), {"followers_visibility": "owner"}
    )
    assert response.status_code == 302
    owned.refresh_from_db()
    assert (
        owned.followers_visibility,
        owned.in_suggestions,
        owned.open_visible_to_followers,
        owned.accepts_invitations,
    ) == (FollowersVisibility.OWNER, False, False, False)
    owner_client.post(reverse("owner_visibility", args=[owned.pk]), VISIBILITY)
    owned.refresh_from_db()
    assert owned.in_suggestions and owned.accepts_invitations


def test_out_of_suggestions_leaves_other_profiles_suggestions(world):
    cara_user = make_user("cara@engines.test")
    Researcher.objects.filter(pk=world.cara.pk).update(owner=cara_user)
    assert f"researcher:{world.cara.pk}" in str(build_slice(researcher_id=world.bob.pk).payload)
    client = Client()
    client.force_login(cara_user)
    client.post(
        reverse("owner_visibility", args=[world.cara.pk]), {**VISIBILITY, "in_suggestions": ""}
    )
    # The explorer of Bob reads the same stored slice: rebuilt, Cara is gone from both.
    payload = build_slice(researcher_id=world.bob.pk, force=True).payload
    assert f"researcher:{world.cara.pk}" not in {n["id"] for n in payload["nodes"]}
    explorer = Client().get(reverse("graph_explorer", args=[world.bob.pk])).content.decode()
    assert "Cara Countess" not in explorer


def test_invitations_off_reaches_the_form_the_send_and_the_panel(owner_client, owned):
    owner_client.post(
        reverse("owner_visibility", args=[owned.pk]), {**VISIBILITY, "accepts_invitations": ""}
    )
    sender = make_user("grace@navy.test")
    client = Client()
    client.force_login(sender)
    assert client.get(reverse("invitation_new", args=[owned.pk])).status_code == 404
    response = client.post(
        reverse("invitation_send", args=[owned.pk]), {"subject": "Hi", "message": "Work?"}
    )
    assert response.status_code == 404
    with pytest.raises(invitations.InvitationError):
        invitations.send_invitation(sender=sender, researcher=owned, subject="Hi", message="?")
    panel = client.get(owned.get_absolute_url()).content.decode()
    assert "This researcher does not accept invitations." in panel
    assert Invitation.objects.count() == 0
    own_panel = owner_client.get(owned.get_absolute_url()).content.decode()
    assert "You do not accept invitations" in own_panel


def test_releasing_the_record_resets_the_controls(owner_client, owned, ada_user):
    owner_client.post(
        reverse("owner_visibility", args=[owned.pk]), {"followers_visibility": "owner"}
    )
    owners.release_record(user=ada_user, researcher=owned)
    owned.refresh_from_db()
    assert owned.followers_visibility == FollowersVisibility.EVERYONE
    assert owned.in_suggestions and owned.accepts_invitations and owned.open_visible_to_followers


def test_either_side_withdraws_the_email_shared_by_an_accepted_invitation(owned, ada_user):
    sender = make_user("grace@navy.test")
    invitation = invitations.send_invitation(
        sender=sender, researcher=owned, subject="Joint paper", message="Shall we?"
    )
    invitations.accept_invitation(invitation=invitation, user=ada_user)
    ada, grace = Client(), Client()
    ada.force_login(ada_user)
    grace.force_login(sender)
    url = reverse("invitation_detail", args=[invitation.pk])
    assert "grace@navy.test" in ada.get(url).content.decode()
    response = grace.post(reverse("invitation_withdraw_email", args=[invitation.pk]))
    assert response.status_code == 302
    assert "grace@navy.test" not in ada.get(url).content.decode()
    assert "ada@engines.test" not in grace.get(url).content.decode()
    assert "were withdrawn" in ada.get(url).content.decode()
    stranger = Client()
    stranger.force_login(make_user("mallory@evil.test"))
    assert (
        stranger.post(reverse("invitation_withdraw_email", args=[invitation.pk])).status_code == 404
    )


def test_followers_list_rule_and_open_for_followers_rule(owned, ada_user, world):
    """The rules the follower list and a follower's "open to collaborate" list apply (both
    surfaces come with the feeds and digests; these are the one calls they make)."""
    stranger = make_user("mallory@evil.test")
    assert owned.followers_visible_to(stranger)
    Researcher.objects.filter(pk=owned.pk).update(followers_visibility=FollowersVisibility.OWNER)
    owned.refresh_from_db()
    assert not owned.followers_visible_to(stranger)
    assert owned.followers_visible_to(ada_user)
    assert not owned.followers_visible_to(Client().get("/").wsgi_request.user)
    assert owned in Researcher.objects.open_for_followers()
    Researcher.objects.filter(pk=owned.pk).update(open_visible_to_followers=False)
    assert owned not in Researcher.objects.open_for_followers()
    Researcher.objects.filter(pk=world.bob.pk).update(hidden_at=timezone.now())
    assert world.bob not in Researcher.objects.open_for_followers()
    assert world.cara in Researcher.objects.open_for_followers()
