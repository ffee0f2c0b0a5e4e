"""Repeat anonymous requests answered in front of the view (bzpeer/pagecache/front.py)."""

from __future__ import annotations

import gzip
import re

import pytest
from django.test import Client

from bzpeer import curation
from bzpeer.curation import derived
from bzpeer.pagecache import front
from graph.services import build_slice
from profiles.models import Researcher
from tests.builders import researcher_with_coauthors as build_researcher
from tests.claims.helpers import make_user
from tests.factories import AuthorshipFactory, ResearcherFactory, WorkFactory
from tests.pagecache.conftest import HTMX, get, html

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():
    ada = ResearcherFactory(display_name="Ada Lovelace")
    AuthorshipFactory(work=WorkFactory(title="Notes on the Analytical Engine"), researcher=ada)
    derived.refresh_researcher_counts(researcher_ids=[ada.pk])
    ada.refresh_from_db()
    return ada


@pytest.fixture
def lead(monkeypatch):
    from graph.tasks import build_graph_slice

    monkeypatch.setattr(build_graph_slice, "delay", lambda researcher_id: None)
    lead = build_researcher(coauthors=2, works=2)
    build_slice(researcher_id=lead.pk)
    return lead


def kept_after_two_requests(client, url: str, **kwargs):
    """The first request renders, the second is a cache hit that is kept in front."""
    get(client, url, **kwargs)
    before = front.entries_count()
    response = get(client, url, **kwargs)
    assert response["X-Page-Cache"] == "hit"
    assert front.entries_count() == before + 1, f"{url} was not kept"
    return response


def test_a_repeat_request_is_answered_in_front_with_one_query(
    client, ada, django_assert_num_queries
):
    url = ada.get_absolute_url()
    kept = kept_after_two_requests(client, url)
    with django_assert_num_queries(1):  # the version check; no session, no view
        again = client.get(url)
    assert again.content == kept.content
    assert again["ETag"] == kept["ETag"] and again["Cache-Control"] == kept["Cache-Control"]
    assert again["X-Frame-Options"] == kept["X-Frame-Options"]
    with django_assert_num_queries(1):
        not_modified = client.get(url, headers={"If-None-Match": kept["ETag"]})
    assert not_modified.status_code == 304
    assert not_modified["ETag"] == kept["ETag"] and not not_modified.content


def test_the_compressed_and_the_plain_page_are_kept_apart(client, ada):
    url = ada.get_absolute_url()
    plain = kept_after_two_requests(client, url)
    before = front.entries_count()
    for _ in range(3):
        packed = get(client, url, headers={"Accept-Encoding": "gzip"})
    assert front.entries_count() == before + 1
    assert packed["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain
    assert gzip.decompress(packed.content) == get(client, url).content == plain.content


def test_each_host_has_its_own_kept_page(client, ada, settings):
    settings.ALLOWED_HOSTS = ["testserver", "mirror.test"]
    url = ada.get_absolute_url()
    kept_after_two_requests(client, url)
    other = get(client, url, headers={"Host": "mirror.test"})
    assert "http://mirror.test/" in html(other) and "http://testserver/" not in html(other)


def test_a_rebuilt_slice_alone_retires_the_kept_fragment(client, lead):
    url = f"/researchers/{lead.pk}/graph/slice/"
    kept_after_two_requests(client, url, headers=HTMX)
    build_slice(researcher_id=lead.pk, force=True)  # same record version, a new build
    assert get(client, url, headers=HTMX)["X-Page-Cache"] == "miss"


def test_a_deleted_record_is_not_served_from_the_front(client):
    loner = ResearcherFactory(display_name="Nobody Cites Me")
    url = loner.get_absolute_url()
    kept_after_two_requests(client, url)
    Researcher.objects.filter(pk=loner.pk).delete()  # no child rows: no version moves
    assert client.get(url).status_code == 404


def test_a_merged_records_slice_fragment_is_not_kept(client, lead):
    curator = make_user("curator@bzpeer.test", staff=True)
    duplicate = ResearcherFactory(display_name="Duplicate Lead")
    curation.services.merge_researchers(survivor=lead, duplicates=[duplicate], curator=curator)
    build_slice(researcher_id=lead.pk, force=True)
    url = f"/researchers/{duplicate.pk}/graph/slice/"  # a page loaded before the merge
    get(client, url, headers=HTMX)
    before = front.entries_count()
    assert get(client, url, headers=HTMX)["X-Page-Cache"] == "hit"
    # The survivor's slice is served; its changes do not move the duplicate's version.
    assert front.entries_count() == before


def test_a_request_with_a_cookie_goes_the_normal_way(ada):
    url = ada.get_absolute_url()
    kept_after_two_requests(Client(), url)
    reader = Client()
    reader.force_login(make_user("reader@home.test"))
    page = get(reader, url)
    assert page["Cache-Control"] == "private, no-store"
    assert "reader@home.test" in html(page)


def test_a_signed_in_page_compressed_from_the_shell_decodes_to_the_plain_page(client, ada):
    client.force_login(make_user("reader@home.test"))
    url = ada.get_absolute_url()
    get(client, url)  # the shell is stored
    packed = get(client, url, headers={"Accept-Encoding": "gzip"})
    plain = get(client, url)
    assert packed["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed["Vary"]
    # Each response masks its CSRF token anew; the rest is the same page.

    def unmasked(text: str) -> str:
        return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', r"\1", text)

    assert unmasked(gzip.decompress(packed.content).decode()) == unmasked(html(plain))
    assert "reader@home.test" in gzip.decompress(packed.content).decode()
