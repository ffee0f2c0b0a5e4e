from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from profiles import digest
from profiles.models import DigestState, Follow, Researcher
from profiles.services import follow_researcher
from tests.factories import AuthorshipFactory, ResearcherFactory, UserFactory, WorkFactory
from tests.works.conftest import SEED, run_command

pytestmark = pytest.mark.django_db


def _follow(user, researcher, *, digest_on: bool = True):
    follow_researcher(user=user, researcher=researcher)
    if digest_on:
        assert digest.set_digest(user=user, researcher=researcher, enabled=True)


def _new_work(researcher, title: str, *, when=None):
    work = WorkFactory(title=title, first_imported_at=when or timezone.now())
    AuthorshipFactory(work=work, researcher=researcher)
    return work


def _start_window(user, when):
    DigestState.objects.filter(user=user).update(since=when)


def test_digest_needs_a_follow():
    assert not digest.set_digest(user=UserFactory(), researcher=ResearcherFactory(), enabled=True)
    assert not DigestState.objects.exists()


def test_one_email_per_follower_with_each_followed_researchers_new_works_then_none():
    ada, bob, quiet, unsubscribed = ResearcherFactory.create_batch(4)
    reader, other, no_digest = UserFactory.create_batch(3)
    for researcher in (ada, bob, quiet):
        _follow(reader, researcher)
    _follow(reader, unsubscribed, digest_on=False)
    _follow(other, bob)
    _follow(no_digest, ada, digest_on=False)
    start = timezone.now() - timedelta(days=7)
    DigestState.objects.update(since=start)
    _new_work(ada, "Old work", when=start - timedelta(days=1))  # before the window
    _new_work(ada, "Ada's new work")
    _new_work(bob, "Bob's new work")
    _new_work(unsubscribed, "Not asked for")

    assert digest.send_weekly_digests() == 2

    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert set(by_recipient) == {reader.email, other.email}
    body = by_recipient[reader.email].body
    assert "Ada's new work" in body and "Bob's new work" in body
    assert "Old work" not in body and "Not asked for" not in body
    assert quiet.display_name not in body  # no new works: left out
    assert by_recipient[reader.email].subject == (
        "[BZPEER] 2 new works from researchers you follow"
    )
    other_body = by_recipient[other.email].body
    assert "Bob's new work" in other_body and "Ada's new work" not in other_body
    assert by_recipient[reader.email].extra_headers["List-Unsubscribe-Post"] == (
        "List-Unsubscribe=One-Click"
    )

    # Twice in the same week: nothing is sent again, even with a newer work.
    _new_work(ada, "Newer still")
    assert digest.send_weekly_digests() == 0
    assert len(mail.outbox) == 2

    # A week on, only what came since the last digest.
    next_week = timezone.now() + timedelta(days=7)
    assert digest.send_weekly_digests(now=next_week) == 1
    body = mail.outbox[-1].body
    assert "Newer still" in body and "Ada's new work" not in body


def test_nothing_is_sent_without_new_works():
    user = UserFactory()
    _follow(user, ResearcherFactory())
    assert digest.send_weekly_digests(now=timezone.now() + timedelta(days=7)) == 0
    assert mail.outbox == []


def test_a_follower_gets_a_digest_of_works_from_a_real_import():
    # The researcher exists before their works are imported (a follower found them first).
    assert run_command(SEED / "authors.jsonl.gz").error is None
    le_scao = Researcher.objects.get(source_id="urn:bzpeer:seed:A1")
    user = UserFactory()
    _follow(user, le_scao)
    _start_window(user, timezone.now() - timedelta(seconds=1))

    assert run_command(SEED / "works.jsonl.gz").error is None
    assert digest.send_weekly_digests() == 1
    (message,) = mail.outbox
    titles = re.findall(r"^- (.+?)(?: \(\d{4}\))?(?:, .*)?$", message.body, re.M)
    assert len(titles) == 7
    assert any(title.startswith("Ministral 3") for title in titles)
    # Re-importing the same records adds nothing new.
    assert run_command(SEED / "works.jsonl.gz").error is None
    assert digest.send_weekly_digests(now=timezone.now() + timedelta(days=7)) == 0


