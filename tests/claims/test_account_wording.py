"""The nav and the account pages use one wording: "Sign up" and "Log in"."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

OTHER_WORDING = re.compile(r"Sign In|Sign Up|Sign Out|Signup|[Ss]ign in\b|[Ss]ign out\b")


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_login_and_signup_pages_say_what_the_nav_says(client):
    login = client.get(reverse("account_login")).content.decode()
    assert re.search(r"<h1[^>]*>\s*Log in\s*</h1>", login)
    assert re.search(r"<title>\s*Log in\s*· BZPEER</title>", login)
    signup = client.get(reverse("account_signup")).content.decode()
    assert re.search(r"<h1[^>]*>\s*Sign up\s*</h1>", signup)
    for html in (login, signup):
        assert ">Sign up</a>" in html and ">Log in</a>" in html  # the nav
        assert not OTHER_WORDING.search(visible_text(html)), OTHER_WORDING.search(
            visible_text(html)
        )


def test_logout_page_says_log_out(user_client):
    html = user_client.get(reverse("account_logout")).content.decode()
    assert "Are you sure you want to log out?" in html
    assert not OTHER_WORDING.search(visible_text(html))
