"""Reads for claims, identity checks and the viewer's state on a profile."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache as memoize
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.db.models import F, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from bzpeer.identifiers import parse_orcid
from bzpeer.pagecache.loading import fetch_one
from bzpeer.types import AnyUser, User
from claims.models import Claim, NotMeReport
from claims.names import local_part_matches_name
from profiles.models import Follow, Invitation, Researcher

ORCID_PROVIDER = "orcid"

# Mail and hosting services anyone can get an address or a page on: a homepage there says
# nothing about who belongs to an institution.
SHARED_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "yahoo.com",
        "icloud.com",
        "proton.me",
        "protonmail.com",
        "github.io",
        "github.com",
        "gitlab.io",
        "wordpress.com",
        "blogspot.com",
        "sites.google.com",
        "google.com",
        "medium.com",
    }
)


def connected_orcids(user: User) -> list[str]:
    """ORCID iDs this user proved they control by signing in with ORCID (OAuth)."""
    uids = SocialAccount.objects.filter(user=user, provider=ORCID_PROVIDER).values_list(
        "uid", flat=True
    )
    return [orcid for uid in uids if (orcid := parse_orcid(uid))]


def institution_domain(researcher: Researcher) -> str:
    """The record's institution's web domain (homepage host without `www.`), or ""."""
    institution = researcher.last_known_institution
    if institution is None or not institution.homepage_url:
        return ""
    host = (urlsplit(institution.homepage_url).hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if "." not in host or any(email_domain_matches(f"x@{host}", d) for d in SHARED_DOMAINS):
        return ""
    return host


def email_domain_matches(email: str, domain: str) -> bool:
    """`a@uni.edu` and `a@cs.uni.edu` match `uni.edu`; `a@notuni.edu` does not."""
    if not domain or "@" not in email:
        return False
    host = email.rsplit("@", 1)[1].lower().rstrip(".")
    return host == domain or host.endswith(f".{domain}")


def matching_verified_emails(user: User, researcher: Researcher) -> list[str]:
    domain = institution_domain(researcher)
    if not domain:
        return []
    emails = EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)
    matching = [email for email in emails if email_domain_matches(email, domain)]
    # An address that looks like the record's name first: it is the one a claim uses.
    names = [researcher.display_name, *researcher.alternative_names]
    return sorted(matching, key=lambda email: not local_part_matches_name(email, names))


# Institutional-email claims are approved without a person looking (when the address looks
# like the name) or wait for one: either way curators see every one for this long.
EMAIL_AUDIT_DAYS = 30


def email_domain_claims_to_audit() -> QuerySet[Claim]:
    since = timezone.now() - timedelta(days=EMAIL_AUDIT_DAYS)
    return Claim.objects.filter(method=Claim.Method.EMAIL_DOMAIN, created_at__gte=since)


# --- what a curator saw before deciding --------------------------------------------------


def review_tokens(claim_ids: Iterable[int]) -> dict[int, str]:
    """A short digest, per claim, of what a decision on it depends on: its status, its
    record's owner and merge, and every open (pending or approved) claim on the record.
    The decision page carries the token it showed; the decision is refused when the token
    is different by then (another curator decided, a claim came or went)."""
    claims = list(
        Claim.objects.filter(pk__in=list(claim_ids)).values_list(
            "pk", "status", "researcher_id", "researcher__owner_id", "researcher__merged_into_id"
        )
    )
    open_claims: dict[int, list[tuple]] = {}
    for row in (
        Claim.objects.filter(
            researcher_id__in={researcher_id for _, _, researcher_id, _, _ in claims},
            status__in=[Claim.Status.PENDING, Claim.Status.APPROVED],
        )
        .order_by("pk")
        .values_list("researcher_id", "pk", "user_id", "status", "is_dispute")
    ):
        open_claims.setdefault(row[0], []).append(row[1:])
    tokens = {}
    for pk, status, researcher_id, owner_id, merged_into_id in claims:
        state = (
            pk,
            status,
            researcher_id,
            owner_id,
            merged_into_id,
            open_claims.get(researcher_id),
        )
        tokens[pk] = hashlib.sha256(repr(state).encode()).hexdigest()[:20]
    return tokens


def user_claims(user: User) -> QuerySet[Claim]:
    """The "My claims" list: the user's claims with their record, newest first."""
    return (
        Claim.objects.filter(user=user)
        .select_related("researcher", "researcher__last_known_institution")
        .order_by("-created_at")
    )


def get_claim_for_user(user: User, claim_id: int) -> Claim:
    """A claim its claimant may act on; anyone else gets a 404 (a claim is private)."""
    return get_object_or_404(Claim.objects.select_related("researcher"), pk=claim_id, user=user)


def not_me_reports_for(researcher: Researcher) -> QuerySet[NotMeReport]:
    return (
        NotMeReport.objects.filter(researcher=researcher)
        .select_related("work", "work__venue")
        .order_by("-created_at")
    )


# --- the viewer's state on a profile ------------------------------------------------------


@dataclass(frozen=True)
class ViewerState:
    """Who is looking at a profile, as far as identity goes (one query, none if anonymous)."""

    is_authenticated: bool = False
    is_owner: bool = False
    has_verified_email: bool = False
    owned_record_id: int | None = None
    owned_record_name: str = ""
    pending_claim_id: int | None = None
    pending_claim_is_dispute: bool = False
    pending_claim_created_at: datetime | None = None
    pending_elsewhere_id: int | None = None
    pending_invitation_id: int | None = None
    # The follow control's state, read in the same statement (a signed-in profile shows
    # both on every request).
    following: bool = False
    email_digest: bool = False

    @property
    def owns_another_record(self) -> bool:
        return self.owned_record_id is not None and not self.is_owner

    @property
    def can_start_claim(self) -> bool:
        return (
            self.is_authenticated
            and not self.is_owner
            and self.owned_record_id is None
            and self.pending_claim_id is None
            and self.pending_elsewhere_id is None
        )


