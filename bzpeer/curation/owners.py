"""What users do to records (claim, withdraw, release, report "not me", edit their summary),
with its consequence: the claim rules (claims.services) or the profile's own write
(profiles.services), then trust and graph slices queued for the worker after the commit.
Views call these, so a user's change is recomputed whichever page made it."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from bzpeer.curation.derived import queue_recompute
from bzpeer.search.documents import refresh_search_documents
from bzpeer.types import User
from claims import hiding
from claims import services as claim_rules
from claims.models import Claim, NotMeReport
from graph.services import drop_slices_showing
from profiles import services as profile_services
from profiles.models import Researcher
from works.models import Work


def claim_with_orcid(*, user: User, researcher: Researcher) -> Claim:
    with transaction.atomic():
        claim = claim_rules.claim_with_orcid(user=user, researcher=researcher)
        queue_recompute(researcher_ids=[claim.researcher_id])
    return claim


def claim_with_email(*, user: User, researcher: Researcher) -> Claim:
    with transaction.atomic():
        claim = claim_rules.claim_with_email(user=user, researcher=researcher)
        queue_recompute(researcher_ids=[claim.researcher_id])
    return claim


def claim_with_evidence(
    *, user: User, researcher: Researcher, statement: str, links: Iterable[str] = ()
) -> Claim:
    with transaction.atomic():
        claim = claim_rules.claim_with_evidence(
            user=user, researcher=researcher, statement=statement, links=links
        )
        queue_recompute(researcher_ids=[claim.researcher_id])
    return claim


def withdraw_claim(*, claim: Claim, user: User) -> Claim:
    with transaction.atomic():
        claim = claim_rules.withdraw_claim(claim=claim, user=user)
        queue_recompute(researcher_ids=[claim.researcher_id])
    return claim


def release_record(*, user: User, researcher: Researcher) -> Researcher:
    """The owner gives the record back (claims.services.release_record)."""
    with transaction.atomic():
        record = claim_rules.release_record(user=user, researcher=researcher)
        queue_recompute(researcher_ids=[record.pk])
    return record


def report_not_me(*, user: User, researcher: Researcher, work: Work, reason: str) -> NotMeReport:
    with transaction.atomic():
        report = claim_rules.report_not_me(
            user=user, researcher=researcher, work=work, reason=reason
        )
        queue_recompute(researcher_ids=[report.researcher_id])
    return report


def update_summary(*, user: User, researcher: Researcher, summary: str) -> Researcher:
    """Completeness counts in trust, so trust is recomputed."""
    with transaction.atomic():
        record = profile_services.update_summary(user=user, researcher=researcher, summary=summary)
        queue_recompute(researcher_ids=[record.pk])
    return record


def set_record_hidden(*, user: User, researcher: Researcher, hidden: bool) -> Researcher:
    """The owner hides (or shows again) their record at once (claims.hiding); every stored
    graph slice that shows it is dropped, so it leaves other profiles' graphs too, and its
    search document follows (no search finds a hidden record)."""
    with transaction.atomic():
        record = hiding.set_own_record_hidden(user=user, researcher=researcher, hidden=hidden)
        drop_slices_showing(researcher_ids=[record.pk])
        refresh_search_documents(researcher_ids=[record.pk])
        queue_recompute(researcher_ids=[record.pk])
    return record


def set_visibility(
    *,
    user: User,
    researcher: Researcher,
    followers_visibility: str,
    in_suggestions: bool,
    open_visible_to_followers: bool,
    accepts_invitations: bool,
) -> Researcher:
    """The owner's visibility controls (profiles.services.set_visibility). Leaving the
    "never worked with" suggestions takes effect at once: every stored graph slice that
    shows the record is dropped (a page that asks again gets a build without it)."""
    with transaction.atomic():
        was_suggested = researcher.in_suggestions
        record = profile_services.set_visibility(
            user=user,
            researcher=researcher,
            followers_visibility=followers_visibility,
            in_suggestions=in_suggestions,
            open_visible_to_followers=open_visible_to_followers,
            accepts_invitations=accepts_invitations,
        )
        if was_suggested and not record.in_suggestions:
            drop_slices_showing(researcher_ids=[record.pk])
    return record
