"""Hide requests: the person a record describes (or anyone with a reason) asks curators to
hide the record, its summary or its affiliation, or to correct it.

The review rules are the claims' (claims.services): only curators decide, nobody decides
their own request, only a pending request is decided, a rejection needs a reason, and the
requester is emailed about each step. The proof is read from the requester's account when
they are signed in (an ORCID iD connected through sign-in equal to the record's, or a
confirmed email on the institution's domain); anyone else gives evidence for the curator.
What an approval does to the record lives in bzpeer.curation.services (audit context,
derived data); this module keeps the request and the record's own columns right.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from bzpeer.identifiers import parse_orcid
from bzpeer.mail import one_line
from bzpeer.types import AnyUser, User
from claims import queries
from claims.models import HideRequest
from claims.services import DECIDE_PERMISSION, ClaimError
from profiles.models import HiddenBy, Researcher

logger = logging.getLogger(__name__)

MIN_MESSAGE_LENGTH = 10
# An anonymous form anyone can post: one address files at most this many a day.
REQUESTS_PER_DAY = 5


def detect_proof(user: AnyUser, researcher: Researcher) -> tuple[str, str]:
    """(proof, detail): the strongest proof the requester's account gives for this record."""
    if user.is_authenticated:
        orcid = parse_orcid(researcher.orcid or "")
        if orcid and orcid in queries.connected_orcids(user):
            return HideRequest.Proof.ORCID, f"Signed in with ORCID as {orcid}."
        emails = queries.matching_verified_emails(user, researcher)
        if emails:
            return HideRequest.Proof.EMAIL_DOMAIN, f"Confirmed email {emails[0]}."
    return HideRequest.Proof.EVIDENCE, ""


def file_hide_request(
    *,
    researcher: Researcher,
    user: AnyUser,
    name: str,
    email: str,
    scope: str,
    message: str,
) -> HideRequest:
    message = (message or "").strip()
    if len(message) < MIN_MESSAGE_LENGTH:
        raise ClaimError(
            f"Tell the curators who you are and why, in at least {MIN_MESSAGE_LENGTH} characters."
        )
    if scope not in HideRequest.Scope.values:
        raise ClaimError("Choose what you ask for.")
    proof, detail = detect_proof(user, researcher)
    with transaction.atomic():
        request = HideRequest.objects.create(
            researcher=researcher,
            user=user if user.is_authenticated else None,
            name=name.strip(),
            email=email.strip(),
            scope=scope,
            proof=proof,
            proof_detail=detail,
            message=message,
        )
        _notify(request, "received")
    return request


def _lock(request: HideRequest) -> HideRequest:
    return HideRequest.objects.select_for_update().select_related("researcher").get(pk=request.pk)


def _check_reviewer(request: HideRequest, reviewer: User | None) -> None:
    if reviewer is None or not reviewer.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied("Only curators decide hide requests.")
    if request.user_id is not None and reviewer.pk == request.user_id:
        raise PermissionDenied("You cannot decide your own request.")
    if request.status != HideRequest.Status.PENDING:
        raise ClaimError(f"Only a pending request can be decided; this one is {request.status}.")


def approve_hide_request(
    *, request: HideRequest, reviewer: User | None, reason: str = ""
) -> HideRequest:
    """Apply what was asked to the record (a correction is made by the curator by hand;
    its approval records that it was done)."""
    with transaction.atomic():
        request = _lock(request)
        _check_reviewer(request, reviewer)
        record = Researcher.objects.select_for_update(of=("self",)).get(pk=request.researcher_id)
        if request.scope == HideRequest.Scope.PROFILE:
            if record.hidden_at is None:
                record.hidden_at = timezone.now()
            record.hidden_by = HiddenBy.REQUEST
        elif request.scope == HideRequest.Scope.SUMMARY:
            record.summary_hidden = True
        elif request.scope == HideRequest.Scope.AFFILIATION:
            record.affiliation_hidden = True
        record.save(
            update_fields=[
                "hidden_at",
                "hidden_by",
                "summary_hidden",
                "affiliation_hidden",
                "updated_at",
            ]
        )
        _decide(request, reviewer, HideRequest.Status.APPROVED, reason)
    return request


def reject_hide_request(*, request: HideRequest, reviewer: User | None, reason: str) -> HideRequest:
    if not (reason or "").strip():
        raise ClaimError("A rejection needs a reason: the requester reads it.")
    with transaction.atomic():
        request = _lock(request)
        _check_reviewer(request, reviewer)
        _decide(request, reviewer, HideRequest.Status.REJECTED, reason)
    return request


def _decide(request: HideRequest, reviewer: User | None, status: str, reason: str) -> None:
    request.status = status
    request.reviewer = reviewer
    request.decided_at = timezone.now()
    request.reason = (reason or "").strip()
    request.save(update_fields=["status", "reviewer", "decided_at", "reason"])
    _notify(request, "decided")


# --- the owner's own switch ---------------------------------------------------------------


def set_own_record_hidden(*, user: User, researcher: Researcher, hidden: bool) -> Researcher:
    """The owner hides their record at once, or shows it again. A record a curator hid on
    a request stays hidden until a curator says otherwise."""
    with transaction.atomic():
        record = Researcher.objects.select_for_update(of=("self",)).get(pk=researcher.pk)
        if record.owner_id != user.pk:
            raise PermissionDenied("Only the record's owner can hide it.")
        if hidden:
            if record.hidden_at is None:
                record.hidden_at = timezone.now()
                record.hidden_by = HiddenBy.OWNER
        else:
            if record.hidden_by == HiddenBy.REQUEST:
                raise ClaimError(
                    "A curator hid this record on a request; ask them to show it again."
                )
            record.hidden_at = None
            record.hidden_by = ""
        record.save(update_fields=["hidden_at", "hidden_by", "updated_at"])
    return record


def _notify(request: HideRequest, event: str) -> None:
    """Email the requester after the transaction commits (a mail outage never undoes it)."""
    if not request.email:
        return
    context = {
        "hide_request": request,
        "researcher": request.researcher,
        "event": event,
        "site_url": settings.SITE_URL,
    }
    # The record's name is stored data (an import, a curator's edit): one line, always.
    subject = one_line(render_to_string("claims/email/hide_request_subject.txt", context))
    body = render_to_string("claims/email/hide_request.txt", context)
    address = request.email

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        except Exception:
            logger.exception("Could not email about hide request %s", request.pk)

    transaction.on_commit(send)
