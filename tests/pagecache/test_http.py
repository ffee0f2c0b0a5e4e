"""Cached pages over HTTP: conditional requests, headers, compression, privacy, budgets."""

from __future__ import annotations

import gzip

import pytest
from django.contrib.messages import constants as message_levels
from django.test import Client

from bzpeer.curation.derived import refresh_researcher_counts
from graph.services import build_slice
from profiles.models import Researcher
from profiles.services import follow_researcher
from tests.builders import researcher_with_coauthors as build_researcher
from tests.claims.helpers import make_user
from tests.factories import (
    AuthorshipFactory,
    InstitutionFactory,
    ResearcherFactory,
    TopicFactory,
    WorkFactory,
)
from tests.pagecache.conftest import HTMX, get, html

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():
    place = InstitutionFactory(display_name="University of London")
    ada = ResearcherFactory(display_name="Ada Lovelace", last_known_institution=place)
    topic = TopicFactory(display_name="Engines")
    for i in range(12):
        work = WorkFactory(title=f"Note {i}", publication_year=1840 + i)
        work.topics.add(topic)
        AuthorshipFactory(work=work, researcher=ada)
    refresh_researcher_counts(researcher_ids=[ada.pk])
    ada.refresh_from_db()
    return ada


@pytest.fixture
def pages(ada, monkeypatch):
    """Every cached page and fragment kind, for one record, as (url, headers)."""
    from graph.tasks import build_graph_slice

    monkeypatch.setattr(build_graph_slice, "delay", lambda researcher_id: None)
    lead = build_researcher()
    build_slice(researcher_id=lead.pk)
    work = ada.authorships.first().work
    return [
        (ada.get_absolute_url(), {}),
        (f"{ada.get_absolute_url()}?sort=oldest&page=2", {}),
        (f"/researchers/{ada.pk}/works/?sort=cited", HTMX),
        (work.get_absolute_url(), {}),
        (work.topics.first().get_absolute_url(), {}),
        (ada.last_known_institution.get_absolute_url(), {}),
        (f"/researchers/{lead.pk}/graph/", {}),
        (f"/researchers/{lead.pk}/graph/slice/", HTMX),
    ]


# --- conditional requests ---------------------------------------------------------------


def test_every_cached_page_answers_304_to_its_etag_and_200_after_a_change(client, pages, ada):
    for url, headers in pages:
        first = get(client, url, headers=headers)
        etag = first["ETag"]
        assert etag.startswith('"'), url
        again = client.get(url, headers={**headers, "If-None-Match": etag})
        assert again.status_code == 304, url
        assert again["ETag"] == etag
        assert again.content == b""
    # Any change to the record: the old ETag no longer matches.
    Researcher.objects.filter(pk=ada.pk).update(summary="Poet of the engine.")
    url = ada.get_absolute_url()
    stale = pages[0][1]
    assert client.get(url, headers={**stale, "If-None-Match": '"nope"'}).status_code == 200


def test_an_etag_from_before_a_change_gets_the_new_page(client, ada):
    url = ada.get_absolute_url()
    etag = get(client, url)["ETag"]
    follow_researcher(user=make_user("fan@home.test"), researcher=ada)
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert '<dd id="stat-followers">1</dd>' in html(response)


def test_a_weak_etag_from_a_compressed_response_still_matches(client, ada):
    url = ada.get_absolute_url()
    compressed = get(client, url, headers={"Accept-Encoding": "gzip"})
    assert compressed["ETag"].startswith('W/"')
    response = client.get(url, headers={"If-None-Match": compressed["ETag"]})
    assert response.status_code == 304


def test_last_modified_and_if_modified_since(client, ada):
    url = ada.get_absolute_url()
    follow_researcher(user=make_user("fan@home.test"), researcher=ada)  # a version row
    first = get(client, url)
    stamp = first["Last-Modified"]
    assert client.get(url, headers={"If-Modified-Since": stamp}).status_code == 304
    # A change within the same second still moves Last-Modified on.
    follow_researcher(user=make_user("fan2@home.test"), researcher=ada)
    second = client.get(url, headers={"If-Modified-Since": stamp})
    assert second.status_code == 200
    assert second["Last-Modified"] != stamp


# --- headers ----------------------------------------------------------------------------


