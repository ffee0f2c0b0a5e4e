"""Institutional-email claims: L2 at once only when the address also looks like the record's
name; otherwise a curator decides. Curators audit every such claim for 30 days, and the
record's trust breakdown says how it was claimed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bzpeer.curation import owners
from bzpeer.curation.derived import recompute_trust
from claims import services
from claims.models import Claim
from claims.names import local_part_matches_name
from profiles.models import VerificationLevel
from tests.claims.helpers import make_user
from tests.factories import InstitutionFactory, ResearcherFactory

pytestmark = pytest.mark.django_db

ROSSANA = "Rossana Tamara Medina Valencia"


@pytest.fixture
def record():
    institution = InstitutionFactory(homepage_url="https://www.uni.example.edu/")
    return ResearcherFactory(
        display_name=ROSSANA,
        alternative_names=["Núñez, José Ignacio"],
        last_known_institution=institution,
        works_count=3,
    )


def refreshed(obj):
    obj.refresh_from_db()
    return obj


# --- the name rule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "local",
    [
        "rmedina",
        "rossana.medina",
        "rtmedina",
        "medina.r",
        "r.medina-valencia",
        "rossana.valencia",
        "RMedina",
        "rmedina+claims",
        "rmedina2",
        "mvalencia",
    ],
)
def test_a_local_part_with_the_surname_matches(local):
    assert local_part_matches_name(f"{local}@uni.example.edu", [ROSSANA])


@pytest.mark.parametrize(
    "local", ["rossana", "tamara.r", "info", "dean", "jsmith", "medin", "r", "rtm", "1234"]
)
def test_a_local_part_without_the_surname_does_not_match(local):
    assert not local_part_matches_name(f"{local}@uni.example.edu", [ROSSANA])


def test_accents_alternative_names_and_comma_forms_count():
    assert local_part_matches_name("jnunez@uni.example.edu", ["R. Medina", "Núñez, José"])
    assert local_part_matches_name("jose.nunez@uni.example.edu", ["José Núñez"])
    assert local_part_matches_name("lgarcia@uni.example.edu", ["Lucía García Márquez"])
    assert not local_part_matches_name("jose@uni.example.edu", ["José Núñez"])


def test_short_surnames_need_a_whole_word_or_initials():
    assert local_part_matches_name("jli@uni.example.edu", ["Jing Li"])
    assert local_part_matches_name("jing.li@uni.example.edu", ["Jing Li"])
    assert not local_part_matches_name("alice@uni.example.edu", ["Jing Li"])
    # A particle alone is no surname.
    assert not local_part_matches_name("van@uni.example.edu", ["Ludwig van Beethoven"])
    assert local_part_matches_name("lvbeethoven@uni.example.edu", ["Ludwig van Beethoven"])


# --- the claim --------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["rmedina@uni.example.edu", "rossana.medina@cs.uni.example.edu"])
def test_an_address_that_looks_like_the_name_is_approved_at_l2(record, email):
    claim = services.claim_with_email(user=make_user(email), researcher=record)
    assert claim.status == Claim.Status.APPROVED
    record = refreshed(record)
    assert record.owner == claim.user and record.verification_level == VerificationLevel.L2


def test_an_alternative_name_counts(record):
    claim = services.claim_with_email(user=make_user("jnunez@uni.example.edu"), researcher=record)
    assert claim.status == Claim.Status.APPROVED


@pytest.mark.parametrize("email", ["jsmith@uni.example.edu", "info@uni.example.edu"])
def test_a_colleagues_address_waits_for_a_curator(record, email, mailoutbox):
    colleague = make_user(email)
    claim = services.claim_with_email(user=colleague, researcher=record)
    assert claim.status == Claim.Status.PENDING
    assert claim.method == Claim.Method.EMAIL_DOMAIN and not claim.is_dispute
    assert email in claim.evidence and "curator" in claim.evidence
    record = refreshed(record)
    assert record.owner is None and record.verification_level == VerificationLevel.L1
    assert mailoutbox == []


def test_a_matching_address_is_preferred_among_several(record):
    from allauth.account.models import EmailAddress

    user = make_user("office@uni.example.edu")
    EmailAddress.objects.create(user=user, email="r.medina@uni.example.edu", verified=True)
    claim = services.claim_with_email(user=user, researcher=record)
    assert claim.status == Claim.Status.APPROVED
    assert "r.medina@uni.example.edu" in claim.evidence


def test_the_claimant_is_told_a_curator_reviews_it(client, record):
    colleague = make_user("jsmith@uni.example.edu")
    client.force_login(colleague)
    response = client.post(reverse("claim_email", args=[record.pk]), follow=True)
    assert response.status_code == 200
    assert "does not look like the name" in response.content.decode()
    assert refreshed(record).owner is None


def test_a_curator_approves_a_reviewed_email_claim_at_l2(record):
    from bzpeer.curation import services as curation

    claim = services.claim_with_email(user=make_user("jsmith@uni.example.edu"), researcher=record)
    curator = make_user("curator@bzpeer.test", staff=True)
    curation.approve_claim(claim=claim, curator=curator, reason="Staff page lists her address.")
    record = refreshed(record)
    assert record.owner == claim.user and record.verification_level == VerificationLevel.L2


# --- the curators' audit list and the public trust breakdown --------------------------------


def test_every_email_domain_claim_is_in_the_audit_list_for_30_days(admin_client, record):
    approved = services.claim_with_email(
        user=make_user("rmedina@uni.example.edu"), researcher=record
    )
    other = ResearcherFactory(
        display_name="Jo Bloggs", last_known_institution=record.last_known_institution
    )
    pending = services.claim_with_email(user=make_user("dean@uni.example.edu"), researcher=other)
    old = Claim.objects.create(
        user=make_user("old@uni.example.edu"),
        researcher=ResearcherFactory(),
        method=Claim.Method.EMAIL_DOMAIN,
        status=Claim.Status.APPROVED,
    )
    Claim.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    Claim.objects.create(user=make_user("ev@home.test"), researcher=ResearcherFactory())

    changelist = reverse("admin:claims_claim_changelist")
    response = admin_client.get(changelist, {"email_audit": "30d"})
    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == {approved, pending}
    # The queue links to the list, with its size.
    page = admin_client.get(changelist).content.decode()
    assert "Institutional-email claims in the last 30 days: 2" in page
    assert "email_audit=30d" in page


def test_the_trust_breakdown_says_claimed_via_institutional_email(
    client, record, django_capture_on_commit_callbacks, queued_recomputes
):
    with django_capture_on_commit_callbacks(execute=True):
        owners.claim_with_email(user=make_user("rmedina@uni.example.edu"), researcher=record)
    recompute_trust(researcher_ids=[record.pk])  # what the queued task runs
    response = client.get(refreshed(record).get_absolute_url())
    assert response.status_code == 200
    assert "claimed via institutional email" in response.content.decode()
