from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from bzpeer.curation import owners
from bzpeer.curation import services as curation
from claims import services
from claims.models import Claim
from profiles.models import VerificationLevel
from tests.claims.helpers import connect_orcid, make_user
from tests.factories import InstitutionFactory, ResearcherFactory

pytestmark = pytest.mark.django_db

ORCID = "0000-0001-2345-6789"
STATEMENT = "I am a lecturer at this university and wrote these papers."


@pytest.fixture
def record():
    institution = InstitutionFactory(homepage_url="https://www.uni.example.edu/")
    return ResearcherFactory(
        display_name="Ada Lovelace", orcid=ORCID, last_known_institution=institution, works_count=3
    )


@pytest.fixture
def curator():
    return make_user("curator@bzpeer.test", staff=True)


def refreshed(obj):
    obj.refresh_from_db()
    return obj


# --- ORCID ------------------------------------------------------------------------------------


def test_orcid_claim_with_connected_matching_id_is_approved_at_l3(
    record, queued_recomputes, mailoutbox, django_capture_on_commit_callbacks
):
    user = make_user("sofia@anywhere.test")
    connect_orcid(user, ORCID)
    with django_capture_on_commit_callbacks(execute=True):
        claim = owners.claim_with_orcid(user=user, researcher=record)
    assert claim.status == Claim.Status.APPROVED
    assert claim.method == Claim.Method.ORCID
    assert claim.decided_at is not None and claim.reviewer is None
    assert "ORCID" in claim.reason
    record = refreshed(record)
    assert record.owner == user
    assert record.verification_level == VerificationLevel.L3
    assert queued_recomputes == [[record.pk]]
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["sofia@anywhere.test"]
    assert "approved" in mailoutbox[0].subject


def test_orcid_id_compares_without_url_or_case(record):
    user = make_user("sofia@anywhere.test")
    record.orcid = "0000-0002-1825-009X"
    record.save()
    connect_orcid(user, "https://orcid.org/0000-0002-1825-009x")
    assert services.claim_with_orcid(user=user, researcher=record).status == "approved"


def test_orcid_claim_without_a_connected_orcid_account_is_refused(record):
    user = make_user("sofia@anywhere.test")
    # The same iD from another provider (or typed anywhere) proves nothing.
    from allauth.socialaccount.models import SocialAccount

    SocialAccount.objects.create(user=user, provider="github", uid=ORCID, extra_data={})
    with pytest.raises(services.ClaimError, match="typed by hand does not count"):
        services.claim_with_orcid(user=user, researcher=record)
    assert refreshed(record).owner is None
    assert not Claim.objects.exists()


def test_orcid_claim_with_a_different_connected_id_is_refused(record):
    user = make_user("sofia@anywhere.test")
    connect_orcid(user, "0000-0003-0000-0000")
    with pytest.raises(services.ClaimError):
        services.claim_with_orcid(user=user, researcher=record)
    assert refreshed(record).owner is None


def test_orcid_claim_on_a_record_without_orcid_is_refused(record):
    record.orcid = None
    record.save()
    user = make_user("sofia@anywhere.test")
    connect_orcid(user, ORCID)
    with pytest.raises(services.ClaimError, match="no ORCID"):
        services.claim_with_orcid(user=user, researcher=record)


# --- institutional email -------------------------------------------------------------------


@pytest.mark.parametrize("email", ["ada.lovelace@uni.example.edu", "alovelace@cs.uni.example.edu"])
def test_email_on_the_institution_domain_is_approved_at_l2(record, email):
    user = make_user(email)
    claim = services.claim_with_email(user=user, researcher=record)
    assert claim.status == Claim.Status.APPROVED
    assert claim.method == Claim.Method.EMAIL_DOMAIN  # what curators audit
    assert email in claim.evidence
    assert refreshed(record).verification_level == VerificationLevel.L2
    assert record.owner == user


@pytest.mark.parametrize(
    "email", ["ada@notuni.example.edu", "ada@uni.example.edu.evil.test", "ada@example.edu"]
)
def test_lookalike_domains_do_not_match(record, email):
    user = make_user(email)
    with pytest.raises(services.ClaimError, match="uni.example.edu"):
        services.claim_with_email(user=user, researcher=record)
    assert refreshed(record).owner is None


def test_an_unconfirmed_institutional_address_does_not_count(record):
    from allauth.account.models import EmailAddress

    user = make_user("ada@gmail.test")
    EmailAddress.objects.create(user=user, email="ada.lovelace@uni.example.edu", verified=False)
    with pytest.raises(services.ClaimError):
        services.claim_with_email(user=user, researcher=record)


def test_shared_hosting_homepage_gives_no_domain(record):
    record.last_known_institution.homepage_url = "https://someone.github.io/"
    record.last_known_institution.save()
    user = make_user("x@someone.github.io")
    with pytest.raises(services.ClaimError, match="no web domain"):
        services.claim_with_email(user=user, researcher=record)