def test_anonymous_pages_are_public_briefly_and_vary_on_cookie_and_htmx(client, pages):
    for url, headers in pages:
        response = get(client, url, headers=headers)
        assert response["Cache-Control"] == "public, max-age=0, s-maxage=10", url
        vary = {v.strip() for v in response["Vary"].split(",")}
        assert {"Cookie", "HX-Request"} <= vary, url
        assert not response.cookies, url


def test_signed_in_pages_are_private_and_never_stored(client, ada):
    client.force_login(make_user("reader@home.test"))
    response = get(client, ada.get_absolute_url())
    assert response["Cache-Control"] == "private, no-store"
    assert "Cookie" in response["Vary"]
    assert "ETag" not in response


# --- compression ------------------------------------------------------------------------


def test_compressed_responses_decode_to_the_same_html(client, pages):
    for url, headers in pages:
        plain = get(client, url, headers=headers)
        packed = get(client, url, headers={**headers, "Accept-Encoding": "gzip, br"})
        assert packed["Content-Encoding"] == "gzip", url
        assert len(packed.content) < len(plain.content), url
        assert gzip.decompress(packed.content) == plain.content, url


def test_node_neighbours_json_is_compressed(client, ada):
    response = get(
        client,
        f"/graph/nodes/researcher:{ada.pk}/neighbours.json",
        headers={"Accept-Encoding": "gzip"},
    )
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content).startswith(b"{")


# --- privacy ----------------------------------------------------------------------------


def test_anonymous_pages_carry_no_secret_and_set_no_cookie(pages):
    client = Client(enforce_csrf_checks=True)
    for url, headers in pages:
        response = get(client, url, headers=headers)
        body = html(response)
        assert "csrfmiddlewaretoken" not in body, url
        assert "X-CSRFToken" not in body, url
        assert "csrftoken" not in response.cookies, url


def test_two_signed_in_users_never_see_each_others_page(ada):
    owner, reader = make_user("ada@home.test"), make_user("reader@home.test")
    Researcher.objects.filter(pk=ada.pk).update(owner=owner)
    follow_researcher(user=reader, researcher=ada)
    url = ada.get_absolute_url()
    owner_client, reader_client, anonymous = Client(), Client(), Client()
    owner_client.force_login(owner)
    reader_client.force_login(reader)
    for _ in range(2):  # the second round is served from the fragments the first stored
        owner_page = html(get(owner_client, url))
        reader_page = html(get(reader_client, url))
        anonymous_page = html(get(anonymous, url))
        assert "ada@home.test" in owner_page and "You own this record" in owner_page
        assert "ada@home.test" not in reader_page and "You own this record" not in reader_page
        assert "reader@home.test" in reader_page and 'aria-pressed="true"' in reader_page
        assert "reader@home.test" not in owner_page and 'aria-pressed="true"' not in owner_page
        for private in ("ada@home.test", "reader@home.test", "You own", 'aria-pressed="true"'):
            assert private not in anonymous_page
    # Each signed-in page carries its own masked token, never one from the cache.
    assert owner_page.count('name="csrfmiddlewaretoken"') >= 1
    assert anonymous_page.count("csrfmiddlewaretoken") == 0


def test_the_query_string_is_not_reflected_into_a_shared_page(client, ada):
    url = ada.get_absolute_url()
    poisoned = html(get(client, f"{url}?utm=%3Cb%3Eevil&page=x"))
    assert "evil" not in poisoned
    clean = get(client, url)
    assert clean["X-Page-Cache"] == "hit"  # the same rendering: unknown params name no variant
    assert "evil" not in html(clean)
    assert f'?next={url}">Log in' in html(clean)


def test_a_visitor_with_a_message_waiting_gets_it_not_the_cached_page(client, ada):
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage

    url = ada.get_absolute_url()
    get(client, url)
    storage = CookieStorage(None)
    encoded = storage._encode([Message(message_levels.SUCCESS, "You have signed out.")])
    client.cookies["messages"] = encoded
    response = get(client, url)
    assert "You have signed out." in html(response)
    assert response["Cache-Control"] == "private, no-store"


# --- query budgets ----------------------------------------------------------------------


def test_a_cached_anonymous_page_costs_one_query(client, pages, query_budget):
    for url, headers in pages:
        get(client, url, headers=headers)
        with query_budget("pagecache.hit"):  # no session cookie: no session read
            response = client.get(url, headers=headers)
        assert response["X-Page-Cache"] == "hit", url
        with query_budget("pagecache.hit"):
            response = client.get(url, headers={**headers, "If-None-Match": response["ETag"]})
        assert response.status_code == 304, url


