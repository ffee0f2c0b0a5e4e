"""Claims: a user takes ownership of a public author record; curators decide the rest.

Rules kept here (and by the constraints in claims/models.py):
1. One owner per record. A claim on a record someone else owns is a dispute: it stays
   pending for curators and never takes the record by itself.
2. One record per user (Researcher.owner is one-to-one), and one open claim at a time.
3. Automatic approvals: an authenticated ORCID iD equal to the record's ORCID (L3), or a
   verified email on the record's institution's domain (L2, audited by curators through
   the method "email_domain"). Evidence waits for a curator (L2 when approved).
4. Every decision stores who (None for an automatic one), when and why; the claimant is
   emailed.

These are the rules only: trust and counts follow a claim or a report through
bzpeer.curation (curators' decisions in `services`, the users' own steps in `owners`),
which calls these and then refreshes the derived data.

Each write locks the user row, then the record row (always in that order), so two claims
racing for the same record or by the same user are serialised.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from bzpeer.accounts import has_verified_email
from bzpeer.identifiers import parse_orcid
from bzpeer.types import User
from claims import queries
from claims.listing import listed_works
from claims.models import Claim, NotMeReport
from profiles.models import Researcher, VerificationLevel
from works.models import Authorship, Work

# Held by the Curators group (bzpeer/audit/migrations/0002_curators_group.py) and superusers.
DECIDE_PERMISSION = "claims.decide_claim"

logger = logging.getLogger(__name__)

MAX_EVIDENCE_LINKS = 5
MIN_STATEMENT_LENGTH = 20


class ClaimError(Exception):
    """The rules refuse this claim or decision; the message is written for the user."""


class EmailNotVerified(ClaimError):
    pass


VERIFY_EMAIL_MESSAGE = (
    "Confirm your email address first: open the link we emailed you, or add and confirm "
    "an address under Account settings."
)


def require_verified_email(user: User) -> None:
    if not has_verified_email(user):
        raise EmailNotVerified(VERIFY_EMAIL_MESSAGE)


# --- claiming -----------------------------------------------------------------------------


def claim_with_orcid(*, user: User, researcher: Researcher) -> Claim:
    """Approve at once (L3) when the user's connected ORCID iD equals the record's."""
    require_verified_email(user)
    with transaction.atomic():
        _lock_user(user)
        record = _lock_record(researcher)
        if not record.orcid:
            raise ClaimError(
                "This record has no ORCID iD. Use your institutional email or evidence."
            )
        orcid = parse_orcid(record.orcid)
        if orcid not in queries.connected_orcids(user):
            raise ClaimError(
                f"None of the ORCID iDs connected to your account is {orcid}. Connect that "
                "iD by signing in with ORCID; an iD typed by hand does not count."
            )
        return _file_claim(
            user=user,
            record=record,
            method=Claim.Method.ORCID,
            evidence=f"Signed in with ORCID as {orcid}, the record's ORCID iD.",
            approve_with=VerificationLevel.L3,
        )


def claim_with_email(*, user: User, researcher: Researcher) -> Claim:
    """Approve at once (L2) when a verified email is on the institution's domain."""
    require_verified_email(user)
    with transaction.atomic():
        _lock_user(user)
        record = _lock_record(researcher)
        domain = queries.institution_domain(record)
        if not domain:
            raise ClaimError(
                "We know no web domain for this record's institution. Claim it with evidence."
            )
        emails = queries.matching_verified_emails(user, record)
        if not emails:
            raise ClaimError(
                f"None of your confirmed email addresses is at {domain}. Add and confirm one "
                "under Account settings, or claim with evidence."
            )
        return _file_claim(
            user=user,
            record=record,
            method=Claim.Method.EMAIL_DOMAIN,
            evidence=f"Confirmed email {emails[0]} is on the institution's domain {domain}.",
            approve_with=VerificationLevel.L2,
        )


def claim_with_evidence(
    *, user: User, researcher: Researcher, statement: str, links: Iterable[str] = ()
) -> Claim:
    """File a claim for a curator to review; it stays pending until decided."""
    require_verified_email(user)
    statement = statement.strip()
    links = [link.strip() for link in links if link and link.strip()]
    if len(statement) < MIN_STATEMENT_LENGTH:
        raise ClaimError(
            f"Tell the curators who you are in at least {MIN_STATEMENT_LENGTH} characters."
        )
    if len(links) > MAX_EVIDENCE_LINKS:
        raise ClaimError(f"Give at most {MAX_EVIDENCE_LINKS} links.")
    if any(not link.startswith(("https://", "http://")) for link in links):
        raise ClaimError("Links must be web addresses starting with https:// or http://.")
    with transaction.atomic():
        _lock_user(user)
        record = _lock_record(researcher)
        return _file_claim(
            user=user,
            record=record,
            method=Claim.Method.EVIDENCE,
            evidence=statement,
            links=links,
            approve_with=None,
        )


