"""Direct collaboration through the test client: sender / recipient / other user /
anonymous; conflicts of interest, limits, privacy, CSRF, and mail only to owners."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from graph.models import CoauthorEdge
from profiles import invitations
from profiles.models import Invitation
from tests.claims.helpers import make_user
from tests.factories import InstitutionFactory, ResearcherFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem_cache")]

HX = {"HX-Request": "true"}
MESSAGE = {"subject": "Joint review?", "message": "Would you review our preprint with us?"}


@pytest.fixture
def recipient():
    return make_user("ada@uni.test")


@pytest.fixture
def record(recipient):
    return ResearcherFactory(display_name="Ada Lovelace", owner=recipient, verification_level=2)


@pytest.fixture
def sender():
    return make_user("grace@navy.test")


@pytest.fixture
def sender_client(client, sender):
    client.force_login(sender)
    return client


def send(client, record, headers=None, data=None):
    return client.post(
        reverse("invitation_send", args=[record.pk]), data or MESSAGE, headers=headers or {}
    )


def make_invitation(sender, record) -> Invitation:
    return invitations.send_invitation(sender=sender, researcher=record, **MESSAGE)


# --- sending -----------------------------------------------------------------------------------


def test_profile_offers_an_invitation_to_a_logged_in_verified_user(sender_client, record):
    html = sender_client.get(record.get_absolute_url()).content.decode()
    assert "This researcher is open to collaborate." in html
    assert "Write an invitation" in html


def test_anonymous_visitor_is_asked_to_log_in(client, record):
    html = client.get(record.get_absolute_url()).content.decode()
    assert "Log in to send an invitation" in html


def test_the_form_shows_conflicts_of_interest_before_sending(sender_client, sender, record):
    institution = InstitutionFactory(display_name="Analytical Engine Institute")
    record.last_known_institution = institution
    record.save()
    own = ResearcherFactory(owner=sender, last_known_institution=institution)
    CoauthorEdge.objects.create(
        researcher=own,
        coauthor=record,
        shared_works=2,
        last_year=timezone.now().year - 1,
        smallest_team=3,
        is_close=True,
    )
    response = sender_client.get(reverse("invitation_new", args=[record.pk]), headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="direct-collaboration-panel"')
    assert "You co-authored 2 works with Ada Lovelace, most recently in" in html
    assert "You are both at Analytical Engine Institute." in html


def test_old_coauthorship_is_no_conflict(sender_client, sender, record):
    own = ResearcherFactory(owner=sender)
    CoauthorEdge.objects.create(
        researcher=own, coauthor=record, shared_works=1, last_year=2001, smallest_team=3
    )
    html = sender_client.get(reverse("invitation_new", args=[record.pk])).content.decode()
    assert "None found" in html


def test_sending_creates_the_invitation_and_mails_the_owner(
    sender_client, sender, record, recipient, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(sender_client, record, headers=HX)
    assert response.status_code == 200
    assert "Your invitation to Ada Lovelace is on its way." in response.content.decode()
    invitation = Invitation.objects.get()
    assert (invitation.sender, invitation.recipient, invitation.status) == (
        sender,
        recipient,
        "sent",
    )
    assert [m.to for m in mailoutbox] == [["ada@uni.test"]]
    assert "grace@navy.test" not in mailoutbox[0].body  # no contact details before accepting


def test_plain_form_send_redirects_to_the_invitation(sender_client, record):
    response = send(sender_client, record)
    invitation = Invitation.objects.get()
    assert response["Location"] == reverse("invitation_detail", args=[invitation.pk])


def test_unclaimed_records_never_receive_anything(
    sender_client, mailoutbox, django_capture_on_commit_callbacks
):
    unclaimed = ResearcherFactory()
    assert sender_client.get(reverse("invitation_new", args=[unclaimed.pk])).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert send(sender_client, unclaimed).status_code == 404
    with pytest.raises(invitations.InvitationError):
        invitations.send_invitation(sender=make_user("x@y.test"), researcher=unclaimed, **MESSAGE)
    assert not Invitation.objects.exists() and mailoutbox == []
    html = sender_client.get(unclaimed.get_absolute_url()).content.decode()
    assert "Claim this author entity first to unlock direct invitations." in html


def test_a_closed_profile_refuses_invitations(sender_client, record):
    record.open_to_collaborate = False
    record.save()
    response = send(sender_client, record, headers=HX)
    assert "not open to collaborate" in response.content.decode()
    assert not Invitation.objects.exists()


def test_nobody_invites_themselves(client, recipient, record):
    client.force_login(recipient)
    response = send(client, record, headers=HX)
    assert "cannot invite yourself" in response.content.decode()
    assert not Invitation.objects.exists()


def test_an_unconfirmed_email_cannot_send(client, record):
    client.force_login(make_user("new@home.test", verified=False))
    html = client.get(record.get_absolute_url()).content.decode()
    assert "Confirm your email address to send invitations." in html
    response = send(client, record, headers=HX)
    assert "Confirm your email address" in response.content.decode()
    assert not Invitation.objects.exists()


def test_five_invitations_a_day_then_429(sender_client, sender):
    records = [ResearcherFactory(owner=make_user(f"r{i}@uni.test")) for i in range(6)]
    for record in records[:5]:
        assert send(sender_client, record, headers=HX).status_code == 200
    response = send(sender_client, records[5], headers=HX)
    assert response.status_code == 429
    assert "the daily limit" in response.content.decode()
    response = send(sender_client, records[5])
    assert response.status_code == 302
    assert "the daily limit" in sender_client.get(response["Location"]).content.decode()
    assert Invitation.objects.count() == 5


def test_one_pending_invitation_per_pair(sender_client, sender, record):
    make_invitation(sender, record)
    response = send(sender_client, record, headers=HX)
    assert response.status_code == 429
    assert "already have an invitation waiting" in response.content.decode()
    assert Invitation.objects.count() == 1
    html = sender_client.get(record.get_absolute_url()).content.decode()
    assert "Your invitation is waiting for a reply." in html


def test_invitation_pages_query_budgets(client, sender, recipient, record, query_budget):
    client.force_login(sender)
    for headers, budget in (({}, "invitations.new"), (HX, "invitations.new_fragment")):
        with query_budget(budget):
            response = client.get(reverse("invitation_new", args=[record.pk]), headers=headers)
        assert response.status_code == 200
    invitation = make_invitation(sender, record)
    client.force_login(recipient)
    with query_budget("invitations.detail"):
        assert client.get(reverse("invitation_detail", args=[invitation.pk])).status_code == 200
    # The inbox: the same count with one invitation or three.
    for i in range(3):
        with query_budget("invitations.inbox"):
            response = client.get(reverse("invitation_inbox"))
        assert response.status_code == 200
        assert MESSAGE["subject"] in response.content.decode()
        if i < 2:
            make_invitation(make_user(f"sender{i}@lab.test"), record)


def test_invitation_actions_query_budgets(client, sender, recipient, record, query_budget):
    client.force_login(sender)
    with query_budget("invitations.send_fragment"):
        assert send(client, record, headers=HX).status_code == 200
    first = Invitation.objects.get()
    second = make_invitation(make_user("alan@lab.test"), record)
    client.force_login(recipient)
    for budget, view, invitation in (
        ("invitations.accept_fragment", "invitation_accept", first),
        ("invitations.decline_fragment", "invitation_decline", second),
    ):
        with query_budget(budget):
            response = client.post(reverse(view, args=[invitation.pk]), headers=HX)
        assert response.status_code == 200


# --- reading and answering ---------------------------------------------------------------------


def test_recipient_accepts_and_both_see_each_others_email(
    client, sender, recipient, record, mailoutbox, django_capture_on_commit_callbacks
):
    invitation = make_invitation(sender, record)
    client.force_login(recipient)
    inbox = client.get(reverse("invitation_inbox")).content.decode()
    assert "Joint review?" in inbox and "grace@navy.test" not in inbox
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("invitation_accept", args=[invitation.pk]), headers=HX)
    html = response.content.decode()
    assert html.lstrip().startswith('<li class="invitation invitation-accepted"')
    assert "mailto:grace@navy.test" in html
    assert [m.to for m in mailoutbox] == [["grace@navy.test"]]
    sender_client = Client()
    sender_client.force_login(sender)
    detail = sender_client.get(reverse("invitation_detail", args=[invitation.pk]))
    assert "mailto:ada@uni.test" in detail.content.decode()


def test_recipient_declines(client, sender, recipient, record):
    invitation = make_invitation(sender, record)
    client.force_login(recipient)
    response = client.post(reverse("invitation_decline", args=[invitation.pk]))
    assert response["Location"] == reverse("invitation_detail", args=[invitation.pk])
    invitation.refresh_from_db()
    assert invitation.status == "declined" and invitation.decided_at is not None
    html = client.get(reverse("invitation_detail", args=[invitation.pk])).content.decode()
    assert "ada@uni.test" not in html.split("<main")[1] and "grace@navy.test" not in html


def test_nobody_else_can_read_or_answer_an_invitation(client, sender, record):
    invitation = make_invitation(sender, record)
    client.force_login(make_user("mallory@home.test"))
    assert client.get(reverse("invitation_detail", args=[invitation.pk])).status_code == 404
    for name in ["invitation_accept", "invitation_decline"]:
        for headers in ({}, HX):
            response = client.post(reverse(name, args=[invitation.pk]), headers=headers)
            assert response.status_code == 404
    assert "Joint review?" not in client.get(reverse("invitation_inbox")).content.decode()
    invitation.refresh_from_db()
    assert invitation.status == "sent"


def test_the_sender_can_read_but_not_answer(sender_client, sender, record):
    invitation = make_invitation(sender, record)
    assert sender_client.get(reverse("invitation_detail", args=[invitation.pk])).status_code == 200
    response = sender_client.post(reverse("invitation_accept", args=[invitation.pk]))
    assert response.status_code == 403
    invitation.refresh_from_db()
    assert invitation.status == "sent"


def test_a_new_owner_does_not_see_invitations_sent_to_the_previous_one(client, sender, record):
    from claims.services import release_record

    invitation = make_invitation(sender, record)
    release_record(user=record.owner, researcher=record)
    newcomer = make_user("new-owner@uni.test")
    record.refresh_from_db()
    record.owner = newcomer
    record.save()
    client.force_login(newcomer)
    assert client.get(reverse("invitation_detail", args=[invitation.pk])).status_code == 404


def test_anonymous_users_are_sent_to_log_in(client, sender, record):
    invitation = make_invitation(sender, record)
    login = reverse("account_login")
    for url in [
        reverse("invitation_new", args=[record.pk]),
        reverse("invitation_inbox"),
        reverse("invitation_detail", args=[invitation.pk]),
    ]:
        assert client.get(url)["Location"].startswith(f"{login}?next=")
    for url in [
        reverse("invitation_send", args=[record.pk]),
        reverse("invitation_accept", args=[invitation.pk]),
        reverse("invitation_decline", args=[invitation.pk]),
    ]:
        assert client.post(url, MESSAGE)["Location"].startswith(login)
    assert Invitation.objects.count() == 1
    assert Invitation.objects.get().status == "sent"


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_posts_without_csrf_token_are_refused(sender, recipient, record, headers):
    invitation = make_invitation(make_user("third@home.test"), record)
    for user, url in [
        (sender, reverse("invitation_send", args=[record.pk])),
        (recipient, reverse("invitation_accept", args=[invitation.pk])),
        (recipient, reverse("invitation_decline", args=[invitation.pk])),
    ]:
        csrf_client = Client(enforce_csrf_checks=True)
        csrf_client.force_login(user)
        assert csrf_client.post(url, MESSAGE, headers=headers).status_code == 403
    assert Invitation.objects.count() == 1
    assert Invitation.objects.get().status == "sent"


def test_each_side_reads_the_status_from_where_they_stand(client, sender, recipient, record):
    ResearcherFactory(display_name="Grace Hopper", owner=sender, verification_level=2)
    invitation = make_invitation(sender, record)

    client.force_login(recipient)
    inbox = " ".join(client.get(reverse("invitation_inbox")).content.decode().split())
    assert "Invitation from <a" in inbox and ">Grace Hopper</a>" in inbox
    assert ">Awaiting your answer</span>" in inbox and ">Sent<" not in inbox

    sender_client = Client()
    sender_client.force_login(sender)
    sent = " ".join(sender_client.get(reverse("invitation_inbox")).content.decode().split())
    assert "Invitation to <a" in sent and ">Ada Lovelace</a>" in sent
    assert ">Awaiting their answer</span>" in sent

    client.post(reverse("invitation_accept", args=[invitation.pk]))
    inbox = client.get(reverse("invitation_detail", args=[invitation.pk])).content.decode()
    assert ">You accepted</span>" in inbox
    sent = sender_client.get(reverse("invitation_detail", args=[invitation.pk])).content.decode()
    assert ">Accepted</span>" in sent
