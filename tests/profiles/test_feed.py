from __future__ import annotations

from datetime import date

import feedparser
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import AuthorshipFactory, ResearcherFactory, WorkFactory
from tests.query_budgets import BUDGETS

pytestmark = pytest.mark.django_db


def _researcher(n: int):
    researcher = ResearcherFactory(display_name="Ada Lovelace")
    for i in range(n):
        work = WorkFactory(
            title=f"Note {i} on the <Engine> & more",
            publication_date=date(2020, 1, 1 + i % 28),
            first_imported_at=timezone.now(),
            abstract="An abstract.",
        )
        AuthorshipFactory(work=work, researcher=researcher)
    return researcher


def _feed(client, researcher):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/researchers/{researcher.pk}/feed.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    return feedparser.parse(response.content), len(ctx.captured_queries)


def test_feed_is_valid_atom_listing_the_researchers_works(client):
    researcher = _researcher(3)
    hidden = WorkFactory(title="Hidden work", is_hidden=True)
    AuthorshipFactory(work=hidden, researcher=researcher)

    feed, _ = _feed(client, researcher)

    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title == "New works by Ada Lovelace · BZPEER"
    assert feed.feed.link == f"http://testserver{researcher.get_absolute_url()}"
    assert feed.feed.author == "Ada Lovelace"
    titles = sorted(entry.title for entry in feed.entries)
    assert titles == [f"Note {i} on the <Engine> & more" for i in range(3)]
    entry = feed.entries[0]
    assert entry.link.startswith("http://testserver/works/")
    assert entry.id.startswith("urn:bzpeer:test:W")
    assert entry.updated_parsed and entry.published_parsed


def test_feed_query_count_is_constant(client):
    _, small = _feed(client, _researcher(2))
    _, large = _feed(client, _researcher(60))
    assert small == large == BUDGETS["profile.feed"]


def test_profile_links_its_feed(client):
    researcher = _researcher(1)
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert (
        f'<link rel="alternate" type="application/atom+xml" '
        f'title="New works by Ada Lovelace" href="/researchers/{researcher.pk}/feed.atom">'
    ) in html


def test_feed_of_unknown_researcher_is_404(client):
    assert client.get("/researchers/999999/feed.atom").status_code == 404