def _file_claim(
    *,
    user: User,
    record: Researcher,
    method: str,
    evidence: str,
    links: list[str] | None = None,
    approve_with: int | None,
) -> Claim:
    """Inside the caller's transaction, with the user and record rows locked."""
    pending_here = _check_user_may_claim(user, record, automatic=approve_with is not None)
    if pending_here is not None:
        # A stronger proof arrived while evidence waited: the automatic claim replaces it.
        _close(pending_here, status=Claim.Status.WITHDRAWN, reason="Replaced by a verified claim.")
    is_dispute = record.owner_id is not None
    status = Claim.Status.PENDING
    reason = ""
    if approve_with is not None and not is_dispute:
        status = Claim.Status.APPROVED
        reason = f"Approved automatically: {evidence}"
        _close_stale_approvals(record)
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                user=user,
                researcher=record,
                method=method,
                evidence=evidence,
                evidence_links=links or [],
                is_dispute=is_dispute,
                status=status,
                decided_at=timezone.now() if status == Claim.Status.APPROVED else None,
                reason=reason,
            )
    except IntegrityError as exc:
        raise ClaimError("You already have a pending claim on this record.") from exc
    if status == Claim.Status.APPROVED and approve_with is not None:
        _take_record(record=record, claim=claim, level=approve_with)
        _notify_claimant(claim)
    return claim


def _check_user_may_claim(user: User, record: Researcher, *, automatic: bool) -> Claim | None:
    """Refuse what the rules forbid; return the user's pending claim on this record when an
    automatic claim may replace it."""
    if record.merged_into_id:
        raise ClaimError("This record was merged into another one; claim that one instead.")
    if record.owner_id == user.pk:
        raise ClaimError("You already own this record.")
    owned = Researcher.objects.filter(owner=user).exclude(pk=record.pk).first()
    if owned is not None:
        raise ClaimError(
            f"You already own the record of {owned.display_name}. Release it before "
            "claiming another one: each account owns one record."
        )
    pending = list(Claim.objects.filter(user=user, status=Claim.Status.PENDING))
    if any(claim.researcher_id != record.pk for claim in pending):
        raise ClaimError(
            "You have a pending claim on another record. Withdraw it (My claims) first."
        )
    here = pending[0] if pending else None
    if here is not None and not (automatic and record.owner_id is None):
        raise ClaimError("You already have a pending claim on this record.")
    return here


def _close_stale_approvals(record: Researcher) -> None:
    """An approved claim left behind when a curator removed an owner by hand would block
    the next approval (one approved claim per record): close it, saying why."""
    for stale in Claim.objects.select_for_update().filter(
        researcher=record, status=Claim.Status.APPROVED
    ):
        if stale.user_id != record.owner_id:
            _close(stale, status=Claim.Status.WITHDRAWN, reason="Ownership ended by a curator.")


def _take_record(*, record: Researcher, claim: Claim, level: int) -> None:
    record.owner_id = claim.user_id
    record.verification_level = level
    try:
        with transaction.atomic():
            record.save(update_fields=["owner", "verification_level", "updated_at"])
    except IntegrityError as exc:  # the user took another record in a parallel request
        raise ClaimError("Your account already owns a record.") from exc
    # Anyone else still waiting on this record now disputes an owned record.
    Claim.objects.filter(researcher=record, status=Claim.Status.PENDING).exclude(
        user_id=claim.user_id
    ).update(is_dispute=True)


# --- curator decisions ----------------------------------------------------------------------