def test_a_cached_page_for_an_anonymous_visitor_with_a_session_costs_two(client, ada, query_budget):
    session = client.session
    session["seen"] = True
    session.save()
    client.cookies["sessionid"] = session.session_key
    url = ada.get_absolute_url()
    get(client, url)
    with query_budget("pagecache.hit_with_session"):
        response = client.get(url)
    assert response["X-Page-Cache"] == "hit"


def test_a_signed_in_profile_from_warm_fragments_costs_two_queries(client, ada, query_budget):
    client.force_login(make_user("reader@home.test"))
    url = ada.get_absolute_url()
    get(client, url)
    with query_budget("pagecache.signed_in_profile"):
        response = client.get(url)
    assert response.status_code == 200


def test_a_work_with_a_thousand_authors_pages_them(client, query_budget):
    work = WorkFactory(title="Big Science", authors_count=1000)
    people = Researcher.objects.bulk_create(
        Researcher(source_id=f"urn:bzpeer:test:p{i}", display_name=f"Physicist {i:04d}")
        for i in range(1000)
    )
    from works.models import Authorship

    Authorship.objects.bulk_create(
        Authorship(work=work, researcher=r, order=i, raw_author_name=r.display_name)
        for i, r in enumerate(people)
    )
    url = work.get_absolute_url()
    with query_budget("works.work"):
        client.get(url)
    with query_budget("works.work"):  # the last page of authors costs the same
        last = client.get(f"{url}?authors=20")
    page = html(last)
    assert "Physicist 0950" in page and "Physicist 0999" in page and "Physicist 0949" not in page
    assert '<ol class="list-plain author-list" start="951">' in page
    # The pager names the positions shown and the page (the work page's one pager).
    assert "Authors 951–1000 of" in page and "(page 20 of 20)" in page and 'rel="prev"' in page
    # Past the end reads as the last page.
    assert "Physicist 0999" in html(get(client, f"{url}?authors=999"))


# --- signed-in pages from the page's shell ----------------------------------------------


def test_a_signed_in_profile_is_the_shell_with_the_viewers_own_parts(client, ada):
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage

    reader = make_user("reader@home.test")
    client.force_login(reader)
    url = ada.get_absolute_url()
    first = html(get(client, url))
    follow_researcher(user=reader, researcher=ada)
    client.cookies["messages"] = CookieStorage(None)._encode(
        [Message(message_levels.SUCCESS, "Welcome back.")]
    )
    second = html(get(client, url))  # the same shell, new per-viewer parts
    assert "<!--slot:" not in first and "<!--slot:" not in second
    assert 'aria-pressed="true"' not in first and 'aria-pressed="true"' in second
    assert "Welcome back." in second and "Welcome back." not in first
    assert "reader@home.test" in second
    assert second.count('hx-headers=\'{"X-CSRFToken"') == 1
    # The shared parts are the anonymous page's, around the viewer's own.
    anonymous = html(get(Client(), url))
    assert "<!--slot:" not in anonymous
    for shared in ('<h1 id="researcher-name"', "Note 11", "Request removal or hiding"):
        assert shared in anonymous and shared in second, shared


def test_a_signed_in_profile_shows_a_change_on_the_next_request(client, ada):
    client.force_login(make_user("reader@home.test"))
    url = ada.get_absolute_url()
    assert "Poet of the engine." not in html(get(client, url))
    get(client, url)  # the shell is warm
    Researcher.objects.filter(pk=ada.pk).update(summary="Poet of the engine.")
    assert "Poet of the engine." in html(get(client, url))


def test_a_readers_own_parts_are_kept_and_each_response_masks_its_token_anew(client, ada):
    from django.middleware.csrf import _unmask_cipher_token

    reader = make_user("reader@home.test")
    client.force_login(reader)
    url = ada.get_absolute_url()
    tokens = []
    for _ in range(2):
        page = html(get(client, url))
        token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        assert f'"X-CSRFToken": "{token}"' in page  # one token per page, everywhere
        tokens.append(token)
    assert tokens[0] != tokens[1]
    assert _unmask_cipher_token(tokens[0]) == _unmask_cipher_token(tokens[1])
    # A change of the reader's own state shows at once: the kept parts are keyed by it.
    follow_researcher(user=reader, researcher=ada)
    assert 'aria-pressed="true"' in html(get(client, url))
