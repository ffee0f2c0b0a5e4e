"""Invitations at their edges: a line break in a subject, parallel sends against the daily
limit (threads on real Postgres), and a former owner's access to the record's invitations."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from claims.services import claim_with_evidence, reject_claim, release_record
from profiles import invitations
from profiles.models import Invitation
from tests.claims.helpers import make_user
from tests.factories import ResearcherFactory
from tests.waiting import join_all, start_waiting_for_lock

MESSAGE = {"subject": "Joint review?", "message": "Would you review our preprint with us?"}


def _owned_record(email: str):
    return ResearcherFactory(owner=make_user(email), verification_level=2)


@pytest.mark.django_db
@pytest.mark.usefixtures("locmem_cache")
@pytest.mark.parametrize("subject", ["Hi\r\nBcc: all@example.org", "Hi\nthere", "Hi\rthere"])
def test_a_line_break_in_the_subject_is_refused_with_a_message(subject, mailoutbox):
    record = _owned_record("ada@uni.test")
    client = Client(enforce_csrf_checks=False)
    client.force_login(make_user("grace@navy.test"))
    data = {**MESSAGE, "subject": subject}
    response = client.post(reverse("invitation_send", args=[record.pk]), data)
    assert response.status_code == 200
    assert "Keep this on one line: remove the line breaks." in response.content.decode()
    assert not Invitation.objects.exists() and mailoutbox == []
    with pytest.raises(invitations.InvitationError, match="one line"):
        invitations.send_invitation(
            sender=make_user("x@y.test"), researcher=record, subject=subject, message="Hello"
        )


@pytest.mark.django_db
def test_a_line_break_in_a_record_name_never_reaches_a_mail_header(
    mailoutbox, django_capture_on_commit_callbacks
):
    record = ResearcherFactory(display_name="Ada\r\nBcc: everyone@example.org")
    claim = claim_with_evidence(
        user=make_user("ada@home.test"),
        researcher=record,
        statement="I wrote these papers at the Analytical Engine Institute; see my homepage.",
    )
    with django_capture_on_commit_callbacks(execute=True):
        reject_claim(claim=claim, reviewer=make_user("c@bzpeer.test", staff=True), reason="No.")
    assert len(mailoutbox) == 1
    assert "Ada Bcc: everyone@example.org" in mailoutbox[0].subject
    assert "\n" not in mailoutbox[0].subject and mailoutbox[0].bcc == []


@pytest.mark.django_db(transaction=True)
def test_six_parallel_sends_by_one_sender_make_five_invitations():
    sender = make_user("grace@navy.test")
    records = [_owned_record(f"owner{i}@uni.test") for i in range(6)]
    results: list = [None] * 6

    def send(i: int) -> None:
        try:
            results[i] = invitations.send_invitation(
                sender=sender, researcher=records[i], **MESSAGE
            )
        except Exception as exc:  # collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
    # Hold the sender's row until all six sends wait for it: each must count under that
    # lock (a send that does not wait for it fails the wait), and they then really race.
    with transaction.atomic():
        get_user_model().objects.select_for_update().get(pk=sender.pk)
        start_waiting_for_lock(threads)
    join_all(threads)
    assert Invitation.objects.filter(sender=sender).count() == 5
    refused = [r for r in results if not isinstance(r, Invitation)]
    assert len(refused) == 1 and isinstance(refused[0], invitations.InvitationLimitReached)


@pytest.mark.django_db
@pytest.mark.usefixtures("locmem_cache")
def test_a_former_owner_loses_the_invitations_addressed_to_the_record(client):
    record = _owned_record("ada@uni.test")
    former = record.owner
    sender = make_user("grace@navy.test")
    invitation = invitations.send_invitation(sender=sender, researcher=record, **MESSAGE)
    client.force_login(former)
    detail = reverse("invitation_detail", args=[invitation.pk])
    assert client.get(detail).status_code == 200
    release_record(user=former, researcher=record)
    assert client.get(detail).status_code == 404
    assert "Joint review?" not in client.get(reverse("invitation_inbox")).content.decode()
    assert client.post(reverse("invitation_accept", args=[invitation.pk])).status_code == 404
    assert client.post(reverse("invitation_decline", args=[invitation.pk])).status_code == 404
    with pytest.raises(invitations.PermissionDenied):
        invitations.accept_invitation(invitation=invitation, user=former)
    invitation.refresh_from_db()
    assert invitation.status == "sent"
    # The sender still reads what they wrote.
    client.force_login(sender)
    assert client.get(detail).status_code == 200
