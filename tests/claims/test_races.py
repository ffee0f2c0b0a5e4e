"""Claims racing for one record, or one user racing for two records (real transactions)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from claims import services
from claims.models import Claim
from tests.claims.helpers import make_user
from tests.factories import InstitutionFactory, ResearcherFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*calls) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_verified_claims_on_one_record_leave_one_owner_and_one_dispute():
    institution = InstitutionFactory(homepage_url="https://uni.example.edu")
    record = ResearcherFactory(display_name="Ada Lovelace", last_known_institution=institution)
    a, b = make_user("alovelace@uni.example.edu"), make_user("ada.lovelace@uni.example.edu")
    results = run_together(
        lambda: services.claim_with_email(user=a, researcher=record),
        lambda: services.claim_with_email(user=b, researcher=record),
    )
    assert all(isinstance(r, Claim) for r in results), results
    record.refresh_from_db()
    assert record.owner in (a, b)
    statuses = sorted((c.status, c.is_dispute) for c in Claim.objects.all())
    assert statuses == [("approved", False), ("pending", True)]


def test_one_user_racing_for_two_records_gets_one():
    institution = InstitutionFactory(homepage_url="https://uni.example.edu")
    first, second = (
        ResearcherFactory(display_name="Ada Lovelace", last_known_institution=institution)
        for _ in range(2)
    )
    user = make_user("alovelace@uni.example.edu")
    results = run_together(
        lambda: services.claim_with_email(user=user, researcher=first),
        lambda: services.claim_with_email(user=user, researcher=second),
    )
    assert sorted(type(r).__name__ for r in results) == ["Claim", "ClaimError"], results
    assert Claim.objects.filter(status="approved").count() == 1
