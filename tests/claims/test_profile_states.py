"""The profile's chips, Trust snapshot and identity sections for each kind of visitor,
at a constant number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bzpeer.curation.derived import recompute_researchers, refresh_researcher_counts
from claims import services
from tests.claims.helpers import make_user
from tests.factories import AuthorshipFactory, ResearcherFactory, WorkFactory

pytestmark = pytest.mark.django_db

STATEMENT = "I am a lecturer at this university and wrote these papers."
# tests/profiles/test_profile_page.py: 5 anonymous, 8 logged in before identity; +1 for the
# viewer's identity state (claims.queries.viewer_state), whatever that state is; +1 for the
# public corrections list (profiles.queries.corrections); +2 for the works list's first
# authors and its filters (claims.listing.works_page, work_facets).
LOGGED_IN_BUDGET = 12


def make_record(n_works: int = 3, **kwargs):
    researcher = ResearcherFactory(**kwargs)
    for i in range(n_works):
        AuthorshipFactory(researcher=researcher, work=WorkFactory(doi=f"10.1/{researcher.pk}.{i}"))
    refresh_researcher_counts(researcher_ids=[researcher.pk])
    researcher.refresh_from_db()
    return researcher


def page(client, researcher) -> str:
    html = client.get(researcher.get_absolute_url()).content.decode()
    return html[html.index("<main") :]


def in_order(html: str, *texts: str) -> bool:
    positions = [html.index(text) for text in texts]
    return positions == sorted(positions)


def test_anonymous(client):
    html = page(client, make_record())
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
    record = make_record()
    html = page(client, record)
    assert f'href="/researchers/{record.pk}/claim/">Claim this profile</a>' in html
    assert "Log in to claim" not in html


def test_logged_in_without_a_confirmed_email(client):
    client.force_login(make_user("ada@home.test", verified=False))
    html = page(client, make_record())
    assert "Confirm your email address to claim this profile." in html
    assert "Claim this profile</a>" not in html


def test_claimant_with_a_pending_claim(client):
    user = make_user("ada@home.test")
    record = make_record()
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
    assert "You have a pending claim on" in page(client, make_record())


def test_owner(client):
    user = make_user("ada@home.test")
    record = make_record()
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
    other = page(client, make_record())
    assert "You own the record of" in other and "Claim this profile</a>" not in other


def test_visitor_of_a_claimed_profile(client):
    record = make_record(owner=make_user("ada@home.test"), verification_level=2)
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
    record = make_record()
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


def _count(client, researcher) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(researcher.get_absolute_url()).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("state", ["visitor", "claimant", "owner", "owner_of_another"])
def test_query_count_is_constant_in_every_state(client, state):
    user = make_user("ada@home.test")
    small, large = make_record(3), make_record(60)
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
            researcher=make_record(1) if state == "owner_of_another" else small,
            statement=STATEMENT,
        )
        services.approve_claim(claim=claim, reviewer=curator)
    client.force_login(user)
    counts = [_count(client, small), _count(client, large)]
    assert counts[0] == counts[1] <= LOGGED_IN_BUDGET, counts
