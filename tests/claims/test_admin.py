from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, NotMeReport
from tests.factories import ResearcherFactory, UserFactory, WorkFactory

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


def test_claim_change_and_add_pages_load(admin_client):
    claim = make_claim(age_days=1, evidence_links=["https://example.org/cv"])
    response = admin_client.get(reverse("admin:claims_claim_change", args=[claim.pk]))
    assert response.status_code == 200
    assert "https://example.org/cv" in response.content.decode()
    assert admin_client.get(reverse("admin:claims_claim_add")).status_code == 200


def test_reviewer_autocomplete(admin_client):
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
