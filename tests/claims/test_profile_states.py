"""The profile's chips, Trust snapshot and identity sections for each kind of visitor,
at a constant number of queries."""

from __future__ import annotations

import pytest

from bzpeer.curation.derived import recompute_researchers
from claims import services
from tests.builders import researcher_with_works
from tests.claims.helpers import make_user

pytestmark = pytest.mark.django_db

STATEMENT = "I am a lecturer at this university and wrote these papers."


def page(client, researcher) -> str:
    html = client.get(researcher.get_absolute_url()).content.decode()
    return html[html.index("<main") :]


def in_order(html: str, *texts: str) -> bool:
    positions = [html.index(text) for text in texts]
    return positions == sorted(positions)


def test_anonymous(client):
    html = page(client, researcher_with_works())
    assert in_order(
        html,
        "Open to collaborate",
        "Verification L1",
        "Unclaimed author",
        "Log in to claim",
        "Claim this author entity first to unlock direct invitations.",
    )
    assert "Claim this profile" not in html


def test_logged_in_with_a_confirmed_email(client):
    client.force_login(make_user("ada@home.test"))
    record = researcher_with_works()
    html = page(client, record)
    assert f'href="/researchers/{record.pk}/claim/">Claim this profile</a>' in html
    assert "Log in to claim" not in html


def test_logged_in_without_a_confirmed_email(client):
    client.force_login(make_user("ada@home.test", verified=False))
    html = page(client, researcher_with_works())
    assert "Confirm your email address to claim this profile." in html
    assert "Claim this profile</a>" not in html


def test_claimant_with_a_pending_claim(client):
    user = make_user("ada@home.test")
    record = researcher_with_works()
    services.claim_with_evidence(user=user, researcher=record, statement=STATEMENT)
    client.force_login(user)
    html = page(client, record)
    assert in_order(
        html,
        "Your claim is pending</li>",
        "Unclaimed author",
        "Your claim is pending review</li>",
        "Your claim on this record is pending review",
    )
    # Another record shows that a claim is already waiting elsewhere.
    assert "You have a pending claim on" in page(client, researcher_with_works())


def test_owner(client):
    user = make_user("ada@home.test")
    record = researcher_with_works()
    claim = services.claim_with_evidence(user=user, researcher=record, statement=STATEMENT)
    services.approve_claim(claim=claim, reviewer=make_user("cur@bzpeer.test", staff=True))
    client.force_login(user)
    html = page(client, record)
    assert in_order(
        html,
        "Your profile",
        "Verification L2",
        "Claimed author",
        "You own this record",
        "Save summary",
        "You are open to collaborate: invitations to you arrive in your",
    )
    other = page(client, researcher_with_works())
    assert "You own the record of" in other and "Claim this profile</a>" not in other


def test_visitor_of_a_claimed_profile(client):
    record = researcher_with_works(owner=make_user("ada@home.test"), verification_level=2)
    client.force_login(make_user("grace@home.test"))
    html = page(client, record)
    assert in_order(
        html,
        "Claimed author",
        "This record has been claimed by its author.",
        "Dispute the claim",
        "This researcher is open to collaborate.",
        "Write an invitation",
    )
    assert "Save summary" not in html
    anonymous = page(client.__class__(), record)
    assert "This record has been claimed by its author." in anonymous
    assert "Log in to send an invitation" in anonymous


def test_the_decided_level_shows_at_once_and_trust_after_the_worker(client):
    user = make_user("ada@home.test")
    record = researcher_with_works()
    recompute_researchers(researcher_ids=[record.pk])
    record.refresh_from_db()
    before = record.trust_score
    claim = services.claim_with_evidence(user=user, researcher=record, statement=STATEMENT)
    services.approve_claim(claim=claim, reviewer=make_user("cur@bzpeer.test", staff=True))
    html = page(client, record)
    assert "Verification L2" in html and "Claimed author" in html
    recompute_researchers(researcher_ids=[record.pk])  # what the queued task runs
    record.refresh_from_db()
    assert record.trust_score > before
    assert f"Trust {record.trust_score} - {record.trust_band}" in page(client, record)


@pytest.mark.parametrize("state", ["visitor", "claimant", "owner", "owner_of_another"])
def test_query_count_is_constant_in_every_state(client, state, query_budget):
    user = make_user("ada@home.test")
    small, large = researcher_with_works(3), researcher_with_works(60)
    curator = make_user("cur@bzpeer.test", staff=True)
    for record in (small, large):
        if state == "visitor":
            record.owner = make_user(f"owner{record.pk}@home.test")
            record.save()
    if state == "claimant":
        services.claim_with_evidence(user=user, researcher=small, statement=STATEMENT)
    if state in ("owner", "owner_of_another"):
        claim = services.claim_with_evidence(
            user=user,
            researcher=researcher_with_works(1) if state == "owner_of_another" else small,
            statement=STATEMENT,
        )
        services.approve_claim(claim=claim, reviewer=curator)
    client.force_login(user)
    for record in (small, large):
        with query_budget(f"profile.{state}"):
            assert client.get(record.get_absolute_url()).status_code == 200
