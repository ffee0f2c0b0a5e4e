from __future__ import annotations

import re

import pytest

from graph.edges import rebuild_coauthor_edges
from graph.models import CoauthorEdge
from tests.factories import AuthorshipFactory, ResearcherFactory, WorkFactory

pytestmark = pytest.mark.django_db


def _edges(researcher, rows):
    for name, shared, last_year, close in rows:
        CoauthorEdge.objects.create(
            researcher=researcher,
            coauthor=ResearcherFactory(display_name=name),
            shared_works=shared,
            last_year=last_year,
            smallest_team=3,
            is_close=close,
        )


def _names(html: str) -> list[str]:
    return re.findall(r'<td><a href="[^"]+">([^<]+)</a>', html)


def test_coauthors_page_lists_every_coauthor_sorted_three_ways(client):
    researcher = ResearcherFactory()
    _edges(researcher, [("Bea", 1, 2024, False), ("Ann", 5, 2019, True), ("Cid", 2, None, True)])
    url = f"/researchers/{researcher.pk}/coauthors/"
    html = client.get(url).content.decode()
    assert _names(html) == ["Ann", "Cid", "Bea"]
    assert "3 co-authors" in html
    assert _names(client.get(f"{url}?sort=recent").content.decode()) == ["Bea", "Ann", "Cid"]
    assert _names(client.get(f"{url}?sort=name").content.decode()) == ["Ann", "Bea", "Cid"]
    assert _names(client.get(f"{url}?sort=bogus").content.decode()) == ["Ann", "Cid", "Bea"]


def test_coauthors_from_real_edges_with_shared_works_and_last_year(client):
    researcher = ResearcherFactory()
    partner = ResearcherFactory(display_name="Partner")
    for year in (2018, 2021):
        work = WorkFactory(publication_year=year, authors_count=2)
        AuthorshipFactory(work=work, researcher=researcher, order=0)
        AuthorshipFactory(work=work, researcher=partner, order=1)
    rebuild_coauthor_edges(researcher_ids=[researcher.pk, partner.pk])
    html = client.get(f"/researchers/{researcher.pk}/coauthors/").content.decode()
    row = re.search(r"<tr>\s*<td><a [^>]+>Partner</a>.*?</tr>", html, re.S).group()
    assert re.findall(r"<td>(\d+)</td>", row) == ["2", "2021"]


def test_coauthors_page_is_paged_with_a_constant_query_count(client, query_budget):
    researcher = ResearcherFactory()
    _edges(researcher, [(f"Co {i:03d}", 1 + i % 4, 2000 + i % 20, i % 2 == 0) for i in range(120)])
    url = f"/researchers/{researcher.pk}/coauthors/"
    with query_budget("profile.coauthors"):
        html = client.get(f"{url}?sort=name&page=3").content.decode()
    assert _names(html) == [f"Co {i:03d}" for i in range(100, 120)]
    assert "Page 3 of 3" in html
    assert 'rel="prev" href="?sort=name&amp;page=2"' in html


def test_close_collaborators_stat_links_to_the_coauthors_page(client):
    researcher = ResearcherFactory()
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert (
        '<dt>close collaborators</dt><dd>0</dd><dd class="stat-link">'
        f'<a href="/researchers/{researcher.pk}/coauthors/">All co-authors</a></dd>'
    ) in html


def test_coauthors_page_of_a_merged_record_redirects_to_the_survivor(client):
    survivor = ResearcherFactory()
    merged = ResearcherFactory(merged_into=survivor)
    response = client.get(f"/researchers/{merged.pk}/coauthors/")
    assert response["Location"] == f"/researchers/{survivor.pk}/coauthors/"