def approve_claim(*, claim: Claim, reviewer: User | None, reason: str = "") -> Claim:
    """A curator approves a pending claim: the claimant owns the record at L2 (L3 for an
    ORCID dispute, whose iD was checked when it was filed). Approving a dispute moves the
    record from its owner to the claimant; the earlier approval is closed with the why."""
    with transaction.atomic():
        _lock_user_id(claim.user_id)
        record = _lock_record_id(claim.researcher_id)
        claim = _lock_claim(claim)
        _check_reviewer(claim, reviewer)
        if record.merged_into_id:
            raise ClaimError("This record was merged into another one; decide a claim on it.")
        owned = Researcher.objects.filter(owner_id=claim.user_id).exclude(pk=record.pk).first()
        if owned is not None:
            raise ClaimError(f"The claimant already owns the record of {owned.display_name}.")
        previous_owner_id = record.owner_id
        if previous_owner_id == claim.user_id:
            raise ClaimError("The claimant already owns this record.")
        now = timezone.now()
        displaced: list[Claim] = []
        if previous_owner_id is not None:
            for earlier in Claim.objects.select_for_update().filter(
                researcher=record, status=Claim.Status.APPROVED
            ):
                earlier.status = Claim.Status.REJECTED
                earlier.reviewer = reviewer
                earlier.decided_at = now
                earlier.reason = (
                    f"Ownership moved to another claimant after a dispute (claim {claim.pk})."
                    + (f" {reason.strip()}" if reason.strip() else "")
                )
                earlier.save(update_fields=["status", "reviewer", "decided_at", "reason"])
                displaced.append(earlier)
            claim.is_dispute = True
        else:
            _close_stale_approvals(record)
        claim.status = Claim.Status.APPROVED
        claim.reviewer = reviewer
        claim.decided_at = now
        claim.reason = reason.strip()
        claim.save(update_fields=["status", "reviewer", "decided_at", "reason", "is_dispute"])
        level = VerificationLevel.L3 if claim.method == Claim.Method.ORCID else VerificationLevel.L2
        if previous_owner_id is not None:
            record.owner = None  # the one-to-one moves in one save below
        _take_record(record=record, claim=claim, level=level)
        _notify_claimant(claim)
        for earlier in displaced:
            _notify_claimant(earlier)
    return claim


def reject_claim(*, claim: Claim, reviewer: User | None, reason: str) -> Claim:
    reason = (reason or "").strip()
    if not reason:
        raise ClaimError("A rejection needs a reason: the claimant reads it.")
    with transaction.atomic():
        claim = _lock_claim(claim)
        _check_reviewer(claim, reviewer)
        claim.status = Claim.Status.REJECTED
        claim.reviewer = reviewer
        claim.decided_at = timezone.now()
        claim.reason = reason
        claim.save(update_fields=["status", "reviewer", "decided_at", "reason"])
        _notify_claimant(claim)
    return claim


def _check_reviewer(claim: Claim, reviewer: User | None) -> None:
    if reviewer is None or not reviewer.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied("Only curators decide claims.")
    if reviewer.pk == claim.user_id:
        raise PermissionDenied("You cannot decide your own claim.")
    if claim.status != Claim.Status.PENDING:
        raise ClaimError(f"Only a pending claim can be decided; this one is {claim.status}.")


# --- the claimant's and the owner's own actions ---------------------------------------------


def withdraw_claim(*, claim: Claim, user: User) -> Claim:
    if claim.user_id != user.pk:
        raise PermissionDenied("Only the claimant can withdraw a claim.")
    with transaction.atomic():
        claim = _lock_claim(claim)
        if claim.status != Claim.Status.PENDING:
            raise ClaimError(f"Only a pending claim can be withdrawn; this one is {claim.status}.")
        _close(claim, status=Claim.Status.WITHDRAWN, reason="Withdrawn by the claimant.")
    return claim


def release_record(*, user: User, researcher: Researcher) -> Researcher:
    """The owner gives the record back: unclaimed, its level back to L1/L0, collaboration
    settings back to their defaults, the approval closed."""
    with transaction.atomic():
        _lock_user(user)
        record = _lock_record(researcher)
        if record.owner_id != user.pk:
            raise PermissionDenied("Only the owner can release a record.")
        for claim in Claim.objects.select_for_update().filter(
            researcher=record, status=Claim.Status.APPROVED
        ):
            _close(claim, status=Claim.Status.WITHDRAWN, reason="Record released by its owner.")
        record.owner = None
        record.verification_level = unclaimed_level(record)
        record.open_to_collaborate = True
        record.collaboration_kinds = []
        record.open_until = None
        record.save(
            update_fields=[
                "owner",
                "verification_level",
                "open_to_collaborate",
                "collaboration_kinds",
                "open_until",
                "updated_at",
            ]
        )
        Claim.objects.filter(researcher=record, status=Claim.Status.PENDING).update(
            is_dispute=False
        )
    return record


def unclaimed_level(record: Researcher) -> int:
    """L1 for a record backed by a bibliographic source or an ORCID iD, else L0."""
    backed = bool(record.orcid) or record.works_count > 0
    backed = backed or not record.source_id.startswith("urn:bzpeer:")
    return VerificationLevel.L1 if backed else VerificationLevel.L0


