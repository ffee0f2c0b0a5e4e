from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.shortcuts import resolve_url
from django.test import Client

from profiles.models import Follow
from profiles.services import follow_researcher
from tests.factories import ResearcherFactory, UserFactory

HTMX = {"HX-Request": "true"}


@pytest.fixture
def researcher(db):
    return ResearcherFactory(display_name="Grace Hopper")


@pytest.mark.django_db
def test_htmx_follow_swaps_button_and_count_in_place(user_client, user, researcher):
    response = user_client.post(f"/researchers/{researcher.pk}/follow/", headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="follow-control"')
    assert "Following" in html
    assert '<dd id="stat-followers" hx-swap-oob="true">1</dd>' in html
    researcher.refresh_from_db()
    assert researcher.followers_count == 1
    assert Follow.objects.filter(user=user, researcher=researcher).exists()


@pytest.mark.django_db
def test_htmx_unfollow_swaps_back(user_client, user, researcher):
    follow_researcher(user=user, researcher=researcher)
    response = user_client.post(f"/researchers/{researcher.pk}/unfollow/", headers=HTMX)
    html = response.content.decode()
    assert "Follow researcher" in html
    assert '<dd id="stat-followers" hx-swap-oob="true">0</dd>' in html
    researcher.refresh_from_db()
    assert researcher.followers_count == 0
    assert not Follow.objects.exists()


@pytest.mark.django_db
def test_plain_form_follow_redirects_back_to_profile(user_client, researcher):
    response = user_client.post(f"/researchers/{researcher.pk}/follow/")
    assert response.status_code == 302
    assert response["Location"] == f"{researcher.get_absolute_url()}#connect"
    page = user_client.get(researcher.get_absolute_url()).content.decode()
    assert "You now follow Grace Hopper." in page
    assert "Following" in page


@pytest.mark.django_db
def test_follow_twice_keeps_one_follow(user_client, researcher):
    user_client.post(f"/researchers/{researcher.pk}/follow/", headers=HTMX)
    user_client.post(f"/researchers/{researcher.pk}/follow/", headers=HTMX)
    researcher.refresh_from_db()
    assert Follow.objects.count() == 1
    assert researcher.followers_count == 1


@pytest.mark.django_db
def test_unfollow_without_follow_keeps_count_at_zero(user_client, researcher):
    user_client.post(f"/researchers/{researcher.pk}/unfollow/", headers=HTMX)
    researcher.refresh_from_db()
    assert researcher.followers_count == 0


@pytest.mark.django_db
def test_anonymous_follow_is_sent_to_log_in_and_back(client, researcher):
    response = client.post(f"/researchers/{researcher.pk}/follow/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == resolve_url(settings.LOGIN_URL)
    assert parse_qs(location.query)["next"] == [researcher.get_absolute_url()]
    assert not Follow.objects.exists()


@pytest.mark.django_db
def test_anonymous_htmx_follow_gets_client_redirect_to_log_in(client, researcher):
    response = client.post(f"/researchers/{researcher.pk}/follow/", headers=HTMX)
    assert response.status_code == 200
    location = urlsplit(response["HX-Redirect"])
    assert location.path == resolve_url(settings.LOGIN_URL)
    assert parse_qs(location.query)["next"] == [researcher.get_absolute_url()]
    assert not Follow.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("headers", [{}, HTMX])
def test_follow_without_csrf_token_is_refused(user, researcher, headers):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(f"/researchers/{researcher.pk}/follow/", headers=headers)
    assert response.status_code == 403
    assert not Follow.objects.exists()


@pytest.mark.django_db
def test_follow_with_csrf_token_from_the_page_works(user, researcher):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(researcher.get_absolute_url())
    token = client.cookies["csrftoken"].value
    response = client.post(
        f"/researchers/{researcher.pk}/follow/", headers={**HTMX, "X-CSRFToken": token}
    )
    assert response.status_code == 200
    assert Follow.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("verb", ["follow", "unfollow"])
def test_follow_response_query_budget(user_client, user, researcher, verb, query_budget):
    if verb == "unfollow":
        follow_researcher(user=user, researcher=researcher)
    with query_budget(f"profile.{verb}_post"):
        response = user_client.post(f"/researchers/{researcher.pk}/{verb}/", headers=HTMX)
    assert response.status_code == 200


@pytest.mark.django_db
def test_follow_is_get_proof(user_client, researcher):
    assert user_client.get(f"/researchers/{researcher.pk}/follow/").status_code == 405


@pytest.mark.django_db
def test_follow_rate_limit_gives_429_with_message(
    user_client, researcher, monkeypatch, redis_rate_limits
):
    # On the real Redis cache, where the windows live in production.
    monkeypatch.setattr("profiles.views.FOLLOW_LIMIT_PER_HOUR", 2)
    statuses = [
        user_client.post(f"/researchers/{researcher.pk}/{verb}/", headers=HTMX).status_code
        for verb in ("follow", "unfollow", "follow")
    ]
    assert statuses == [200, 200, 429]
    response = user_client.post(f"/researchers/{researcher.pk}/follow/", headers=HTMX)
    assert "too often" in response.content.decode()


@pytest.mark.django_db
def test_follow_unknown_researcher_is_404(user_client):
    assert user_client.post("/researchers/999999/follow/", headers=HTMX).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_concurrent_follows_keep_the_count_right():
    """Twelve users follow at once, two of them twice: 12 follows, count 12."""
    researcher = ResearcherFactory()
    users = [UserFactory() for _ in range(12)]
    barrier = threading.Barrier(14)
    errors: list[BaseException] = []

    def follow(user):
        try:
            barrier.wait(timeout=10)
            follow_researcher(user=user, researcher=researcher)
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=follow, args=(u,)) for u in [*users, users[0], users[1]]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    researcher.refresh_from_db()
    assert Follow.objects.filter(researcher=researcher).count() == 12
    assert researcher.followers_count == 12
