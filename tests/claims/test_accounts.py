"""Accounts through allauth's real views: sign-up with email confirmation, throttled
failed logins, and ORCID sign-in / connect driven by recorded ORCID responses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from allauth.socialaccount.providers.orcid.views import OrcidOAuth2Adapter
from django.contrib.auth import get_user_model
from django.urls import reverse

from claims import services
from tests.claims.helpers import make_user
from tests.factories import ResearcherFactory

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
ORCID = "0000-0001-2345-6789"
PASSWORD = "a-long-pass-phrase-42"


def confirmation_url(message) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def logged_in_user(client):
    return client.get(reverse("home")).context["user"]


# --- sign up, confirm, sign in --------------------------------------------------------------


def test_sign_up_requires_confirming_the_email_before_signing_in(client, mailoutbox):
    response = client.post(
        reverse("account_signup"),
        {"email": "newcomer@home.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not logged_in_user(client).is_authenticated
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["newcomer@home.test"]

    # Signing in before confirming only re-sends the confirmation.
    other = client.__class__()
    response = other.post(
        reverse("account_login"), {"login": "newcomer@home.test", "password": PASSWORD}
    )
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not logged_in_user(other).is_authenticated

    url = confirmation_url(mailoutbox[0])
    assert client.get(url).status_code == 200  # a GET never confirms
    assert not EmailAddress.objects.get(email="newcomer@home.test").verified
    client.post(url)
    assert EmailAddress.objects.get(email="newcomer@home.test").verified
    assert logged_in_user(client).email == "newcomer@home.test"


def test_login_and_signup_pages_use_the_site_layout(client):
    for name in ["account_login", "account_signup"]:
        html = client.get(reverse(name)).content.decode()
        assert '<a class="brand" href="/">BZPEER</a>' in html
        assert 'class="card narrow account-page"' in html
        assert 'class="button"' in html


def test_failed_logins_are_throttled_per_account(client):
    make_user("ada@home.test", password=PASSWORD)
    for _ in range(10):
        response = client.post(
            reverse("account_login"), {"login": "ada@home.test", "password": "wrong"}
        )
        assert response.status_code == 200
    # The 11th attempt is refused even with the right password.
    response = client.post(
        reverse("account_login"), {"login": "ada@home.test", "password": PASSWORD}
    )
    assert "Too many failed login attempts" in response.content.decode()
    assert not logged_in_user(client).is_authenticated


def test_a_good_login_after_a_few_failures_works(client):
    make_user("ada@home.test", password=PASSWORD)
    for _ in range(3):
        client.post(reverse("account_login"), {"login": "ada@home.test", "password": "wrong"})
    response = client.post(
        reverse("account_login"), {"login": "ada@home.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert logged_in_user(client).email == "ada@home.test"


def test_failed_login_limits_are_the_configured_ones(settings):
    from allauth.account import app_settings

    assert app_settings.RATE_LIMITS["login_failed"] == "30/5m/ip,10/5m/key"
    assert app_settings.RATE_LIMITS["login_failed_account"] == "20/1h/key"


# --- ORCID ----------------------------------------------------------------------------------


@pytest.fixture
def orcid_app(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "orcid": {
            **settings.SOCIALACCOUNT_PROVIDERS["orcid"],
            "APP": {"client_id": "APP-TESTCLIENT0001", "secret": "test-secret"},
        }
    }


class RecordedOrcid:
    """ORCID's token endpoint and public record API, answered from recorded responses."""

    def __init__(self) -> None:
        self.token = json.loads((DATA / "orcid_token.json").read_text())
        self.record = json.loads((DATA / "orcid_record.json").read_text())
        self.requests: list[tuple[str, str, dict]] = []

    def __call__(self, session, method, url, **kwargs):
        self.requests.append((method, url, kwargs))
        if method == "POST" and url == OrcidOAuth2Adapter.access_token_url:
            body = self.token
        elif method == "GET" and url == OrcidOAuth2Adapter.profile_url % self.token["orcid"]:
            body = self.record
        else:
            raise AssertionError(f"unexpected request {method} {url}")
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json;charset=UTF-8"
        response.encoding = "utf-8"
        response.url = url
        return response


@pytest.fixture
def recorded_orcid(monkeypatch, orcid_app) -> RecordedOrcid:
    fake = RecordedOrcid()

    # Every HTTP call allauth makes goes through a requests.Session: nothing leaves the box.
    def request(session, method, url, **kwargs):
        return fake(session, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", request)
    return fake


def start_orcid(client, process: str = "login") -> str:
    """POST the ORCID button; return the state ORCID would send back."""
    response = client.post(reverse("orcid_login"), {"process": process})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        OrcidOAuth2Adapter.authorize_url
    )
    query = parse_qs(location.query)
    assert query["client_id"] == ["APP-TESTCLIENT0001"]
    assert query["scope"] == ["/authenticate"]
    return query["state"][0]