# --- evidence, verification, rules ---------------------------------------------------------


def test_evidence_claim_waits_for_a_curator(record):
    user = make_user("ada@home.test")
    claim = services.claim_with_evidence(
        user=user, researcher=record, statement=STATEMENT, links=["https://uni.example.edu/ada"]
    )
    assert claim.status == Claim.Status.PENDING
    assert claim.evidence_links == ["https://uni.example.edu/ada"]
    assert refreshed(record).owner is None


def test_a_user_without_a_confirmed_email_cannot_claim(record):
    user = make_user("ada.lovelace@uni.example.edu", verified=False)
    connect_orcid(user, ORCID)
    for claim in (
        lambda: services.claim_with_orcid(user=user, researcher=record),
        lambda: services.claim_with_email(user=user, researcher=record),
        lambda: services.claim_with_evidence(user=user, researcher=record, statement=STATEMENT),
    ):
        with pytest.raises(services.EmailNotVerified, match="Confirm your email"):
            claim()
    assert not Claim.objects.exists()


def test_a_claim_on_an_owned_record_is_a_dispute_and_never_takes_it(record):
    owner = make_user("lovelace@uni.example.edu")
    services.claim_with_email(user=owner, researcher=record)
    rival = make_user("rival@elsewhere.test")
    connect_orcid(rival, ORCID)  # even a matching ORCID does not take an owned record
    claim = services.claim_with_orcid(user=rival, researcher=record)
    assert claim.status == Claim.Status.PENDING and claim.is_dispute
    assert refreshed(record).owner == owner


def test_one_record_per_user(record):
    user = make_user("ada.lovelace@uni.example.edu")
    services.claim_with_email(user=user, researcher=record)
    other = ResearcherFactory()
    with pytest.raises(services.ClaimError, match="Release it"):
        services.claim_with_evidence(user=user, researcher=other, statement=STATEMENT)


def test_one_pending_claim_at_a_time(record):
    user = make_user("ada@home.test")
    services.claim_with_evidence(user=user, researcher=record, statement=STATEMENT)
    with pytest.raises(services.ClaimError, match="already have a pending claim"):
        services.claim_with_evidence(user=user, researcher=record, statement=STATEMENT)
    with pytest.raises(services.ClaimError, match="another record"):
        services.claim_with_evidence(user=user, researcher=ResearcherFactory(), statement=STATEMENT)


def test_a_verified_claim_replaces_the_users_pending_evidence_claim(record):
    user = make_user("ada.lovelace@uni.example.edu")
    pending = services.claim_with_evidence(user=user, researcher=record, statement=STATEMENT)
    services.claim_with_email(user=user, researcher=record)
    assert refreshed(pending).status == Claim.Status.WITHDRAWN
    assert refreshed(record).owner == user


def test_waiting_claims_become_disputes_when_someone_takes_the_record(record):
    waiting = services.claim_with_evidence(
        user=make_user("b@home.test"), researcher=record, statement=STATEMENT
    )
    assert not waiting.is_dispute
    services.claim_with_email(user=make_user("a.lovelace@uni.example.edu"), researcher=record)
    assert refreshed(waiting).is_dispute


def test_invalid_evidence_is_refused(record):
    user = make_user("ada@home.test")
    with pytest.raises(services.ClaimError):
        services.claim_with_evidence(user=user, researcher=record, statement="me")
    with pytest.raises(services.ClaimError):
        services.claim_with_evidence(
            user=user, researcher=record, statement=STATEMENT, links=["javascript:alert(1)"]
        )


# --- curator decisions -----------------------------------------------------------------------


def test_approve_gives_the_record_at_l2_and_stores_the_decision(
    record, curator, queued_recomputes, mailoutbox, django_capture_on_commit_callbacks
):
    user = make_user("ada@home.test")
    claim = services.claim_with_evidence(user=user, researcher=record, statement=STATEMENT)
    with django_capture_on_commit_callbacks(execute=True):
        curation.approve_claim(claim=claim, curator=curator, reason="Staff page names her.")
    claim = refreshed(claim)
    assert claim.status == Claim.Status.APPROVED
    assert claim.reviewer == curator and claim.decided_at is not None
    assert claim.reason == "Staff page names her."
    record = refreshed(record)
    assert record.owner == user and record.verification_level == VerificationLevel.L2
    assert queued_recomputes[-1] == [record.pk]
    assert [m.to for m in mailoutbox] == [["ada@home.test"]]
    assert "Staff page names her." in mailoutbox[0].body


def test_a_curator_cannot_approve_their_own_claim(record):
    curator = make_user("curator@bzpeer.test", staff=True)
    claim = services.claim_with_evidence(user=curator, researcher=record, statement=STATEMENT)
    with pytest.raises(PermissionDenied, match="your own claim"):
        services.approve_claim(claim=claim, reviewer=curator)
    assert refreshed(claim).status == Claim.Status.PENDING
    assert refreshed(record).owner is None


