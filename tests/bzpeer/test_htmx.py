"""The HTMX-or-plain answers (bzpeer/htmx.py), through the test client so the session,
messages and django-htmx middleware run, on views and a template of this module's own."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from bzpeer.htmx import partial_or_page, partial_or_redirect
from bzpeer.types import HtmxHttpRequest

HTMX = {"HX-Request": "true"}
built: list[str] = []


def _context() -> dict[str, str]:
    built.append("context")
    return {"word": "fresh"}


def write_view(request: HtmxHttpRequest) -> HttpResponse:
    failed = request.GET.get("fail") == "1"
    return partial_or_redirect(
        request,
        "_word.html",
        _context,
        redirect_to="/messages/",
        message="Saved.",
        error="Too often." if failed else "",
        status=429 if failed else 200,
    )


def read_view(request: HtmxHttpRequest) -> HttpResponse:
    return partial_or_page(request, "_word.html", "word_page.html", {"word": "plain"})


def messages_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(" | ".join(f"{m.level_tag}: {m}" for m in get_messages(request)))


urlpatterns = [
    path("write/", write_view),
    path("read/", read_view),
    path("messages/", messages_view),
    path("", include("bzpeer.urls")),  # the middleware reverses the project's URLs
]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


@pytest.fixture(autouse=True)
def templates(settings, tmp_path):
    (tmp_path / "_word.html").write_text("<p id='word'>{{ word }}</p>")
    (tmp_path / "word_page.html").write_text("<main>page {% include '_word.html' %}</main>")
    base = django_settings.TEMPLATES[0]
    settings.TEMPLATES = [{**base, "DIRS": [tmp_path, *base["DIRS"]]}]
    built.clear()


def test_htmx_write_gets_the_partial_and_no_message(client):
    response = client.post("/write/", headers=HTMX)
    assert response.status_code == 200
    assert response.content.decode() == "<p id='word'>fresh</p>"
    assert built == ["context"]
    assert client.get("/messages/").content.decode() == ""


def test_plain_write_is_redirected_with_a_success_message_and_builds_no_context(client):
    response = client.post("/write/")
    assert response.status_code == 302
    assert response["Location"] == "/messages/"
    assert built == []
    assert client.get("/messages/").content.decode() == "success: Saved."


def test_htmx_error_keeps_its_status(client):
    response = client.post("/write/?fail=1", headers=HTMX)
    assert response.status_code == 429
    assert "fresh" in response.content.decode()


def test_plain_error_wins_over_the_success_message(client):
    response = client.post("/write/?fail=1")
    assert response.status_code == 302
    assert client.get("/messages/").content.decode() == "error: Too often."


def test_htmx_read_gets_the_partial_plain_read_the_page_around_it(client):
    assert client.get("/read/", headers=HTMX).content.decode() == "<p id='word'>plain</p>"
    page = client.get("/read/").content.decode()
    assert page == "<main>page <p id='word'>plain</p></main>"