def callback(client, state: str):
    return client.get(reverse("orcid_callback"), {"code": "Q7bX2p", "state": state})


def test_orcid_button_shows_only_when_configured(client, settings):
    assert "Continue with ORCID" not in client.get(reverse("account_login")).content.decode()
    settings.SOCIALACCOUNT_PROVIDERS = {
        "orcid": {"APP": {"client_id": "APP-TESTCLIENT0001", "secret": "test-secret"}}
    }
    assert "Continue with ORCID" in client.get(reverse("account_login")).content.decode()


def test_orcid_login_needs_a_post(client, orcid_app):
    response = client.get(reverse("orcid_login"))
    assert response.status_code == 200  # a confirmation page with a POST form, no redirect
    assert "<form" in response.content.decode()


def test_sign_in_with_orcid_as_a_newcomer_then_claim_at_l3(
    client, recorded_orcid, mailoutbox, settings
):
    record = ResearcherFactory(orcid=ORCID, display_name="Sofia Garcia")
    response = callback(client, start_orcid(client))
    # ORCID's public record hides the email: the newcomer gives one, then confirms it.
    assert response.status_code == 302
    assert response["Location"] == reverse("socialaccount_signup")
    assert [(m, u) for m, u, _ in recorded_orcid.requests] == [
        ("POST", OrcidOAuth2Adapter.access_token_url),
        ("GET", OrcidOAuth2Adapter.profile_url % ORCID),
    ]
    token_request = recorded_orcid.requests[0][2]
    assert token_request["data"]["code"] == "Q7bX2p"
    assert token_request["data"]["client_secret"] == "test-secret"
    assert recorded_orcid.requests[1][2]["headers"] == {"accept": "application/orcid+json"}

    response = client.post(reverse("socialaccount_signup"), {"email": "sofia@anywhere.test"})
    assert response.status_code == 302
    user = get_user_model().objects.get(email="sofia@anywhere.test")
    account = SocialAccount.objects.get(user=user)
    assert (account.provider, account.uid) == ("orcid", ORCID)
    assert account.extra_data["person"]["name"]["family-name"]["value"] == "Garcia"
    assert (user.first_name, user.last_name) == ("Sofia", "Garcia")

    with pytest.raises(services.EmailNotVerified):
        services.claim_with_orcid(user=user, researcher=record)
    client.post(confirmation_url(mailoutbox[-1]))
    assert logged_in_user(client) == user

    response = client.post(reverse("claim_orcid", args=[record.pk]))
    assert response["Location"] == record.get_absolute_url()
    record.refresh_from_db()
    assert record.owner == user and record.verification_level == 3


def test_orcid_sign_in_with_a_tampered_state_is_refused(client, recorded_orcid):
    start_orcid(client)
    response = callback(client, "forged-state")
    assert response.status_code == 401
    assert "Third-Party Login Failure" in response.content.decode()
    assert not SocialAccount.objects.exists()
    assert recorded_orcid.requests == []


def test_connect_orcid_to_an_existing_account(client, recorded_orcid):
    user = make_user("ada@home.test")
    client.force_login(user)
    response = callback(client, start_orcid(client, process="connect"))
    assert response.status_code == 302
    assert response["Location"] == reverse("socialaccount_connections")
    assert SocialAccount.objects.get(user=user).uid == ORCID
    html = client.get(reverse("socialaccount_connections")).content.decode()
    assert "Sofia Garcia" in html or ORCID in html

    # Signing in with that ORCID later opens the same account.
    client.logout()
    callback(client, start_orcid(client))
    assert logged_in_user(client) == user


def test_the_orcid_provider_follows_the_sandbox_setting(settings):
    expected = "sandbox.orcid.org" if settings.ORCID_SANDBOX else "orcid.org"
    assert settings.SOCIALACCOUNT_PROVIDERS["orcid"]["BASE_DOMAIN"] == expected
    assert OrcidOAuth2Adapter.authorize_url == f"https://{expected}/oauth/authorize"


def test_sign_in_still_works_when_redis_is_down(client, settings):
    # allauth's rate limits lock through the cache; an outage must not lock everyone out.
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    }
    make_user("ada@home.test", password=PASSWORD)
    response = client.post(
        reverse("account_login"), {"login": "ada@home.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert logged_in_user(client).email == "ada@home.test"
