"""The session engine reads a session and its user in one statement (bzpeer/sessions.py):
the session row names its user in a column written on every save."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.claims.helpers import make_user

pytestmark = pytest.mark.django_db


def session_user_column(session_key: str):
    with connection.cursor() as cursor:
        cursor.execute("SELECT user_id FROM django_session WHERE session_key = %s", [session_key])
        return cursor.fetchone()[0]


def signed_in_as(client: Client) -> str:
    """The e-mail address the account page shows (every signed-in page names its user)."""
    response = client.get(reverse("account_privacy"))
    assert response.status_code == 200
    return response.context["user"].email


def test_a_signed_in_session_names_its_user_and_is_read_with_it(client, django_assert_num_queries):
    user = make_user("ada@home.test")
    client.force_login(user)
    assert session_user_column(client.session.session_key) == user.pk
    from bzpeer import sessions

    store = sessions.SessionStore(client.session.session_key)
    with django_assert_num_queries(1):
        store.load()
        assert sessions.take_loaded_user(user.pk) == (True, user)
    assert sessions.take_loaded_user(user.pk) == (False, None)  # taken once


def test_a_session_saved_before_the_column_existed_still_signs_its_user_in(client):
    user = make_user("ada@home.test")
    client.force_login(user)
    key = client.session.session_key
    with connection.cursor() as cursor:
        cursor.execute("UPDATE django_session SET user_id = NULL WHERE session_key = %s", [key])

    assert signed_in_as(client) == "ada@home.test"


def test_two_readers_in_turn_are_each_themselves():
    ada, bob = make_user("ada@home.test"), make_user("bob@home.test")
    first, second = Client(), Client()
    first.force_login(ada)
    second.force_login(bob)
    for _ in range(2):
        assert signed_in_as(first) == "ada@home.test"
        assert signed_in_as(second) == "bob@home.test"


def test_a_session_signed_out_elsewhere_reads_no_user(client):
    user = make_user("ada@home.test")
    client.force_login(user)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_session")
    response = client.get(reverse("account_privacy"))
    assert response.status_code == 302  # to the sign-in page
