"""With DEBUG off, errors answer with the site's own pages, each saying what to do next."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_like(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.bzpeer.error_urls"


@pytest.fixture
def visitor(live_like) -> Client:
    client = Client(raise_request_exception=False)
    return client


def test_unknown_address_gets_the_branded_404(visitor):
    response = visitor.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert '<h1 id="error-heading">Page not found</h1>' in html
    assert 'class="brand"' in html and "icons/favicon.svg" in html
    assert "Go to the researcher list" in html


def test_forbidden_gets_the_branded_403(visitor):
    response = visitor.get("/test-errors/403/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You cannot open this page" in html and "log in</a> first" in html


def test_bad_request_gets_the_branded_400(visitor):
    response = visitor.get("/test-errors/400/")
    assert response.status_code == 400
    assert "We could not read this request" in response.content.decode()


def test_a_bug_gets_the_branded_500(visitor):
    response = visitor.get("/test-errors/500/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and "icons/favicon.svg" in html


def test_the_500_page_needs_no_database(django_assert_num_queries):
    # Rendered with no request, as Django's handler does: no context processors, no session.
    with django_assert_num_queries(0):
        html = render_to_string("500.html")
    assert "Something went wrong on our side" in html


def test_a_failed_csrf_check_says_what_to_do(live_like, user):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(user)
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "This form has expired" in html
    assert "reload the page, and send the form again" in html
    assert "nothing was saved" in html


def test_every_page_links_a_favicon_that_is_served(live_server):
    import urllib.request

    with urllib.request.urlopen(f"{live_server.url}/") as response:
        html = response.read().decode()
    assert '<link rel="icon" href="/static/icons/favicon.svg" type="image/svg+xml">' in html
    assert '<link rel="apple-touch-icon" href="/static/icons/apple-touch-icon.png">' in html
    for path, kind in [
        ("icons/favicon.svg", "image/svg+xml"),
        ("icons/apple-touch-icon.png", "image/png"),
    ]:
        with urllib.request.urlopen(f"{live_server.url}/static/{path}") as response:
            assert response.status == 200 and response.headers["Content-Type"] == kind
