"""Production headers: a Content-Security-Policy that forbids inline code (and pages that
carry none), HSTS and the SSL redirect by default outside DEBUG, and `check --deploy`
clean with the production environment of .env.example."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone

from tests.claims.helpers import make_user
from tests.edges.test_odd_input import _routes
from tests.factories import AuthorshipFactory, ResearcherFactory
from tests.test_settings import run_django, settings_of

ROOT = Path(__file__).resolve().parent.parent


class InlineFinder(HTMLParser):
    """Inline code a strict CSP blocks: <script> without src (JSON data blocks are data),
    <style>, style="" and on*="" attributes, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        data_block = names.get("type") in ("application/json", "application/ld+json")
        if tag == "script" and not names.get("src") and not data_block:
            self.found.append(f"<script> without src: {attrs}")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action") and (value or "").lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value!r}>")


def inline_code(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


@pytest.fixture
def record():
    owner = make_user("owner@uni.test")
    researcher = ResearcherFactory(display_name="Ada Lovelace", owner=owner, verification_level=2)
    researcher.work = AuthorshipFactory(researcher=researcher).work
    return researcher


def _pages(routes: list[str], real_id: int) -> list[str]:
    return ["/" + route.format(*[str(real_id)] * route.count("{}")) for route in routes]


@pytest.mark.django_db
@pytest.mark.usefixtures("locmem_cache")
def test_every_page_has_the_policy_and_no_inline_code(record):
    routes = _routes(get_resolver().url_patterns)
    site = [r for r in routes if not r.startswith("admin/")]
    admin = [r for r in routes if r.startswith("admin/")]
    visitor, owner, curator = Client(), Client(), Client()
    owner.force_login(record.owner)
    curator.force_login(make_user("curator@bzpeer.test", staff=True))
    problems, checked = [], 0
    for client, urls in [
        (visitor, _pages(site, record.pk)),
        (owner, _pages(site, record.pk)),
        (curator, _pages(admin, record.pk)),
    ]:
        for url in urls:
            for headers in ({}, {"HX-Request": "true"}):
                response = client.get(url, headers=headers)
                if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                    continue
                checked += 1
                if "Content-Security-Policy" not in response:
                    problems.append(f"{url}: no Content-Security-Policy header")
                problems += [f"{url}: {item}" for item in inline_code(response.content.decode())]
    assert checked > 60
    assert not problems, "\n".join(sorted(set(problems))[:60])


@pytest.mark.django_db
@pytest.mark.usefixtures("locmem_cache")
def test_error_pages_carry_no_inline_code(record):
    """The pages a person meets when something is refused: a form without its CSRF token,
    a missing page, a hidden record, a NUL byte."""
    from profiles.models import Researcher

    hidden = ResearcherFactory(display_name="Hidden Person")
    Researcher.objects.filter(pk=hidden.pk).update(hidden_at=timezone.now(), hidden_by="owner")
    strict = Client(enforce_csrf_checks=True)
    responses = {
        "csrf": strict.post(reverse("account_login"), {"login": "a@b.test", "password": "x"}),
        "missing": strict.get("/no/such/page/"),
        "gone": strict.get(hidden.get_absolute_url()),
        "nul": strict.get("/researchers/source/%00/"),
    }
    assert {name: r.status_code for name, r in responses.items()} == {
        "csrf": 403,
        "missing": 404,
        "gone": 410,
        "nul": 400,
    }
    problems = {name: inline_code(r.content.decode()) for name, r in responses.items()}
    assert not any(problems.values()), problems
    assert "This form has expired" in responses["csrf"].content.decode()


@pytest.mark.django_db
def test_the_policy_allows_only_our_own_scripts_and_styles(client, record):
    policy = client.get(record.get_absolute_url())["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy


@pytest.mark.django_db
def test_the_policy_built_once_follows_the_settings_and_a_views_own_policy(
    client, record, settings
):
    from csp.constants import NONCE
    from csp.decorators import csp_update
    from django.test import RequestFactory

    from bzpeer.middleware import ContentSecurityPolicyMiddleware

    url = record.get_absolute_url()
    first, again = client.get(url), client.get(url)  # built, then reused
    assert first["Content-Security-Policy"] == again["Content-Security-Policy"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert client.get(url)["Content-Security-Policy"] == "default-src 'none'"
    assert client.get(url)["Content-Security-Policy"] == "default-src 'none'"
    # A view's own policy and a nonce are still django-csp's business.
    view = csp_update({"img-src": ["https://example.org"]})(lambda request: HttpResponse("x"))
    middleware = ContentSecurityPolicyMiddleware(view)
    request = RequestFactory().get("/")
    middleware.process_request(request)
    response = middleware.process_response(request, view(request))
    assert "img-src https://example.org" in response["Content-Security-Policy"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": [NONCE]}}
    request = RequestFactory().get("/")
    middleware.process_request(request)
    nonce = str(request.csp_nonce)
    response = middleware.process_response(request, HttpResponse("x"))
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]


def _production_env() -> dict[str, str]:
    """The uncommented KEY=VALUE lines of .env.example: the documented production setup."""
    env = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z_][A-Z0-9_]*)=(.*)$", line)
        if match:
            env[match.group(1)] = match.group(2)
    return env


def test_check_deploy_is_clean_with_the_documented_production_environment():
    env = _production_env()
    assert env["DEBUG"] == "false"
    code = (
        "from django.core.management import call_command\n"
        "call_command('check', deploy=True, fail_level='WARNING')"
    )
    result = run_django(code, env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout + result.stderr


def test_https_redirect_and_hsts_are_on_by_default_outside_debug_and_switchable():
    names = ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE"]
    production = {"DEBUG": "false", "SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "example.org"}
    assert settings_of(names, production) == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SESSION_COOKIE_SECURE": True,
    }
    plain_http = {
        **production,
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "SESSION_COOKIE_SECURE": "false",
    }
    assert settings_of(names, plain_http) == dict.fromkeys(names, 0) | {
        "SECURE_SSL_REDIRECT": False,
        "SESSION_COOKIE_SECURE": False,
    }
    assert settings_of(names, {"DEBUG": "true"})["SECURE_SSL_REDIRECT"] is False


@pytest.mark.django_db
def test_a_production_response_redirects_to_https_and_sends_hsts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get(reverse("home"))
    assert response.status_code == 301 and response["Location"].startswith("https://")
    secure = client.get(reverse("home"), secure=True)
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")