def _unsubscribe_links(body: str) -> list[str]:
    return re.findall(rf"{re.escape(settings.SITE_URL)}(/digest/unsubscribe/[^\s]+)", body)


def test_signed_unsubscribe_link_works_without_signing_in(client):
    ada, bob = ResearcherFactory.create_batch(2)
    user = UserFactory()
    _follow(user, ada)
    _follow(user, bob)
    _start_window(user, timezone.now() - timedelta(days=1))
    _new_work(ada, "A")
    _new_work(bob, "B")
    digest.send_weekly_digests()
    ada_link, bob_link, all_link = _unsubscribe_links(mail.outbox[0].body)

    page = client.get(ada_link)  # a link scanner's GET changes nothing
    assert page.status_code == 200
    assert f"Stop the weekly digest email about {ada.display_name}?" in page.content.decode()
    assert Follow.objects.get(user=user, researcher=ada).email_digest

    response = client.post(ada_link)
    assert "You will get no more digest emails about" in response.content.decode()
    assert not Follow.objects.get(user=user, researcher=ada).email_digest
    assert Follow.objects.get(user=user, researcher=bob).email_digest

    client.post(all_link)
    assert not Follow.objects.filter(user=user, email_digest=True).exists()
    assert Follow.objects.filter(user=user).count() == 2  # still following


def test_tampered_unsubscribe_link_fails(client):
    user = UserFactory()
    researcher = ResearcherFactory()
    _follow(user, researcher)
    token = digest.unsubscribe_token(user_id=user.pk, researcher_id=researcher.pk)
    forged = digest.unsubscribe_token(user_id=user.pk + 1, researcher_id=None)
    tampered = forged.split(":")[0] + ":" + token.split(":", 1)[1]
    for bad in (tampered, token[:-2] + "xx", "nonsense"):
        response = client.post(f"/digest/unsubscribe/{bad}/")
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    assert Follow.objects.get(user=user, researcher=researcher).email_digest


def test_follower_switches_the_digest_on_the_profile(client):
    user = UserFactory()
    researcher = ResearcherFactory()
    follow_researcher(user=user, researcher=researcher)
    client.force_login(user)

    html = client.get(researcher.get_absolute_url()).content.decode()
    assert "Email me a weekly digest of their new works" in html
    response = client.post(
        f"/researchers/{researcher.pk}/digest/",
        {"email_digest": "on"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'name="email_digest" checked' in response.content.decode()
    assert Follow.objects.get(user=user).email_digest
    assert DigestState.objects.filter(user=user).exists()

    response = client.post(f"/researchers/{researcher.pk}/digest/", {})
    assert response.status_code == 302
    assert not Follow.objects.get(user=user).email_digest


def test_digest_switch_needs_a_sign_in(client):
    researcher = ResearcherFactory()
    response = client.post(f"/researchers/{researcher.pk}/digest/", {"email_digest": "on"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_beat_runs_the_digest_weekly():
    entry = settings.CELERY_BEAT_SCHEDULE["weekly-digest"]
    assert entry["task"] == "profiles.tasks.send_weekly_digests"
    assert entry["schedule"].day_of_week == {1}


def test_digest_task_runs_the_service_and_twice_sends_once():
    from profiles.tasks import send_weekly_digests

    user = UserFactory()
    researcher = ResearcherFactory()
    _follow(user, researcher)
    _start_window(user, timezone.now() - timedelta(days=1))
    _new_work(researcher, "Fresh")
    assert send_weekly_digests() == 1
    assert send_weekly_digests() == 0
    assert len(mail.outbox) == 1
