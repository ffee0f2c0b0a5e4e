"""Claim pages through the test client: personas claimant / other user / anonymous."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from claims import services
from claims.models import Claim
from claims.views import CLAIMS_PER_DAY
from tests.claims.helpers import connect_orcid, make_user
from tests.factories import InstitutionFactory, ResearcherFactory

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
ORCID = "0000-0001-2345-6789"
STATEMENT = "I am a lecturer at this university and wrote these papers."


@pytest.fixture
def record():
    institution = InstitutionFactory(homepage_url="https://www.uni.example.edu/")
    return ResearcherFactory(
        display_name="Ada Lovelace", orcid=ORCID, last_known_institution=institution
    )


@pytest.fixture
def claimant():
    return make_user("ada@home.test")


@pytest.fixture
def claimant_client(client, claimant):
    client.force_login(claimant)
    return client


def evidence(**extra):
    return {"statement": STATEMENT, "links": "https://uni.example.edu/ada", **extra}


def claim_urls(record) -> list[str]:
    return [
        reverse("claim_orcid", args=[record.pk]),
        reverse("claim_email", args=[record.pk]),
        reverse("claim_evidence", args=[record.pk]),
    ]


# --- anonymous ------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client, record):
    login = reverse("account_login")
    for url in [reverse("claim_start", args=[record.pk]), reverse("my_claims")]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{login}?next=")
    for url in [*claim_urls(record), reverse("claim_withdraw", args=[1])]:
        response = client.post(url, evidence())
        assert response.status_code == 302 and response["Location"].startswith(login)
    assert not Claim.objects.exists()


# --- the claim page -------------------------------------------------------------------------


def test_claim_page_offers_the_methods_this_user_can_use(client, record):
    user = make_user("ada@cs.uni.example.edu")
    connect_orcid(user, ORCID)
    client.force_login(user)
    html = client.get(reverse("claim_start", args=[record.pk])).content.decode()
    assert f"Claim with ORCID {ORCID}" in html
    assert "Claim with ada@cs.uni.example.edu" in html
    assert "Send my claim for review" in html


def test_claim_page_explains_what_is_missing(claimant_client, record):
    html = claimant_client.get(reverse("claim_start", args=[record.pk])).content.decode()
    assert "Claim with ORCID" not in html
    assert "an iD typed by hand does not count" in html
    assert "Add and confirm an address at uni.example.edu" in html


def test_claim_pages_query_budgets(client, record, query_budget):
    user = make_user("ada@cs.uni.example.edu")
    connect_orcid(user, ORCID)
    client.force_login(user)
    for headers, budget in (({}, "claims.start"), (HX, "claims.start_fragment")):
        with query_budget(budget):
            response = client.get(reverse("claim_start", args=[record.pk]), headers=headers)
        assert response.status_code == 200
    # My claims: the same count with one claim (pending) or three (two decided before).
    services.claim_with_evidence(user=user, researcher=record, statement=STATEMENT)
    for more in (0, 2):
        for _ in range(more):
            Claim.objects.create(
                user=user, researcher=ResearcherFactory(), method="evidence", status="rejected"
            )
        with query_budget("claims.mine"):
            response = client.get(reverse("my_claims"))
        assert response.status_code == 200
        assert "Ada Lovelace" in response.content.decode()


def test_claim_actions_query_budgets(claimant_client, record, query_budget):
    with query_budget("claims.refused_fragment"):  # an ORCID claim without a connected iD
        response = claimant_client.post(reverse("claim_orcid", args=[record.pk]), headers=HX)
    assert response.status_code == 200
    with query_budget("claims.evidence_fragment"):
        response = claimant_client.post(
            reverse("claim_evidence", args=[record.pk]), evidence(), headers=HX
        )
    assert response.status_code == 200
    claim = Claim.objects.get()
    with query_budget("claims.withdraw_fragment"):
        response = claimant_client.post(reverse("claim_withdraw", args=[claim.pk]), headers=HX)
    assert response.status_code == 200


def test_unconfirmed_email_gets_a_clear_message_and_no_claim(client, record):
    user = make_user("new@home.test", verified=False)
    client.force_login(user)
    html = client.get(reverse("claim_start", args=[record.pk])).content.decode()
    assert "Confirm your email address before claiming a record." in html
    response = client.post(reverse("claim_evidence", args=[record.pk]), evidence(), follow=True)
    assert "Confirm your email address first" in response.content.decode()
    assert not Claim.objects.exists()


def test_evidence_claim_plain_form_redirects_to_my_claims(claimant_client, claimant, record):
    response = claimant_client.post(reverse("claim_evidence", args=[record.pk]), evidence())
    assert response.status_code == 302 and response["Location"] == reverse("my_claims")
    claim = Claim.objects.get()
    assert (claim.user, claim.status, claim.evidence_links) == (
        claimant,
        "pending",
        ["https://uni.example.edu/ada"],
    )
    html = claimant_client.get(reverse("my_claims")).content.decode()
    assert "Ada Lovelace" in html and "Pending" in html and "Withdraw this claim" in html


def test_evidence_claim_htmx_returns_the_result_partial(claimant_client, record):
    response = claimant_client.post(
        reverse("claim_evidence", args=[record.pk]), evidence(), headers=HX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="claim-panel"') and "<html" not in html
    assert "waiting for a curator" in html


def test_invalid_evidence_shows_the_form_errors(claimant_client, record):
    response = claimant_client.post(
        reverse("claim_evidence", args=[record.pk]),
        {"statement": "me", "links": "not a url"},
        headers=HX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ensure this value has at least 20 characters" in html
    assert "Line 1 is not a web address: not a url" in html
    assert not Claim.objects.exists()


def test_evidence_names_every_bad_link_and_keeps_what_was_typed(claimant_client, record):
    statement = "I am the author; see my staff page and my publication list."
    links = "https://uni.example.org/staff/ada\nftp://old.example.org\nhttps://ok.example.org\nnope"
    response = claimant_client.post(
        reverse("claim_evidence", args=[record.pk]),
        {"statement": statement, "links": links},
        headers=HX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Line 2 is not a web address: ftp://old.example.org" in html
    assert "Line 4 is not a web address: nope" in html
    assert "Line 1 " not in html and "Line 3 " not in html
    assert statement in html and "https://ok.example.org" in html
    assert not Claim.objects.exists()


def test_orcid_claim_through_the_page_gives_l3(client, record):
    user = make_user("sofia@anywhere.test")
    connect_orcid(user, ORCID)
    client.force_login(user)
    response = client.post(reverse("claim_orcid", args=[record.pk]))
    assert response["Location"] == record.get_absolute_url()
    record.refresh_from_db()
    assert record.owner == user and record.verification_level == 3
    html = client.get(record.get_absolute_url()).content.decode()
    assert "Claimed author" in html and "Verification L3" in html


def test_a_refused_claim_says_why(claimant_client, record):
    response = claimant_client.post(reverse("claim_orcid", args=[record.pk]), headers=HX)
    assert response.status_code == 200
    assert "typed by hand does not count" in response.content.decode()
    response = claimant_client.post(reverse("claim_orcid", args=[record.pk]), follow=True)
    assert "typed by hand does not count" in response.content.decode()


def test_claims_are_rate_limited(claimant_client, record, redis_rate_limits):
    # On the real Redis cache, where the windows live in production.
    url = reverse("claim_orcid", args=[record.pk])  # refused each time, but counted
    for _ in range(CLAIMS_PER_DAY):
        assert claimant_client.post(url, headers=HX).status_code == 200
    response = claimant_client.post(url, headers=HX)
    assert response.status_code == 429
    assert "daily limit" in response.content.decode()
    response = claimant_client.post(reverse("claim_evidence", args=[record.pk]), evidence())
    assert response.status_code == 302
    assert "daily limit" in claimant_client.get(response["Location"]).content.decode()
    assert not Claim.objects.exists()


def test_get_is_not_allowed_on_claim_actions(claimant_client, record):
    for url in claim_urls(record):
        assert claimant_client.get(url).status_code == 405


# --- withdraw -------------------------------------------------------------------------------


def test_another_user_cannot_see_or_withdraw_a_claim(client, claimant, record):
    claim = services.claim_with_evidence(user=claimant, researcher=record, statement=STATEMENT)
    client.force_login(make_user("other@home.test"))
    for headers in ({}, HX):
        response = client.post(reverse("claim_withdraw", args=[claim.pk]), headers=headers)
        assert response.status_code == 404
    claim.refresh_from_db()
    assert claim.status == "pending"
    assert "Ada Lovelace" not in client.get(reverse("my_claims")).content.decode()


def test_claimant_withdraws_with_htmx(claimant_client, claimant, record):
    claim = services.claim_with_evidence(user=claimant, researcher=record, statement=STATEMENT)
    response = claimant_client.post(reverse("claim_withdraw", args=[claim.pk]), headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li class="claim-row" id="claim-{claim.pk}"')
    assert "Withdrawn" in html and "Withdrawn by the claimant." in html
    claim.refresh_from_db()
    assert claim.status == "withdrawn"


def test_my_claims_shows_the_decision_and_reason(claimant_client, claimant, record):
    claim = services.claim_with_evidence(user=claimant, researcher=record, statement=STATEMENT)
    curator = make_user("curator@bzpeer.test", staff=True)
    services.reject_claim(claim=claim, reviewer=curator, reason="Links name someone else.")
    html = claimant_client.get(reverse("my_claims")).content.decode()
    assert "Rejected" in html and "Reason: Links name someone else." in html
    assert "Withdraw this claim" not in html


# --- CSRF -----------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_posts_without_csrf_token_are_refused(claimant, record, headers):
    claim = services.claim_with_evidence(
        user=make_user("b@home.test"), researcher=ResearcherFactory(), statement=STATEMENT
    )
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(claimant)
    for url in [*claim_urls(record), reverse("claim_withdraw", args=[claim.pk])]:
        assert csrf_client.post(url, evidence(), headers=headers).status_code == 403
    assert Claim.objects.count() == 1


def test_anonymous_htmx_requests_get_a_client_redirect_to_log_in(client, record):
    page = f"http://testserver{record.get_absolute_url()}"
    response = client.post(
        reverse("claim_evidence", args=[record.pk]),
        evidence(),
        headers={**HX, "HX-Current-URL": page},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == (
        f"{reverse('account_login')}?next={record.get_absolute_url().replace('/', '%2F')}"
    )
    assert not Claim.objects.exists()
