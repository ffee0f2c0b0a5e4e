"""No silent takeovers: a curator's approval carries what their page showed and is refused
when the record changed since; taking a record from its owner is its own action with a
reason; two curators approving competing claims at once leave one winner, a told loser and
one correct email per claimant."""

from __future__ import annotations

import threading

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from claims import services
from claims.models import Claim
from profiles.models import Researcher, VerificationLevel
from tests.claims.helpers import make_user
from tests.factories import ResearcherFactory
from tests.waiting import join_all, start_waiting_for_lock

CLAIMS = reverse("admin:claims_claim_changelist")
STATEMENT = "I am a lecturer at this university and wrote these papers."

# What the admin says once a decision is made (claims/admin.py ReviewQueueAdmin.decide).
APPROVED_ONE = (
    "Approved 1 claim. Each claimant becomes the owner of the record and is told by email."
)
TRANSFERRED_ONE = (
    "Transferred 1 claim. Each record moves from its owner to the disputing claimant; both are "
    "told by email, with the reason."
)


def open_decision(client: Client, action: str, claims: list[Claim]):
    """The first POST: the decision page, as the curator sees it."""
    page = client.post(
        CLAIMS, {"action": action, ACTION_CHECKBOX_NAME: [c.pk for c in claims], "index": 0}
    )
    assert page.status_code == 200
    assert page.templates[0].name == "admin/confirm_action.html"
    return page


def submit_decision(client: Client, page, **answers):
    """The second POST: the page's fields (hidden ones included) plus the curator's answers."""
    form = page.context["form"]
    data = {
        "action": page.context["action"],
        ACTION_CHECKBOX_NAME: page.context["selected"],
        "apply": "1",
        **{f.html_name: f.value() for f in form.hidden_fields()},
        **answers,
    }
    return client.post(CLAIMS, data)


def shown_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def curator_client(email: str) -> Client:
    client = Client()
    client.force_login(make_user(email, staff=True))
    return client


def evidence_claim(email: str, record: Researcher) -> Claim:
    return services.claim_with_evidence(
        user=make_user(email), researcher=record, statement=STATEMENT
    )


def refreshed(obj):
    obj.refresh_from_db()
    return obj


@pytest.mark.django_db
def test_an_approval_is_refused_when_the_record_changed_since_the_page(
    mailoutbox, django_capture_on_commit_callbacks
):
    record = ResearcherFactory(display_name="Disputed Person")
    first = evidence_claim("first@home.test", record)
    second = evidence_claim("second@home.test", record)
    alice, bob = curator_client("alice@bzpeer.test"), curator_client("bob@bzpeer.test")

    alices_page = open_decision(alice, "approve", [first])
    with django_capture_on_commit_callbacks(execute=True):
        bobs = submit_decision(bob, open_decision(bob, "approve", [second]), reason="Checked.")
    assert shown_messages(bobs) == [APPROVED_ONE]
    with django_capture_on_commit_callbacks(execute=True):
        alices = submit_decision(alice, alices_page, reason="Looks right.")

    [message] = shown_messages(alices)
    assert message.startswith("Not approved: ")
    assert "changed since you opened the decision page" in message
    assert "it now belongs to second" in message and "approved by bob" in message
    assert refreshed(record).owner == second.user
    assert refreshed(first).status == Claim.Status.PENDING and first.is_dispute
    assert refreshed(second).status == Claim.Status.APPROVED and second.reviewer.username == "bob"
    # One email each, each one right: no "approved" then "rejected".
    by_person = {m.to[0]: m.subject for m in mailoutbox}
    assert len(mailoutbox) == 2
    assert "approved" in by_person["second@home.test"]
    assert "now has an owner" in by_person["first@home.test"]


@pytest.mark.django_db
def test_a_page_without_what_it_showed_decides_nothing():
    claim = evidence_claim("first@home.test", ResearcherFactory())
    alice = curator_client("alice@bzpeer.test")
    page = open_decision(alice, "approve", [claim])
    response = submit_decision(alice, page, seen="")
    assert response.status_code == 200
    assert "out of date" in str(response.context["form"].errors)
    assert refreshed(claim).status == Claim.Status.PENDING


@pytest.mark.django_db
def test_approving_a_claim_on_an_owned_record_is_refused_and_names_the_transfer():
    owner = make_user("owner@home.test")
    record = ResearcherFactory(owner=owner, verification_level=VerificationLevel.L2)
    Claim.objects.create(user=owner, researcher=record, method="evidence", status="approved")
    dispute = evidence_claim("rival@home.test", record)
    assert dispute.is_dispute
    alice = curator_client("alice@bzpeer.test")

    response = submit_decision(alice, open_decision(alice, "approve", [dispute]))

    [message] = shown_messages(response)
    assert "belongs to owner" in message and "Transfer the record" in message
    assert refreshed(record).owner == owner
    assert refreshed(dispute).status == Claim.Status.PENDING