ANONYMOUS = ViewerState()


# What viewer_state reads, in this order (the columns of _identity_select).
IDENTITY_COLUMNS = (
    "verified",
    "owned_id",
    "owned_name",
    "pending_id",
    "dispute",
    "created",
    "elsewhere",
    "invitation",
    "digest",
)


def _identity_select(researcher: str, user: str) -> str:
    """The viewer's identity and follow state for the researcher id `researcher` and user
    id `user` (SQL expressions or placeholders). Built from the models' tables: the ORM
    would compile this statement (nine subqueries) on every signed-in profile request,
    which cost more than running it."""
    email = EmailAddress._meta.db_table
    claim = Claim._meta.db_table
    invitation = Invitation._meta.db_table
    follow = Follow._meta.db_table
    pending = f"'{Claim.Status.PENDING.value}'"
    sent = f"'{Invitation.Status.SENT.value}'"
    # Orderings as the models' Meta: records by name, claims and invitations newest first.
    return (
        "SELECT"
        f" EXISTS(SELECT 1 FROM {email} e WHERE e.user_id = u.id AND e.verified) AS verified,"
        " owned.id AS owned_id, owned.display_name AS owned_name,"
        " pending.id AS pending_id, pending.is_dispute AS dispute, pending.created_at AS created,"
        f" (SELECT c.researcher_id FROM {claim} c WHERE c.user_id = u.id AND c.status = {pending}"
        f"   AND c.researcher_id <> {researcher} ORDER BY c.created_at DESC LIMIT 1) AS elsewhere,"
        f" (SELECT i.id FROM {invitation} i WHERE i.sender_id = u.id"
        f"   AND i.researcher_id = {researcher} AND i.status = {sent}"
        "   ORDER BY i.created_at DESC LIMIT 1) AS invitation,"
        f" (SELECT f.email_digest FROM {follow} f WHERE f.user_id = u.id"
        f"   AND f.researcher_id = {researcher} LIMIT 1) AS digest"
        f" FROM {get_user_model()._meta.db_table} u"
        f" LEFT JOIN LATERAL (SELECT o.id, o.display_name FROM {Researcher._meta.db_table} o"
        "   WHERE o.owner_id = u.id ORDER BY o.display_name LIMIT 1) owned ON true"
        f" LEFT JOIN LATERAL (SELECT c.id, c.is_dispute, c.created_at FROM {claim} c"
        f"   WHERE c.user_id = u.id AND c.researcher_id = {researcher} AND c.status = {pending}"
        "   ORDER BY c.created_at DESC LIMIT 1) pending ON true"
        f" WHERE u.id = {user}"
    )


@memoize
def _viewer_state_sql() -> str:
    # The researcher's id four times (as it appears), then the user's.
    return _identity_select("%s", "%s")


@memoize
def identity_join() -> str:
    """A join (alias `vs`, columns IDENTITY_COLUMNS) adding the viewer's state to a
    statement over researcher alias `r`, its one parameter the user's id: a signed-in
    profile reads the record and the viewer's state in one round trip."""
    return f" LEFT JOIN LATERAL ({_identity_select('r.id', '%s')}) vs ON true"


def viewer_state(user: AnyUser, researcher: Researcher) -> ViewerState:
    """Everything the profile's identity sections need about the viewer, in one query
    (a plain statement prepared once per connection), none for an anonymous viewer."""
    if not user.is_authenticated:
        return ANONYMOUS
    row = fetch_one(_viewer_state_sql(), [researcher.pk] * 4 + [user.pk])
    if row is None:
        return ANONYMOUS
    return viewer_state_from(row, user, researcher)


def viewer_state_from(row: tuple, user: AnyUser, researcher: Researcher) -> ViewerState:
    """The state from the IDENTITY_COLUMNS of a row (read with the record through
    identity_join, or by viewer_state)."""
    if row[0] is None:  # no such user (the join found nothing)
        return ANONYMOUS
    (
        verified,
        owned_id,
        owned_name,
        pending_id,
        dispute,
        created,
        elsewhere,
        invitation,
        digest,
    ) = row
    return ViewerState(
        is_authenticated=True,
        is_owner=researcher.owner_id == user.pk,
        has_verified_email=verified,
        owned_record_id=owned_id,
        owned_record_name=owned_name or "",
        pending_claim_id=pending_id,
        pending_claim_is_dispute=bool(dispute),
        pending_claim_created_at=created,
        pending_elsewhere_id=elsewhere,
        pending_invitation_id=invitation,
        following=digest is not None,  # no follow row: NULL
        email_digest=bool(digest),
    )


def recently_claimed(limit: int = 6) -> list[Researcher]:
    """Records their owners claimed most recently (approved claims on current records)."""
    claims = (
        Claim.objects.filter(
            status=Claim.Status.APPROVED,
            researcher__owner__isnull=False,
            researcher__merged_into__isnull=True,
            researcher__hidden_at__isnull=True,
        )
        .select_related("researcher__last_known_institution")
        .order_by(F("decided_at").desc(nulls_last=True), "-pk")[: limit * 2]
    )
    seen: dict[int, Researcher] = {}
    for claim in claims:
        seen.setdefault(claim.researcher_id, claim.researcher)
    return list(seen.values())[:limit]
