from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, NotMeReport
from profiles.models import VerificationLevel
from tests.factories import AuthorshipFactory, ResearcherFactory, UserFactory, WorkFactory
from works.models import Authorship

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:claims_claim_changelist")


def make_claim(*, age_days: int, **fields) -> Claim:
    fields.setdefault("user", UserFactory())
    fields.setdefault("researcher", ResearcherFactory())
    fields.setdefault("method", Claim.Method.EVIDENCE)
    claim = Claim.objects.create(**fields)
    # created_at is auto_now_add: backdate it with an update.
    Claim.objects.filter(pk=claim.pk).update(created_at=timezone.now() - timedelta(days=age_days))
    return claim


def listed(admin_client, **params) -> list[Claim]:
    response = admin_client.get(CHANGELIST, params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def queue():
    return {
        "old_approved": make_claim(age_days=30, status=Claim.Status.APPROVED),
        "old_pending": make_claim(age_days=20, is_dispute=True),
        "new_rejected": make_claim(age_days=1, status=Claim.Status.REJECTED),
        "new_pending": make_claim(age_days=2, method=Claim.Method.ORCID),
    }


def test_claims_list_pending_first_then_oldest_first(admin_client, queue):
    assert listed(admin_client) == [
        queue["old_pending"],
        queue["new_pending"],
        queue["old_approved"],
        queue["new_rejected"],
    ]


def test_clicking_a_column_still_sorts_by_it(admin_client, queue):
    # Column 6 is created_at; "-6" sorts newest first, overriding the queue order.
    assert listed(admin_client, o="-6")[0] == queue["new_rejected"]


def test_claim_filters(admin_client, queue):
    assert set(listed(admin_client, status__exact="pending")) == {
        queue["old_pending"],
        queue["new_pending"],
    }
    assert listed(admin_client, method__exact="orcid") == [queue["new_pending"]]
    assert listed(admin_client, is_dispute__exact="1") == [queue["old_pending"]]
    researcher = queue["old_approved"].researcher
    assert listed(admin_client, researcher=researcher.pk) == [queue["old_approved"]]


def test_claim_search_by_researcher_name(admin_client):
    mine = make_claim(age_days=1, researcher=ResearcherFactory(display_name="Grace Hopper"))
    make_claim(age_days=1)
    assert listed(admin_client, q="hopper") == [mine]


def test_claim_change_page_is_a_read_only_view(admin_client):
    claim = make_claim(age_days=1, evidence_links=["https://example.org/cv"])
    url = reverse("admin:claims_claim_change", args=[claim.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "https://example.org/cv" in body
    assert 'name="_save"' not in body
    assert admin_client.post(url, {"status": "approved"}).status_code == 403
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PENDING
    # Claims are filed through the site's flows, not typed in by curators.
    assert admin_client.get(reverse("admin:claims_claim_add")).status_code == 403


def run_action(admin_client, url: str, action: str, rows, **form) -> object:
    """Select rows and pick the action (first POST), then answer its page (second POST)."""
    selected = [row.pk for row in rows]
    first = admin_client.post(url, {"action": action, ACTION_CHECKBOX_NAME: selected, "index": 0})
    assert first.status_code == 200
    assert first.templates[0].name == "admin/confirm_action.html"
    # The page's hidden fields go back with the answer, as a browser sends them.
    hidden = {f.html_name: f.value() for f in first.context["form"].hidden_fields()}
    return admin_client.post(
        url, {"action": action, ACTION_CHECKBOX_NAME: selected, "apply": "1", **hidden, **form}
    )


def test_approving_a_claim_goes_through_the_service(admin_client, admin_user):
    claim = make_claim(age_days=3)
    response = run_action(admin_client, CHANGELIST, "approve", [claim], reason="Looks right")
    assert response.status_code == 302
    claim.refresh_from_db()
    assert (claim.status, claim.reviewer, claim.reason) == ("approved", admin_user, "Looks right")
    record = claim.researcher
    record.refresh_from_db()
    assert record.owner_id == claim.user_id  # ownership moved with the decision
    assert record.verification_level == VerificationLevel.L2


def test_rejecting_needs_a_reason(admin_client):
    claim = make_claim(age_days=3)
    response = run_action(admin_client, CHANGELIST, "reject", [claim], reason="")
    assert response.status_code == 200  # the page again, with the form's error
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PENDING

    response = run_action(admin_client, CHANGELIST, "reject", [claim], reason="Another Ada")
    assert response.status_code == 302
    claim.refresh_from_db()
    assert (claim.status, claim.reason) == ("rejected", "Another Ada")


def test_a_refused_decision_is_reported_and_the_rest_goes_on(admin_client):
    decided = make_claim(age_days=5, status=Claim.Status.REJECTED)
    pending = make_claim(age_days=4)
    response = run_action(admin_client, CHANGELIST, "approve", [decided, pending])
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown[0] == (
        "Approved 1 claim. Each claimant becomes the owner of the record and is told by email."
    )
    assert shown[1].startswith("Not approved: ") and "Only a pending claim" in shown[1]
    decided.refresh_from_db()
    assert decided.status == Claim.Status.REJECTED


def test_user_autocomplete_answers(admin_client):
    UserFactory(username="curator-jo")
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "claims", "model_name": "claim", "field_name": "reviewer", "term": "jo"},
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["curator-jo"]


def test_not_me_reports_list_pending_first_and_pages_load(admin_client):
    owner = UserFactory()
    researcher = ResearcherFactory(owner=owner)
    decided = NotMeReport.objects.create(
        researcher=researcher, work=WorkFactory(), user=owner, reason="no", status="rejected"
    )
    pending = NotMeReport.objects.create(
        researcher=researcher, work=WorkFactory(), user=owner, reason="not mine"
    )
    url = reverse("admin:claims_notmereport_changelist")
    response = admin_client.get(url)
    assert list(response.context["cl"].result_list) == [pending, decided]
    assert list(admin_client.get(url, {"status__exact": "rejected"}).context["cl"].result_list) == [
        decided
    ]
    change = reverse("admin:claims_notmereport_change", args=[pending.pk])
    assert admin_client.get(change).status_code == 200


@pytest.fixture
def reported():
    owner = UserFactory()
    researcher = ResearcherFactory(owner=owner, works_count=2)
    work = WorkFactory()
    AuthorshipFactory(researcher=researcher, work=work)
    return NotMeReport.objects.create(researcher=researcher, work=work, user=owner, reason="no")


def test_accepting_a_not_me_report_removes_the_authorship(admin_client, reported):
    url = reverse("admin:claims_notmereport_changelist")
    response = run_action(admin_client, url, "accept", [reported])
    assert response.status_code == 302
    reported.refresh_from_db()
    assert reported.status == NotMeReport.Status.ACCEPTED
    assert not Authorship.objects.filter(researcher=reported.researcher).exists()


def test_rejecting_a_not_me_report_needs_a_reason(admin_client, reported):
    url = reverse("admin:claims_notmereport_changelist")
    assert run_action(admin_client, url, "reject", [reported]).status_code == 200
    response = run_action(admin_client, url, "reject", [reported], reason="It is yours")
    assert response.status_code == 302
    reported.refresh_from_db()
    assert (reported.status, reported.decision_reason) == ("rejected", "It is yours")


def test_a_claim_reads_as_who_claims_what(admin_client):
    claim = make_claim(age_days=1)
    assert str(claim) == f"Claim by {claim.user} to {claim.researcher.display_name} (Pending)"
    assert str(claim.pk) not in str(claim)


def test_the_approve_confirmation_says_what_will_happen_before_anything_did(admin_client):
    claim = make_claim(age_days=3)
    response = admin_client.post(
        CHANGELIST, {"action": "approve", ACTION_CHECKBOX_NAME: [claim.pk]}
    )
    html = response.content.decode()
    assert "Approve 1 claim?" in html
    assert "Nothing has changed yet. Each claimant becomes the owner of the record" in html
    assert 'value="Approve 1 claim"' in html
    assert "Approved" not in html.split('id="content"')[1]
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PENDING
