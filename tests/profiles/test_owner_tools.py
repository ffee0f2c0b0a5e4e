"""Owner tools on one's own profile, through the test client: owner / other user /
anonymous, plain forms and HTMX, CSRF, and the profile's query budget with "not me"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bzpeer.curation.derived import refresh_researcher_counts
from claims.models import Claim, NotMeReport
from claims.services import accept_not_me, reject_not_me
from profiles.models import Researcher
from tests.builders import bulk_authorships, bulk_works
from tests.claims.helpers import make_user
from tests.factories import AuthorshipFactory, ResearcherFactory, WorkFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem_cache")]

HX = {"HX-Request": "true"}


@pytest.fixture
def owner():
    return make_user("owner@uni.test")


@pytest.fixture
def record(owner) -> Researcher:
    researcher = ResearcherFactory(display_name="Ada Lovelace", owner=owner, verification_level=2)
    for i in range(3):
        AuthorshipFactory(
            researcher=researcher, work=WorkFactory(title=f"Paper {i}", publication_year=2020 + i)
        )
    refresh_researcher_counts(researcher_ids=[researcher.pk])
    Claim.objects.create(user=owner, researcher=researcher, method="evidence", status="approved")
    researcher.refresh_from_db()
    return researcher


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def post_urls(record) -> dict[str, dict]:
    work = record.authorships.first().work
    return {
        reverse("owner_summary", args=[record.pk]): {"summary": "Hacked."},
        reverse("owner_collaboration", args=[record.pk]): {"open_to_collaborate": ""},
        reverse("owner_release", args=[record.pk]): {},
        reverse("owner_not_me", args=[record.pk, work.pk]): {"reason": "not mine"},
    }


def snapshot(record) -> tuple:
    record.refresh_from_db()
    return (
        record.summary,
        record.open_to_collaborate,
        record.owner_id,
        record.works_count,
        NotMeReport.objects.count(),
    )


# --- the owner ------------------------------------------------------------------------------


def test_owner_sees_owner_tools_on_their_profile(owner_client, record):
    html = owner_client.get(record.get_absolute_url()).content.decode()
    assert "You own this record." in html
    assert "Save summary" in html and "Save collaboration settings" in html
    assert "Review your works" in html and "Release the record of Ada Lovelace" in html
    assert "Your profile" in html and "You own this record" in html


def test_owner_edits_the_summary_as_plain_escaped_text(owner_client, record):
    response = owner_client.post(
        reverse("owner_summary", args=[record.pk]),
        {"summary": "<b>I study</b>\n\n<script>alert(1)</script> engines."},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{record.get_absolute_url()}#identity"
    record.refresh_from_db()
    assert record.summary == "<b>I study</b> <script>alert(1)</script> engines."
    html = owner_client.get(record.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;b&gt;I study&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt; engines." in html


def test_summary_edit_with_htmx_returns_the_panel_and_the_new_header(owner_client, record):
    response = owner_client.post(
        reverse("owner_summary", args=[record.pk]), {"summary": "I study engines."}, headers=HX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="identity-panel"') and "<html" not in html
    assert "Summary saved." in html
    assert '<p class="summary" id="profile-summary" hx-swap-oob="true">I study engines.' in html


def test_summary_has_a_maximum_length(owner_client, record):
    response = owner_client.post(
        reverse("owner_summary", args=[record.pk]), {"summary": "x" * 1001}, headers=HX
    )
    assert "at most 1000 characters" in response.content.decode()
    record.refresh_from_db()
    assert record.summary == ""


def test_an_over_long_summary_keeps_what_was_typed(owner_client, record):
    typed = "I study engines. " * 70  # about 1,190 characters
    response = owner_client.post(
        reverse("owner_summary", args=[record.pk]), {"summary": typed}, headers=HX
    )
    assert f">{typed}</textarea>" in response.content.decode()

    # Without JavaScript: redirected to the profile, where the draft waits once.
    response = owner_client.post(reverse("owner_summary", args=[record.pk]), {"summary": typed})
    assert response.status_code == 302
    page = owner_client.get(response["Location"]).content.decode()
    assert f">{typed}</textarea>" in page and "at most 1000 characters" in page
    again = owner_client.get(response["Location"]).content.decode()
    assert f">{typed}</textarea>" not in again
    record.refresh_from_db()
    assert record.summary == ""


def test_owner_sets_open_to_collaborate_with_kinds_and_end_date(owner_client, record):
    until = timezone.localdate() + timedelta(days=30)
    response = owner_client.post(
        reverse("owner_collaboration", args=[record.pk]),
        {
            "open_to_collaborate": "on",
            "kinds": ["reviewing", "data_code"],
            "open_until": until.isoformat(),
        },
        headers=HX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "You are open to collaborate." in html
    assert 'id="profile-chips" aria-label="Profile facts" hx-swap-oob="true"' in html
    assert "Open to collaborate: reviewing, data and code until" in html
    record.refresh_from_db()
    assert record.collaboration_kinds == ["reviewing", "data_code"]
    assert record.open_until == until


def test_owner_closes_collaboration_and_the_chip_goes(owner_client, record):
    owner_client.post(reverse("owner_collaboration", args=[record.pk]), {})
    record.refresh_from_db()
    assert record.open_to_collaborate is False
    html = owner_client.get(record.get_absolute_url()).content.decode()
    assert "chip-open" not in html
    assert "You are not open to collaborate" in html


def test_an_end_date_in_the_past_is_refused(owner_client, record):
    past = timezone.localdate() - timedelta(days=1)
    response = owner_client.post(
        reverse("owner_collaboration", args=[record.pk]),
        {"open_to_collaborate": "on", "open_until": past.isoformat()},
        follow=True,
    )
    assert "The end date is in the past." in response.content.decode()


def test_an_expired_end_date_closes_the_profile(client, record):
    Researcher.objects.filter(pk=record.pk).update(
        open_until=timezone.localdate() - timedelta(days=1)
    )
    html = client.get(record.get_absolute_url()).content.decode()
    assert "chip-open" not in html
    assert "not open to new collaborations right now" in html


def test_owner_releases_the_record(owner_client, record):
    response = owner_client.post(reverse("owner_release", args=[record.pk]), headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "You released the record of Ada Lovelace." in html
    assert "Unclaimed author" in html  # the trust badges, out of band
    record.refresh_from_db()
    assert record.owner is None and record.verification_level == 1


# --- not me -----------------------------------------------------------------------------------


def test_owner_marks_a_work_not_me_and_it_leaves_the_profile(owner_client, record):
    work = record.authorships.get(work__title="Paper 1").work
    page = owner_client.get(reverse("owner_works", args=[record.pk])).content.decode()
    assert "Paper 1" in page and "Not me" in page
    response = owner_client.post(
        reverse("owner_not_me", args=[record.pk, work.pk]),
        {"reason": "A namesake in chemistry."},
        headers=HX,
    )
    assert response.status_code == 200
    assert "off your profile until a curator decides" in response.content.decode()
    report = NotMeReport.objects.get()
    assert (report.work, report.user, report.status) == (work, record.owner, "pending")
    html = owner_client.get(record.get_absolute_url()).content.decode()
    assert "Paper 1" not in html and "Paper 0" in html
    assert "2 published items" in html
    record.refresh_from_db()
    assert record.works_count == 2
    fragment = owner_client.get(reverse("researcher_works", args=[record.pk]), headers=HX)
    assert "Paper 1" not in fragment.content.decode()


def test_a_rejected_report_brings_the_work_back_and_an_accepted_one_keeps_it_off(record):
    curator = make_user("curator@bzpeer.test", staff=True)
    works = [a.work for a in record.authorships.order_by("work__title")]
    from claims.services import report_not_me

    first = report_not_me(user=record.owner, researcher=record, work=works[0], reason="no")
    second = report_not_me(user=record.owner, researcher=record, work=works[1], reason="no")
    third = report_not_me(user=record.owner, researcher=record, work=works[2], reason="no")
    record.refresh_from_db()
    assert record.works_count == 0
    accept_not_me(report=second, reviewer=curator)
    record.refresh_from_db()
    assert record.works_count == 0  # the other reports still hold their works back
    reject_not_me(report=first, reviewer=curator, reason="Your ORCID lists it.")
    reject_not_me(report=third, reviewer=curator, reason="It is yours.")
    record.refresh_from_db()
    assert record.works_count == 2
    client = Client()
    html = client.get(record.get_absolute_url()).content.decode()
    assert "Paper 0" in html and "Paper 1" not in html
    assert not record.authorships.filter(work=works[1]).exists()
    # A re-import bringing the authorship back still keeps it off the profile.
    AuthorshipFactory(researcher=record, work=works[1])
    assert "Paper 1" not in client.get(record.get_absolute_url()).content.decode()


def test_not_me_reports_add_no_query_per_work(owner_client, record, query_budget):
    with query_budget("profile.owner"):
        assert owner_client.get(record.get_absolute_url()).status_code == 200
    for authorship in record.authorships.all()[:2]:
        NotMeReport.objects.create(
            researcher=record, work=authorship.work, user=record.owner, reason="no"
        )
    for _ in range(20):
        AuthorshipFactory(researcher=record)
    with query_budget("profile.owner"):
        assert owner_client.get(record.get_absolute_url()).status_code == 200


def test_owner_tools_query_budgets(owner_client, record, query_budget):
    works_url = reverse("owner_works", args=[record.pk])
    for more in (0, 30):
        bulk_authorships((work, [record]) for work in bulk_works(more))
        with query_budget("owner.works"):
            assert owner_client.get(works_url).status_code == 200
    work = record.authorships.first().work
    for budget, url, data in (
        ("owner.summary", reverse("owner_summary", args=[record.pk]), {"summary": "Engines."}),
        (
            "owner.collaboration",
            reverse("owner_collaboration", args=[record.pk]),
            {"open_to_collaborate": "on"},
        ),
        ("owner.not_me", reverse("owner_not_me", args=[record.pk, work.pk]), {"reason": "no"}),
        ("owner.release", reverse("owner_release", args=[record.pk]), {}),
    ):
        with query_budget(budget):
            response = owner_client.post(url, data, headers=HX)
        assert response.status_code == 200, budget


# --- other users, anonymous, CSRF -------------------------------------------------------------


def test_another_user_is_refused_and_nothing_changes(client, record):
    client.force_login(make_user("other@home.test"))
    before = snapshot(record)
    for url, data in post_urls(record).items():
        for headers in ({}, HX):
            assert client.post(url, data, headers=headers).status_code == 403
    assert client.get(reverse("owner_works", args=[record.pk])).status_code == 403
    assert snapshot(record) == before
    html = client.get(record.get_absolute_url()).content.decode()
    assert "Save summary" not in html and "This record has been claimed by its author." in html


def test_anonymous_users_are_sent_to_log_in(client, record):
    before = snapshot(record)
    login = reverse("account_login")
    for url, data in post_urls(record).items():
        response = client.post(url, data)
        assert response.status_code == 302 and response["Location"].startswith(login)
    response = client.get(reverse("owner_works", args=[record.pk]))
    assert response["Location"].startswith(login)
    assert snapshot(record) == before


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_owner_posts_without_csrf_token_are_refused(owner, record, headers):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)
    before = snapshot(record)
    for url, data in post_urls(record).items():
        assert csrf_client.post(url, data, headers=headers).status_code == 403
    assert snapshot(record) == before


def test_unknown_record_is_404(owner_client):
    assert owner_client.post(reverse("owner_summary", args=[999999]), {}).status_code == 404
