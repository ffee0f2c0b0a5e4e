"""Direct collaboration: invitations from a signed-in user to a claimed, open researcher.

Services (writes, each a transaction) and the queries the invitation views need. Only a
claimed record can receive an invitation, and mail goes only to its owner: nothing is
ever sent to the author of an unclaimed record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone

from bzpeer.accounts import has_verified_email
from bzpeer.mail import LINE_BREAK_MESSAGE, has_line_break, one_line
from bzpeer.types import User
from profiles.models import Invitation, Researcher

logger = logging.getLogger(__name__)

INVITATIONS_PER_DAY = 5
CONFLICT_YEARS = 5


class InvitationError(Exception):
    """The rules refuse this invitation; the message is written for the user."""


class InvitationLimitReached(InvitationError):
    pass


# --- services --------------------------------------------------------------------------------


def send_invitation(
    *, sender: User, researcher: Researcher, subject: str, message: str
) -> Invitation:
    subject, message = subject.strip(), message.strip()
    if not subject or not message:
        raise InvitationError("Write a subject and a message.")
    if has_line_break(subject):  # the subject becomes a mail header
        raise InvitationError(f"Subject: {LINE_BREAK_MESSAGE}")
    if not has_verified_email(sender):
        raise InvitationError("Confirm your email address before sending invitations.")
    with transaction.atomic():
        # The sender's row is locked first: parallel sends by one sender (to any records)
        # count their daily invitations one after the other.
        get_user_model().objects.select_for_update().filter(pk=sender.pk).first()
        record = Researcher.objects.select_for_update(of=("self",)).get(pk=researcher.pk)
        if record.owner_id is None:
            raise InvitationError("Only a claimed record can receive invitations.")
        if record.owner_id == sender.pk:
            raise InvitationError("You cannot invite yourself.")
        if not record.is_open_now:
            raise InvitationError("This researcher is not open to collaborate right now.")
        if not record.accepts_invitations:
            raise InvitationError("This researcher does not accept invitations.")
        # Counted in the database under the sender's lock: exact, and still enforced when
        # Redis is down.
        since = timezone.now() - timedelta(days=1)
        if Invitation.objects.filter(sender=sender, created_at__gte=since).count() >= (
            INVITATIONS_PER_DAY
        ):
            raise InvitationLimitReached(
                f"You have sent {INVITATIONS_PER_DAY} invitations in the last 24 hours, the "
                "daily limit. Please try again tomorrow."
            )
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    sender=sender,
                    researcher=record,
                    recipient_id=record.owner_id,
                    subject=subject,
                    message=message,
                )
        except IntegrityError as exc:
            raise InvitationLimitReached(
                "You already have an invitation waiting for this researcher's reply."
            ) from exc
        invitation = Invitation.objects.select_related("recipient", "researcher", "sender").get(
            pk=invitation.pk
        )
        _mail(invitation.recipient, "received", invitation)
    return invitation


def accept_invitation(*, invitation: Invitation, user: User) -> Invitation:
    return _answer(invitation, user, Invitation.Status.ACCEPTED)


def decline_invitation(*, invitation: Invitation, user: User) -> Invitation:
    return _answer(invitation, user, Invitation.Status.DECLINED)


def _answer(invitation: Invitation, user: User, status: str) -> Invitation:
    if invitation.recipient_id != user.pk:
        raise PermissionDenied("Only the recipient answers an invitation.")
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("sender", "recipient", "researcher")
            .get(pk=invitation.pk)
        )
        if invitation.researcher.owner_id != user.pk:
            # Released (or moved to someone else) since: accepting would reveal both emails.
            raise PermissionDenied("Only the record's owner answers its invitations.")
        if invitation.status != Invitation.Status.SENT:
            raise InvitationError(f"This invitation was already {invitation.status}.")
        invitation.status = status
        invitation.decided_at = timezone.now()
        invitation.save(update_fields=["status", "decided_at"])
        _mail(invitation.sender, status, invitation)
    return invitation


def withdraw_shared_email(*, invitation: Invitation, user: User) -> Invitation:
    """Either side of an accepted invitation stops showing the addresses it revealed."""
    if user.pk not in (invitation.sender_id, invitation.recipient_id):
        raise PermissionDenied("Only the sender or the recipient can withdraw the address.")
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update(of=("self",)).get(pk=invitation.pk)
        if invitation.status != Invitation.Status.ACCEPTED:
            raise InvitationError("Only an accepted invitation shares email addresses.")
        if invitation.email_withdrawn_at is None:
            invitation.email_withdrawn_at = timezone.now()
            invitation.save(update_fields=["email_withdrawn_at"])
    return invitation


def _mail(user: User | None, kind: str, invitation: Invitation) -> None:
    """Email a registered user (an owner or a sender) after the transaction commits."""
    if user is None or not user.email:
        return
    context = {"invitation": invitation, "kind": kind, "site_url": settings.SITE_URL}
    subject = one_line(render_to_string("profiles/email/invitation_subject.txt", context))
    body = render_to_string("profiles/email/invitation.txt", context)

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
        except Exception:  # a mail outage must not undo the invitation
            logger.exception("Could not email about invitation %s", invitation.pk)

    transaction.on_commit(send)


# --- queries ---------------------------------------------------------------------------------


def _with_people(queryset: QuerySet[Invitation]) -> QuerySet[Invitation]:
    return queryset.select_related("sender", "sender__researcher", "recipient", "researcher")


def _received_by(user: User) -> Q:
    """Invitations written to `user` about a record they still own: a former owner (who
    released the record, or lost it) no longer reads or answers them."""
    return Q(recipient=user, researcher__owner=user)


def received(user: User) -> QuerySet[Invitation]:
    return _with_people(Invitation.objects.filter(_received_by(user))).order_by("-created_at")


def sent(user: User) -> QuerySet[Invitation]:
    return _with_people(Invitation.objects.filter(sender=user)).order_by("-created_at")


def get_invitation_for_user(user: User, invitation_id: int) -> Invitation:
    """An invitation its sender or recipient may read; anyone else gets a 404."""
    return get_object_or_404(
        _with_people(Invitation.objects.filter(Q(sender=user) | _received_by(user))),
        pk=invitation_id,
    )


@dataclass(frozen=True)
class Conflict:
    kind: str
    text: str


def conflicts_of_interest(*, sender: User, researcher: Researcher) -> list[Conflict]:
    """Co-authorship in the last CONFLICT_YEARS years between the sender's own claimed
    record and the recipient, and a shared institution (two queries at most)."""
    own = Researcher.objects.filter(owner=sender).select_related("last_known_institution").first()
    if own is None:
        return []
    conflicts = []
    # The edges hang off the record (graph keeps them; profiles reads them by relation).
    edge = own.coauthor_edges.filter(coauthor=researcher).first()
    since = timezone.now().year - CONFLICT_YEARS
    if edge is not None and edge.last_year is not None and edge.last_year >= since:
        works = f"{edge.shared_works} work{'s' if edge.shared_works != 1 else ''}"
        conflicts.append(
            Conflict(
                kind="coauthor",
                text=(
                    f"You co-authored {works} with {researcher.display_name}, "
                    f"most recently in {edge.last_year}."
                ),
            )
        )
    institution = own.last_known_institution
    if institution is not None and institution.pk == researcher.last_known_institution_id:
        conflicts.append(
            Conflict(
                kind="institution",
                text=f"You are both at {institution.display_name}.",
            )
        )
    return conflicts
