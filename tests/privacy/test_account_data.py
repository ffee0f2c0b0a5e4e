"""Your data, yours to take; leaving cleanly; the retention sweep."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection, models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bzpeer.accounts import KNOWN_DEVICE_MAX_AGE
from bzpeer.curation import owners
from bzpeer.curation import services as curation
from bzpeer.privacy import services as privacy
from bzpeer.privacy import tasks
from bzpeer.privacy.models import DataExport
from claims.models import Claim, HideRequest, NotMeReport
from profiles import invitations
from profiles import services as profile_services
from profiles.models import Follow, Invitation, Researcher
from tests.claims.helpers import connect_orcid, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem_cache")]

ZELDA = "zelda.leaving@engines.test"


@pytest.fixture
def zelda(world, curator):
    """An account with one of everything: an owned record (a claim approved by a curator,
    a summary edit), an ORCID login, a follow, invitations both ways (one accepted), a
    "not me" report, a hide request, a session."""
    user = make_user(ZELDA, password="pw-zelda-123")
    user.first_name, user.last_name = "Zelda", "Leaving"
    user.save()
    connect_orcid(user, "0000-0001-5109-3700")
    app = SocialApp.objects.create(provider="orcid", name="ORCID", client_id="x", secret="y")
    SocialToken.objects.create(app=app, account=SocialAccount.objects.get(user=user), token="t")
    claim = owners.claim_with_evidence(
        user=user, researcher=world.ada, statement="I am Ada Lovelace, these are my notes."
    )
    curation.approve_claim(claim=claim, curator=curator, reason=f"Mailed {ZELDA} to check.")
    world.ada.refresh_from_db()
    owners.update_summary(user=user, researcher=world.ada, summary="Zelda's own words.")
    profile_services.follow_researcher(user=user, researcher=world.bob)
    other = make_user("grace@navy.test")
    Researcher.objects.filter(pk=world.bob.pk).update(owner=other)
    world.bob.refresh_from_db()
    sent = invitations.send_invitation(
        sender=user, researcher=world.bob, subject="From Zelda", message="Shall we?"
    )
    invitations.accept_invitation(invitation=sent, user=other)
    invitations.send_invitation(
        sender=other, researcher=world.ada, subject="To Zelda", message="Review?"
    )
    owners.report_not_me(
        user=user, researcher=world.ada, work=world.works[0], reason="A namesake wrote it."
    )
    HideRequest.objects.create(
        researcher=world.cara,
        user=user,
        name="Zelda Leaving",
        email=ZELDA,
        scope=HideRequest.Scope.CORRECTION,
        message="Please fix the spelling.",
    )
    client = Client()
    client.force_login(user)
    user.client = client
    user.other = other
    return user


def run_export(client: Client, mailoutbox, capture) -> tuple[dict, str, list[str]]:
    with capture(execute=True) as callbacks:
        response = client.post(reverse("account_export"))
    assert response.status_code == 302
    export = DataExport.objects.get()
    assert export.status == DataExport.Status.QUEUED
    assert len(callbacks) == 1  # the task is queued after the commit
    # What the worker runs (the task function, not eager mode).
    with capture(execute=True):
        assert tasks.build_data_export.run(export.pk) == "ready"
        assert tasks.build_data_export.run(export.pk) == "ready"  # twice: no change
    links = re.findall(r"https?://\S+/me/privacy/export/\S+/", mailoutbox[-1].body)
    assert len(links) == 2
    paths = [re.sub(r"^https?://[^/]+", "", link) for link in links]
    json_response = client.get(paths[0])
    assert json_response.status_code == 200
    assert json_response["Cache-Control"] == "private, no-store"
    return json.loads(json_response.content), client.get(paths[1]).content.decode(), paths


def test_export_holds_each_kind_of_data_and_nothing_of_others(
    zelda, world, mailoutbox, django_capture_on_commit_callbacks
):
    data, html, _ = run_export(zelda.client, mailoutbox, django_capture_on_commit_callbacks)
    assert data["account"]["email"] == ZELDA
    assert [e["email"] for e in data["email_addresses"]] == [ZELDA]
    assert data["social_logins"][0]["uid"] == "0000-0001-5109-3700"
    assert data["profile"]["summary"] == "Zelda's own words."
    assert data["claims"][0]["evidence"] == "I am Ada Lovelace, these are my notes."
    assert [f["record"]["name"] for f in data["follows"]] == ["Bob Babbage"]
    assert [i["subject"] for i in data["invitations_sent"]] == ["From Zelda"]
    assert [i["subject"] for i in data["invitations_received"]] == ["To Zelda"]
    assert data["not_me_reports"][0]["reason"] == "A namesake wrote it."
    assert data["hide_requests"][0]["message"] == "Please fix the spelling."
    assert "notification_settings" in data
    # Nothing of the other account: not its email, not its username.
    text = json.dumps(data)
    assert "grace@navy.test" not in text and '"grace"' not in text
    assert "own words." in html and "grace@navy.test" not in html


def test_export_link_works_only_for_its_account_and_until_it_expires(
    zelda, mailoutbox, django_capture_on_commit_callbacks
):
    _, _, paths = run_export(zelda.client, mailoutbox, django_capture_on_commit_callbacks)
    other = Client()
    other.force_login(zelda.other)
    assert other.get(paths[0]).status_code == 403
    assert Client().get(paths[0]).status_code == 302  # sign in first
    DataExport.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert zelda.client.get(paths[0]).status_code == 403
    tampered = paths[0].replace("/json/", "/html/")[:-8] + "xxxxxxx/"
    assert zelda.client.get(tampered).status_code in (403, 404)


def user_relations() -> list[tuple[type[models.Model], str]]:
    """Every model field that points at the user model, found by walking the app registry."""
    user_model = get_user_model()
    found = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if (
                field.is_relation
                and field.concrete
                and field.related_model is user_model
                and not field.many_to_many
            ):
                found.append((model, field.attname))
    return found


def text_columns(model: type[models.Model]) -> list[str]:
    return [
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField | models.JSONField)
    ]


def assert_nothing_personal_left(user_id: int, needles: list[str]) -> None:
    assert not get_user_model().objects.filter(pk=user_id).exists()
    # No row anywhere still points at the account, except the audit trail's events,
    # which keep the fact of a decision (ids), never a name or an address.
    relations = user_relations()
    assert {(Follow, "user_id"), (Claim, "user_id"), (SocialAccount, "user_id")} <= set(relations)
    for model, column in relations:
        if model._meta.app_label in ("audit", "pghistory"):
            continue
        assert not model.objects.filter(**{column: user_id}).exists(), (model, column)
    # No text column of any table holds the email, the username or the name.
    for model in apps.get_models():
        for column in text_columns(model):
            for needle in needles:
                hits = model.objects.filter(**{f"{column}__icontains": needle})
                if isinstance(model._meta.get_field(column), models.JSONField):
                    hits = model.objects.extra(
                        where=[f'"{model._meta.get_field(column).column}"::text ILIKE %s'],
                        params=[f"%{needle}%"],
                    )
                assert not hits.exists(), (model.__name__, column, needle)


def test_deleting_the_account_ends_its_sessions_saved_before_they_named_their_user(
    django_capture_on_commit_callbacks,
):
    zelda, bystander = make_user(ZELDA), make_user("stays@home.test")
    browsers = {}
    for name, user in (("zelda", zelda), ("old", zelda), ("bystander", bystander)):
        browsers[name] = Client()
        browsers[name].force_login(user)
    keys = {name: browser.session.session_key for name, browser in browsers.items()}
    with connection.cursor() as cursor:  # as a session saved before the column existed
        cursor.execute(
            "UPDATE django_session SET user_id = NULL WHERE session_key IN (%s, %s)",
            [keys["old"], keys["bystander"]],
        )
    with django_capture_on_commit_callbacks(execute=True):
        browsers["zelda"].post(reverse("account_delete"), {"confirm": zelda.username})

    left = set(Session.objects.values_list("session_key", flat=True))
    assert keys["zelda"] not in left and keys["old"] not in left
    assert keys["bystander"] in left


def test_deleting_the_account_leaves_no_personal_data_in_any_table(
    zelda, world, django_capture_on_commit_callbacks
):
    user_id = zelda.pk
    session_key = zelda.client.session.session_key
    assert Session.objects.filter(session_key=session_key).exists()
    page = zelda.client.get(reverse("account_privacy"))
    assert "Delete my account" in page.content.decode()
    # The confirmation step: the wrong word does nothing.
    zelda.client.post(reverse("account_delete"), {"confirm": "yes"})
    assert get_user_model().objects.filter(pk=user_id).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = zelda.client.post(reverse("account_delete"), {"confirm": zelda.username})
    assert response.status_code == 302

    assert not Session.objects.filter(session_key=session_key).exists()
    assert_nothing_personal_left(user_id, [ZELDA, zelda.username, "Zelda Leaving"])

    # The record is unclaimed again, its claim history kept in the audit trail.
    world.ada.refresh_from_db()
    assert world.ada.owner_id is None
    assert apps.get_model("audit", "ClaimEvent").objects.filter(status="approved").exists()
    # Invitations withdrawn, the follow gone and recounted; the decided report still hides
    # the work (pending ones go), the hide request keeps its decision without the person.
    assert Invitation.objects.count() == 0
    world.bob.refresh_from_db()
    assert world.bob.followers_count == 0
    assert NotMeReport.objects.count() == 0
    assert HideRequest.objects.get().user_id is None


def test_deletion_keeps_a_decided_not_me_report_without_its_author(zelda, world, curator):
    report = NotMeReport.objects.get()
    curation.accept_not_me(report=report, curator=curator)
    privacy.delete_account(user=zelda, confirm=zelda.username)
    report.refresh_from_db()
    assert (report.status, report.user_id, report.reason) == ("accepted", None, "")


def test_retention_deletes_expired_exports_old_evidence_and_request_data(world, curator):
    user = make_user("old@engines.test")
    now = timezone.now()
    long_ago = now - timedelta(days=settings.PRIVACY_REQUEST_DATA_DAYS + 1)
    expired = DataExport.objects.create(user=user, expires_at=now - timedelta(minutes=1))
    fresh = DataExport.objects.create(user=user, expires_at=now + timedelta(days=1))
    rejected = Claim.objects.create(
        user=user,
        researcher=world.cara,
        method=Claim.Method.EVIDENCE,
        evidence="My passport number is ...",
        evidence_links=["https://example.org/me"],
        status=Claim.Status.REJECTED,
        decided_at=now - timedelta(days=settings.PRIVACY_REJECTED_EVIDENCE_DAYS + 1),
    )
    recent = Claim.objects.create(
        user=make_user("new@engines.test"),
        researcher=world.cara,
        method=Claim.Method.EVIDENCE,
        evidence="Recent",
        status=Claim.Status.REJECTED,
        decided_at=now,
    )
    old_request = HideRequest.objects.create(
        researcher=world.cara,
        name="Old",
        email="old@engines.test",
        scope="profile",
        message="Old message",
        status="rejected",
        decided_at=long_ago,
    )
    pending = HideRequest.objects.create(
        researcher=world.cara, name="New", email="new@e.test", scope="profile", message="New"
    )
    first = tasks.apply_retention.run()
    assert first == {"exports": 1, "rejected_evidence": 1, "request_data": 1}
    assert tasks.apply_retention.run() == {"exports": 0, "rejected_evidence": 0, "request_data": 0}
    assert list(DataExport.objects.all()) == [fresh]
    assert not DataExport.objects.filter(pk=expired.pk).exists()
    rejected.refresh_from_db()
    recent.refresh_from_db()
    assert (rejected.evidence, rejected.evidence_links, recent.evidence) == ("", [], "Recent")
    old_request.refresh_from_db()
    pending.refresh_from_db()
    assert (old_request.name, old_request.email, old_request.status) == ("", "", "rejected")
    assert pending.email == "new@e.test"


def test_retention_runs_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["privacy-retention"]
    assert entry["task"] == tasks.apply_retention.name
    assert entry["schedule"] == 24 * 60 * 60.0


def test_privacy_page_says_what_we_publish_and_keep(client):
    body = client.get(reverse("privacy")).content.decode()
    for words in [
        "What BZPEER publishes",
        "OpenAlex",
        "Request removal or hiding",
        f"{settings.PRIVACY_REJECTED_EVIDENCE_DAYS} days",
        f"{settings.PRIVACY_REQUEST_DATA_DAYS} days",
        "logs",
        "Cookies",
        f"signed; {KNOWN_DEVICE_MAX_AGE // 86400} days",
    ]:
        assert words in body, words
    assert EmailAddress.objects.count() == 0


def test_a_curator_deleting_the_account_in_the_admin_erases_the_same(zelda, world):
    admin = get_user_model().objects.create_superuser("root", "root@bzpeer.test", "pw-root-123")
    user_id = zelda.pk
    assert curation.delete_accounts(users=[zelda], curator=admin) >= 1
    assert_nothing_personal_left(user_id, [ZELDA, zelda.username, "Zelda Leaving"])
    world.ada.refresh_from_db()
    assert world.ada.owner_id is None