def test_only_staff_decide(record):
    claim = services.claim_with_evidence(
        user=make_user("ada@home.test"), researcher=record, statement=STATEMENT
    )
    with pytest.raises(PermissionDenied):
        services.approve_claim(claim=claim, reviewer=make_user("someone@home.test"))


def test_only_a_pending_claim_is_decided(record, curator):
    claim = services.claim_with_evidence(
        user=make_user("ada@home.test"), researcher=record, statement=STATEMENT
    )
    services.reject_claim(claim=claim, reviewer=curator, reason="No evidence.")
    with pytest.raises(services.ClaimError, match="pending"):
        services.approve_claim(claim=claim, reviewer=curator)


def test_reject_needs_a_reason_and_emails_it(
    record, curator, mailoutbox, django_capture_on_commit_callbacks
):
    claim = services.claim_with_evidence(
        user=make_user("ada@home.test"), researcher=record, statement=STATEMENT
    )
    with pytest.raises(services.ClaimError, match="reason"):
        services.reject_claim(claim=claim, reviewer=curator, reason="  ")
    with django_capture_on_commit_callbacks(execute=True):
        services.reject_claim(claim=claim, reviewer=curator, reason="The links name someone else.")
    claim = refreshed(claim)
    assert (claim.status, claim.reviewer, claim.reason) == (
        Claim.Status.REJECTED,
        curator,
        "The links name someone else.",
    )
    assert "The links name someone else." in mailoutbox[0].body


def test_transferring_a_dispute_moves_the_record_and_closes_the_earlier_approval(
    record, curator, mailoutbox, django_capture_on_commit_callbacks
):
    owner = make_user("lovelace@uni.example.edu")
    first = services.claim_with_email(user=owner, researcher=record)
    rival = make_user("rival@home.test")
    dispute = services.claim_with_evidence(user=rival, researcher=record, statement=STATEMENT)
    assert dispute.is_dispute
    with django_capture_on_commit_callbacks(execute=True):
        services.transfer_record(claim=dispute, reviewer=curator, reason="The real author.")
    assert refreshed(record).owner == rival
    first = refreshed(first)
    assert first.status == Claim.Status.REJECTED and "dispute" in first.reason
    assert sorted(m.to[0] for m in mailoutbox) == ["lovelace@uni.example.edu", "rival@home.test"]


# --- the claimant's and the owner's actions -------------------------------------------------


def test_withdraw_only_by_the_claimant_and_only_while_pending(record):
    user = make_user("ada@home.test")
    claim = services.claim_with_evidence(user=user, researcher=record, statement=STATEMENT)
    with pytest.raises(PermissionDenied):
        services.withdraw_claim(claim=claim, user=make_user("other@home.test"))
    services.withdraw_claim(claim=claim, user=user)
    claim = refreshed(claim)
    assert claim.status == Claim.Status.WITHDRAWN and claim.decided_at is not None
    with pytest.raises(services.ClaimError):
        services.withdraw_claim(claim=claim, user=user)


def test_release_gives_the_record_back(
    record, queued_recomputes, django_capture_on_commit_callbacks
):
    user = make_user("ada.lovelace@uni.example.edu")
    claim = services.claim_with_email(user=user, researcher=record)
    from profiles.services import set_collaboration

    set_collaboration(user=user, researcher=record, open_to_collaborate=False, kinds=[])
    with pytest.raises(PermissionDenied):
        services.release_record(user=make_user("x@home.test"), researcher=record)
    with django_capture_on_commit_callbacks(execute=True):
        owners.release_record(user=user, researcher=record)
    record = refreshed(record)
    assert record.owner is None
    assert record.verification_level == VerificationLevel.L1
    assert record.open_to_collaborate is True
    assert refreshed(claim).status == Claim.Status.WITHDRAWN
    assert queued_recomputes[-1] == [record.pk]
    # and the user may claim again
    assert services.claim_with_email(user=user, researcher=record).status == "approved"


def test_staff_outside_the_curators_group_cannot_decide(record):
    claim = services.claim_with_evidence(
        user=make_user("ada@home.test"), researcher=record, statement=STATEMENT
    )
    plain_staff = make_user("staff@bzpeer.test")
    plain_staff.is_staff = True
    plain_staff.save()
    with pytest.raises(PermissionDenied, match="Only curators"):
        services.approve_claim(claim=claim, reviewer=plain_staff)
    with pytest.raises(PermissionDenied, match="Only curators"):
        services.reject_claim(claim=claim, reviewer=plain_staff, reason="No.")
    assert refreshed(claim).status == Claim.Status.PENDING
    assert refreshed(record).owner is None