@pytest.mark.django_db
def test_transferring_a_record_needs_a_reason_and_tells_both_people(
    mailoutbox, django_capture_on_commit_callbacks
):
    owner = make_user("owner@home.test")
    record = ResearcherFactory(owner=owner, verification_level=VerificationLevel.L2)
    earlier = Claim.objects.create(
        user=owner, researcher=record, method="evidence", status="approved"
    )
    dispute = evidence_claim("rival@home.test", record)
    alice = curator_client("alice@bzpeer.test")
    page = open_decision(alice, "transfer", [dispute])
    html = page.content.decode()
    assert "owner" in html and "Record owner" in html  # the page shows whom it takes from

    again = submit_decision(alice, page, reason="")
    assert again.context["form"].errors == {"reason": ["This field is required."]}
    with django_capture_on_commit_callbacks(execute=True):
        done = submit_decision(alice, page, reason="Her staff page and her ORCID record.")

    assert shown_messages(done) == [TRANSFERRED_ONE]
    record = refreshed(record)
    assert record.owner == dispute.user and record.verification_level == VerificationLevel.L2
    earlier = refreshed(earlier)
    assert earlier.status == Claim.Status.REJECTED
    assert "Her staff page and her ORCID record." in earlier.reason
    assert sorted((m.to[0], "approved" in m.subject) for m in mailoutbox) == [
        ("owner@home.test", False),
        ("rival@home.test", True),
    ]


@pytest.mark.django_db
def test_a_transfer_is_refused_when_the_owner_changed_since_the_page():
    owner = make_user("owner@home.test")
    record = ResearcherFactory(owner=owner, verification_level=VerificationLevel.L2)
    Claim.objects.create(user=owner, researcher=record, method="evidence", status="approved")
    dispute = evidence_claim("rival@home.test", record)
    alice = curator_client("alice@bzpeer.test")
    page = open_decision(alice, "transfer", [dispute])
    services.release_record(user=owner, researcher=record)  # meanwhile, the owner lets go

    [message] = shown_messages(submit_decision(alice, page, reason="The real author."))

    assert "Not transferred: " in message and "changed since you opened" in message
    assert refreshed(record).owner is None
    assert refreshed(dispute).status == Claim.Status.PENDING


# --- two curators at the same moment (real transactions, threads) ---------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_of_competing_claims_leave_one_winner(mailoutbox):
    record = ResearcherFactory(display_name="Contested Person")
    claims = [evidence_claim("first@home.test", record), evidence_claim("second@home.test", record)]
    # Superusers: a transactional test empties the Curators group the migration made.
    curators = []
    for name in ("alice", "bob"):
        client = Client()
        client.force_login(_superuser(f"{name}@bzpeer.test"))
        curators.append(client)
    pages = [
        open_decision(c, "approve", [claim]) for c, claim in zip(curators, claims, strict=True)
    ]
    responses: list = [None, None]

    def approve(i: int) -> None:
        try:
            responses[i] = submit_decision(curators[i], pages[i], reason="Checked.")
        except BaseException as exc:  # shown by the assertions
            responses[i] = exc
            raise
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(2)]
    # Hold the record's row lock until both approvals wait on it: they then really race.
    with transaction.atomic():
        Researcher.objects.select_for_update().get(pk=record.pk)
        start_waiting_for_lock(threads)
    join_all(threads)

    said = [shown_messages(r) for r in responses]
    winners = [i for i in range(2) if said[i] == [APPROVED_ONE]]
    assert len(winners) == 1, said
    winner, loser = winners[0], 1 - winners[0]
    [refusal] = said[loser]
    assert refusal.startswith("Not approved: ") and "changed since you opened" in refusal
    assert f"it now belongs to {claims[winner].user}" in refusal

    record.refresh_from_db()
    assert record.owner_id == claims[winner].user_id
    statuses = {c.pk: (c.status, c.is_dispute) for c in Claim.objects.all()}
    assert statuses[claims[winner].pk] == ("approved", False)
    assert statuses[claims[loser].pk] == ("pending", True)
    # Each claimant: exactly one email, the right one.
    assert sorted(m.to[0] for m in mail.outbox) == ["first@home.test", "second@home.test"]
    subject = {m.to[0]: m.subject for m in mail.outbox}
    assert "approved" in subject[claims[winner].user.email]
    assert "now has an owner" in subject[claims[loser].user.email]


def _superuser(email: str):
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser(
        username=email.split("@")[0], email=email, password="pw-curator-123"
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user