# --- "not me" --------------------------------------------------------------------------------


def report_not_me(*, user: User, researcher: Researcher, work: Work, reason: str) -> NotMeReport:
    """The owner says a work on their record is not theirs: it leaves the profile now and
    waits for a curator. The work count drops with it (and comes back on a rejection)."""
    reason = (reason or "").strip()
    if not reason:
        raise ClaimError("Say briefly why this work is not yours; a curator reads it.")
    with transaction.atomic():
        record = _lock_record(researcher)
        if record.owner_id != user.pk:
            raise PermissionDenied("Only the record's owner can report a work.")
        if not Authorship.objects.filter(researcher=record, work=work).exists():
            raise ClaimError("This work is not on your record.")
        try:
            with transaction.atomic():
                report = NotMeReport.objects.create(
                    researcher=record, work=work, user=user, reason=reason
                )
        except IntegrityError as exc:
            raise ClaimError("You already reported this work.") from exc
        _sync_works_count(record.pk)
    return report


def accept_not_me(*, report: NotMeReport, reviewer: User | None, reason: str = "") -> NotMeReport:
    """A curator agrees: the authorship goes. The accepted report stays, so a re-import that
    brings the authorship back still hides it."""
    with transaction.atomic():
        report = _decide_not_me(report, reviewer, NotMeReport.Status.ACCEPTED, reason)
        Authorship.objects.filter(researcher_id=report.researcher_id, work=report.work_id).delete()
        _sync_works_count(report.researcher_id)
    return report


def reject_not_me(*, report: NotMeReport, reviewer: User | None, reason: str) -> NotMeReport:
    if not (reason or "").strip():
        raise ClaimError("A rejection needs a reason: the owner reads it.")
    with transaction.atomic():
        report = _decide_not_me(report, reviewer, NotMeReport.Status.REJECTED, reason)
        _sync_works_count(report.researcher_id)
    return report


def _sync_works_count(researcher_id: int) -> None:
    """works_count = the works the profile lists (not hidden, not reported "not me")."""
    listed = listed_works(researcher_id).count()
    Researcher.objects.filter(pk=researcher_id).update(works_count=listed)


def _decide_not_me(
    report: NotMeReport, reviewer: User | None, status: str, reason: str
) -> NotMeReport:
    report = NotMeReport.objects.select_for_update().get(pk=report.pk)
    if reviewer is None or not reviewer.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied("Only curators decide reports.")
    if reviewer.pk == report.user_id:
        raise PermissionDenied("You cannot decide your own report.")
    if report.status != NotMeReport.Status.PENDING:
        raise ClaimError(f"Only a pending report can be decided; this one is {report.status}.")
    report.status = status
    report.reviewer = reviewer
    report.decided_at = timezone.now()
    report.decision_reason = (reason or "").strip()
    report.save(update_fields=["status", "reviewer", "decided_at", "decision_reason"])
    return report


# --- helpers ---------------------------------------------------------------------------------


def _lock_user(user: User) -> None:
    _lock_user_id(user.pk)


def _lock_user_id(user_id: int) -> None:
    get_user_model().objects.select_for_update().filter(pk=user_id).values_list("pk").first()


def _lock_record(researcher: Researcher) -> Researcher:
    return _lock_record_id(researcher.pk)


def _lock_record_id(researcher_id: int) -> Researcher:
    return (
        Researcher.objects.select_for_update(of=("self",))
        .select_related("last_known_institution")
        .get(pk=researcher_id)
    )


def _lock_claim(claim: Claim) -> Claim:
    return Claim.objects.select_for_update().select_related("user").get(pk=claim.pk)


def _close(claim: Claim, *, status: str, reason: str) -> None:
    claim.status = status
    claim.decided_at = timezone.now()
    claim.reason = reason
    claim.save(update_fields=["status", "decided_at", "reason"])


def _notify_claimant(claim: Claim) -> None:
    """Email the claimant about a decision, after the transaction commits."""
    user = claim.user
    if not user.email:
        return
    context = {
        "claim": claim,
        "researcher": claim.researcher,
        "user": user,
        "site_url": settings.SITE_URL,
    }
    subject = render_to_string("claims/email/claim_decided_subject.txt", context).strip()
    body = render_to_string("claims/email/claim_decided.txt", context)

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
        except Exception:  # a mail outage must not undo the decision
            logger.exception("Could not email the decision on claim %s", claim.pk)

    transaction.on_commit(send)
