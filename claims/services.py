"""Claims: a user takes ownership of a public author record; curators decide the rest.

Rules kept here (and by the constraints in claims/models.py):
1. One owner per record. A claim on a record someone else owns is a dispute: it stays
   pending for curators and never takes the record by itself.
2. One record per user (Researcher.owner is one-to-one), and one open claim at a time.
3. Automatic approvals: an authenticated ORCID iD equal to the record's ORCID (L3), or a
   verified email on the record's institution's domain whose local part looks like the
   record's name (L2, audited by curators through the method "email_domain"; an address
   that does not look like the name waits for a curator). Evidence waits for a curator
   (L2 when approved).
4. Every decision stores who (None for an automatic one), when and why; the claimant is
   emailed.
5. A curator's approval never takes a record from its owner (that is `transfer_record`,
   with a reason), and is refused when the record or its claims changed since the page
   the curator decided on (the review token, queries.review_tokens). Owner, level and
   ORCID iD change only here (the admin shows them read-only).

These are the rules only: trust and counts follow a claim or a report through
bzpeer.curation (curators' decisions in `services`, the users' own steps in `owners`),
which calls these and then refreshes the derived data.

Each write locks the user row, then the record row, then claim rows (always in that order),
so two claims or two decisions racing for the same record or by the same user are
serialised.
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
from bzpeer.identifiers import normalize_orcid, parse_orcid
from bzpeer.mail import one_line
from bzpeer.types import AnyUser, User
from claims import queries
from claims.listing import listed_works
from claims.models import Claim, NotMeReport
from claims.names import local_part_matches_name
from profiles.models import FollowersVisibility, Researcher, VerificationLevel
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
    """Approve at once (L2) when a verified email is on the institution's domain and its
    local part looks like the record's name (claims/names.py); an address on the domain
    that does not (a colleague's, `info@`) files the claim for a curator instead.

    Approving on the domain at all is a deliberate trade: most researchers have such an
    address and no ORCID sign-in, and curators audit every one of these claims (the claims
    admin's "institutional email, last 30 days" list)."""
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
        # Listed with the addresses that look like the record's name first.
        names = [record.display_name, *record.alternative_names]
        named = [email for email in emails if local_part_matches_name(email, names)]
        if named:
            return _file_claim(
                user=user,
                record=record,
                method=Claim.Method.EMAIL_DOMAIN,
                evidence=f"Confirmed email {named[0]} is on the institution's domain {domain}.",
                approve_with=VerificationLevel.L2,
            )
        return _file_claim(
            user=user,
            record=record,
            method=Claim.Method.EMAIL_DOMAIN,
            evidence=(
                f"Confirmed email {emails[0]} is on the institution's domain {domain}, but "
                "it does not look like the record's name: a curator reviews it."
            ),
            approve_with=None,
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
    # Anyone else still waiting on this record now disputes an owned record, and is told.
    waiting = list(
        Claim.objects.select_related("user", "researcher")
        .filter(researcher=record, status=Claim.Status.PENDING, is_dispute=False)
        .exclude(user_id=claim.user_id)
    )
    Claim.objects.filter(pk__in=[c.pk for c in waiting]).update(is_dispute=True)
    for other in waiting:
        other.is_dispute = True
        _notify_claimant(other, template="claim_disputed")


# --- curator decisions ----------------------------------------------------------------------


def approve_claim(
    *, claim: Claim, reviewer: User | None, reason: str = "", seen: str | None = None
) -> Claim:
    """A curator approves a pending claim on a record without an owner: the claimant owns
    it at L2 (L3 for an ORCID claim whose iD is still the record's). `seen` is the
    review token (queries.review_tokens) of the page the curator decided on: when the
    record or its claims changed since, nothing happens and the curator is told what
    changed. A record that has an owner is never taken by an approval: that is
    `transfer_record`, with a reason."""
    with transaction.atomic():
        _lock_user_id(claim.user_id)
        record = _lock_record_id(claim.researcher_id)
        claim = _lock_claim(claim)
        _check_reviewer(claim, reviewer)
        _check_unchanged(claim, record, seen)
        _check_claimant_may_own(claim, record)
        if record.owner_id is not None:
            raise ClaimError(
                f"This record belongs to {_owner_label(record)}: approving would take it from "
                'them. If that is right, use "Transfer the record to the disputing claimant" '
                "and give the reason."
            )
        _close_stale_approvals(record)
        _decide(claim, status=Claim.Status.APPROVED, reviewer=reviewer, reason=reason)
        _take_record(record=record, claim=claim, level=_approved_level(claim, record))
        _notify_claimant(claim)
    return claim


def transfer_record(
    *, claim: Claim, reviewer: User | None, reason: str, seen: str | None = None
) -> Claim:
    """A curator decides a dispute for the claimant: the record moves from its owner to
    them. Its own action, with a reason both people read: the owner's approval is closed
    as rejected, and each of the two is emailed once. `seen` as for approve_claim."""
    reason = (reason or "").strip()
    if not reason:
        raise ClaimError("Moving a record from its owner needs a reason: both people read it.")
    with transaction.atomic():
        _lock_user_id(claim.user_id)
        record = _lock_record_id(claim.researcher_id)
        claim = _lock_claim(claim)
        _check_reviewer(claim, reviewer)
        _check_unchanged(claim, record, seen)
        _check_claimant_may_own(claim, record)
        if record.owner_id is None:
            raise ClaimError("This record has no owner: approve the claim instead.")
        now = timezone.now()
        displaced = list(
            Claim.objects.select_for_update()
            .select_related("user", "researcher")
            .filter(researcher=record, status=Claim.Status.APPROVED)
        )
        for earlier in displaced:
            earlier.status = Claim.Status.REJECTED
            earlier.reviewer = reviewer
            earlier.decided_at = now
            earlier.reason = (
                f"Ownership moved to another claimant after a dispute (claim {claim.pk}). {reason}"
            )
            earlier.save(update_fields=["status", "reviewer", "decided_at", "reason"])
        claim.is_dispute = True
        _decide(claim, status=Claim.Status.APPROVED, reviewer=reviewer, reason=reason)
        record.owner = None  # the one-to-one moves in one save below
        _take_record(record=record, claim=claim, level=_approved_level(claim, record))
        _notify_claimant(claim)
        for earlier in displaced:
            _notify_claimant(earlier)
    return claim


def _decide(claim: Claim, *, status: str, reviewer: User | None, reason: str) -> None:
    claim.status = status
    claim.reviewer = reviewer
    claim.decided_at = timezone.now()
    claim.reason = reason.strip()
    claim.save(update_fields=["status", "reviewer", "decided_at", "reason", "is_dispute"])


def _approved_level(claim: Claim, record: Researcher) -> int:
    """L3 only while the record's ORCID iD is one the claimant signed in with."""
    if claim.method == Claim.Method.ORCID:
        orcid = parse_orcid(record.orcid or "")
        if orcid and orcid in queries.connected_orcids(claim.user):
            return VerificationLevel.L3
    return VerificationLevel.L2


def _check_claimant_may_own(claim: Claim, record: Researcher) -> None:
    if record.merged_into_id:
        raise ClaimError("This record was merged into another one; decide a claim on it.")
    if record.owner_id == claim.user_id:
        raise ClaimError("The claimant already owns this record.")
    owned = Researcher.objects.filter(owner_id=claim.user_id).exclude(pk=record.pk).first()
    if owned is not None:
        raise ClaimError(f"The claimant already owns the record of {owned.display_name}.")


def _check_unchanged(claim: Claim, record: Researcher, seen: str | None) -> None:
    """Refuse a decision taken on a page that no longer shows the record as it is."""
    if seen is None or queries.review_tokens([claim.pk]).get(claim.pk) == seen:
        return
    if record.owner_id is not None:
        approval = (
            Claim.objects.filter(researcher=record, status=Claim.Status.APPROVED)
            .select_related("reviewer")
            .first()
        )
        how = ""
        if approval is not None:
            by = f"by {approval.reviewer}" if approval.reviewer else "automatically"
            when = timezone.localtime(approval.decided_at).strftime("%Y-%m-%d %H:%M:%S")
            how = f" (claim {approval.pk}, approved {by} at {when})"
        now = f"it now belongs to {_owner_label(record)}{how}"
    elif record.merged_into_id:
        now = "it was merged into another record"
    else:
        now = "its claims changed (one was filed, withdrawn or decided)"
    raise ClaimError(
        f"The record changed since you opened the decision page: {now}. Nothing was "
        "changed; look at the claim again before deciding."
    )


def _owner_label(record: Researcher) -> str:
    if record.owner_id is None:
        return "nobody"
    owner = get_user_model().objects.filter(pk=record.owner_id).first()
    return str(owner) if owner is not None else "another user"


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
        # The owner's visibility controls were theirs: back to the defaults.
        record.followers_visibility = FollowersVisibility.EVERYONE
        record.in_suggestions = True
        record.open_visible_to_followers = True
        record.accepts_invitations = True
        record.save(
            update_fields=[
                "owner",
                "verification_level",
                "open_to_collaborate",
                "collaboration_kinds",
                "open_until",
                "followers_visibility",
                "in_suggestions",
                "open_visible_to_followers",
                "accepts_invitations",
                "updated_at",
            ]
        )
        Claim.objects.filter(researcher=record, status=Claim.Status.PENDING).update(
            is_dispute=False
        )
    return record


# --- curators' changes to ownership and to the iD a claim may rest on -------------------------


def revoke_ownership(
    *, researcher: Researcher, reviewer: User | None, reason: str, notify: bool = True
) -> Researcher:
    """A curator ends a record's ownership (a wrong approval, a closed account): unclaimed,
    its level back to L1/L0, the approval closed with `reason`, which the former owner is
    emailed. Pending claims on it are no longer disputes."""
    reason = (reason or "").strip()
    if not reason:
        raise ClaimError("Ending an ownership needs a reason: the former owner reads it.")
    if reviewer is None or not reviewer.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied(f"You lack the permission {DECIDE_PERMISSION}.")
    with transaction.atomic():
        record = _lock_record(researcher)
        if record.owner_id is None:
            raise ClaimError(f"{record.display_name} has no owner.")
        former = get_user_model().objects.get(pk=record.owner_id)
        for claim in Claim.objects.select_for_update().filter(
            researcher=record, status=Claim.Status.APPROVED
        ):
            _decide(claim, status=Claim.Status.WITHDRAWN, reviewer=reviewer, reason=reason)
        record.owner = None
        record.verification_level = unclaimed_level(record)
        record.save(update_fields=["owner", "verification_level", "updated_at"])
        Claim.objects.filter(researcher=record, status=Claim.Status.PENDING).update(
            is_dispute=False
        )
        if notify:
            _notify_owner(former, record, "ownership_ended", {"reason": reason})
    return record


def change_orcid(
    *, researcher: Researcher, orcid: str | None, reviewer: User | None, reason: str
) -> Researcher:
    """A curator corrects a record's ORCID iD (None removes it), saying why; the owner, if
    any, is emailed. An unclaimed record's level follows (an iD makes it L1). An iD the
    owner proved by signing in with ORCID (L3) is not changed by hand: release first."""
    reason = (reason or "").strip()
    if not reason:
        raise ClaimError("Changing an ORCID iD needs a reason.")
    if reviewer is None or not reviewer.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied(f"You lack the permission {DECIDE_PERMISSION}.")
    new = normalize_orcid(orcid) if orcid else None
    if orcid and new is None:
        raise ClaimError("Not an ORCID iD: expected 0000-0000-0000-000X with a valid check digit.")
    with transaction.atomic():
        record = _lock_record(researcher)
        old = record.orcid or None
        if new == old:
            raise ClaimError(f"The record's ORCID iD already is {old or 'empty'}.")
        if record.owner_id and record.verification_level == VerificationLevel.L3:
            raise ClaimError(
                f"The owner signed in with ORCID as {old}, which made the record L3: release "
                "the record first if that iD is wrong."
            )
        holder = Researcher.objects.filter(orcid=new).exclude(pk=record.pk).first() if new else None
        if holder is not None:
            raise ClaimError(
                f"The record of {holder.display_name} already has the iD {new}: if it is the "
                "same person, merge the duplicates instead."
            )
        record.orcid = new
        fields = ["orcid", "updated_at"]
        if record.owner_id is None:
            record.verification_level = unclaimed_level(record)
            fields.append("verification_level")
        try:
            with transaction.atomic():
                record.save(update_fields=fields)
        except IntegrityError as exc:  # another record took the iD in a parallel request
            raise ClaimError(f"Another record took the iD {new} meanwhile.") from exc
        if record.owner_id:
            owner = get_user_model().objects.get(pk=record.owner_id)
            _notify_owner(
                owner, record, "orcid_changed", {"old": old, "new": new, "reason": reason}
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


def _notify_owner(user: AnyUser, record: Researcher, template: str, extra: dict) -> None:
    """Email a record's (former) owner what a curator did to it, after the commit."""
    email = getattr(user, "email", "")
    if not email:
        return
    context = {"researcher": record, "user": user, "site_url": settings.SITE_URL, **extra}
    subject = one_line(render_to_string(f"claims/email/{template}_subject.txt", context))
    body = render_to_string(f"claims/email/{template}.txt", context)

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
        except Exception:  # a mail outage must not undo the change
            logger.exception("Could not email the owner of record %s", record.pk)

    transaction.on_commit(send)


def _notify_claimant(claim: Claim, *, template: str = "claim_decided") -> None:
    """Email the claimant about a decision (or, with "claim_disputed", that someone else now
    owns the record their claim waits on), after the transaction commits."""
    user = claim.user
    if not user.email:
        return
    context = {
        "claim": claim,
        "researcher": claim.researcher,
        "user": user,
        "site_url": settings.SITE_URL,
    }
    subject = one_line(render_to_string(f"claims/email/{template}_subject.txt", context))
    body = render_to_string(f"claims/email/{template}.txt", context)

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
        except Exception:  # a mail outage must not undo the decision
            logger.exception("Could not email the decision on claim %s", claim.pk)

    transaction.on_commit(send)
