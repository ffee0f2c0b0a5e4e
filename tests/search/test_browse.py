"""The directory, the indexes, topic and institution pages, the home page, the as-you-type
fragment, sitemap.xml and robots.txt; query budgets that do not grow with the data."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bzpeer.pagecache.responses import clear_all
from profiles.models import Researcher
from tests.search.conftest import GARCIAS, load_corpus

pytestmark = pytest.mark.django_db

# --- directory -------------------------------------------------------------------------------


def test_directory_lists_everyone_by_name_with_filters(client, corpus):
    html = client.get(reverse("researcher_directory")).content.decode()

    assert "Researchers · BZPEER" in html
    names = [r.display_name for r in Researcher.objects.order_by("display_name", "pk")[:20]]
    positions = [html.index(f">{name}</a>") for name in names]
    assert positions == sorted(positions)
    assert f"{GARCIAS + 3} researchers" in html
    assert "Universidad de Granada</a>" in html  # a filter value, with its count


def test_directory_sorted_by_works_and_filtered(client, corpus):
    url = reverse("researcher_directory")
    html = client.get(url, {"sort": "works", "institution": corpus.granada.pk}).content.decode()

    members = list(
        Researcher.objects.filter(last_known_institution=corpus.granada).order_by(
            "-works_count", "display_name"
        )
    )
    positions = [html.index(f">{r.display_name}</a>") for r in members[:5]]
    assert positions == sorted(positions)
    assert f"{len(members)} researchers with these filters" in html
    assert "John Jumper" not in html


def test_directory_pages(client, tmp_path):
    load_corpus(tmp_path, extra_garcias=20)  # 47 researchers: three pages of 20
    url = reverse("researcher_directory")

    third = client.get(url, {"page": 3}).content.decode()
    beyond = client.get(url, {"page": 9}).content.decode()

    assert third.count('class="result researcher-result"') == 7
    assert '<ol class="list-plain result-list" start="41">' in third
    assert "No researcher has all these filters" in beyond


# --- indexes and record pages ------------------------------------------------------------------


def test_topic_and_institution_indexes_rank_by_researchers(client, corpus):
    topics = client.get(reverse("topic_index")).content.decode()
    institutions = client.get(reverse("institution_index")).content.decode()

    assert topics.index("Protein Structure and Dynamics") < topics.index(
        "Reinforcement Learning in Robotics"
    )
    assert institutions.index("Universidad de Granada") < institutions.index("DeepMind")
    assert "2 researchers" in institutions  # DeepMind: Hassabis, and Jumper by affiliation


def test_institution_page_lists_researchers_its_affiliations_name(client, corpus):
    html = client.get(corpus.deepmind.get_absolute_url()).content.decode()

    assert corpus.jumper.last_known_institution.display_name == "Kyoto University"
    assert f'href="{corpus.jumper.get_absolute_url()}">John Jumper</a>' in html
    assert f'href="{corpus.hassabis.get_absolute_url()}">Demis Hassabis</a>' in html
    assert "2 researchers last seen here or named here by their works" in html


def test_topic_page_lists_all_its_researchers_paged(client, tmp_path):
    corpus = load_corpus(tmp_path, extra_garcias=150)
    robots = corpus.alphago.topics.get()
    url = robots.get_absolute_url()

    first = client.get(url).content.decode()
    last = client.get(url, {"page": 2}).content.decode()

    total = robots.researchertopic_set.count()
    assert total > 50
    assert f"{total} researchers with works on this topic" in first
    assert first.count("works on this topic") - 1 + last.count(" on this topic") - 1 >= 0
    assert 'href="?page=2" rel="next"' in first
    assert f"Page 2 of {(total + 49) // 50}" in last


# --- home, fragment, sitemap, robots ------------------------------------------------------------


def test_home_page_is_an_entry_point(client, corpus):
    html = client.get(reverse("home")).content.decode()

    assert html.index('id="home-search"') < html.index("Topics with most researchers")
    assert 'action="/search/"' in html
    assert "Protein Structure and Dynamics" in html
    assert reverse("researcher_directory") in html


def test_every_page_has_the_search_field(client, corpus):
    for url in (reverse("home"), corpus.maria.get_absolute_url(), reverse("topic_index")):
        html = client.get(url).content.decode()
        assert '<form class="site-search" role="search" method="get" action="/search/"' in html
        assert 'name="q"' in html


def test_suggestions_fragment_lists_choices_as_options(client, corpus):
    response = client.get(reverse("search_suggestions"), {"q": "ramír"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'role="listbox"' in html
    maria_url = corpus.maria.get_absolute_url()
    assert f'<li role="option" id="suggestion-r{corpus.maria.pk}" data-href="{maria_url}">' in html
    # An option holds nothing focusable (axe: nested-interactive).
    assert "<a " not in html
    assert "All results for “ramír”" in html


def test_suggestions_for_an_identifier_offer_the_record(client, corpus):
    response = client.get(
        reverse("search_suggestions"), {"q": corpus.alphafold.doi}, HTTP_HX_REQUEST="true"
    )

    assert 'id="suggestion-identified"' in response.content.decode()
    assert corpus.alphafold.get_absolute_url() in response.content.decode()


def test_sitemap_is_sectioned_and_lists_profiles_and_works(client, corpus):
    index = client.get("/sitemap.xml").content.decode()
    researchers = client.get("/sitemap-researchers.xml").content.decode()
    works = client.get("/sitemap-works.xml").content.decode()

    for section in ("pages", "researchers", "works", "topics", "institutions"):
        assert f"/sitemap-{section}.xml" in index
    assert f"http://testserver{corpus.maria.get_absolute_url()}</loc>" in researchers
    assert f"http://testserver{corpus.alphafold.get_absolute_url()}</loc>" in works


def test_sitemap_leaves_out_merged_records_and_hidden_works(client, corpus):
    corpus.jumper.merged_into = corpus.hassabis
    corpus.jumper.save()
    corpus.alphago.is_hidden = True
    corpus.alphago.save()

    assert (
        corpus.jumper.get_absolute_url()
        not in client.get("/sitemap-researchers.xml").content.decode()
    )
    assert (
        corpus.alphago.get_absolute_url() not in client.get("/sitemap-works.xml").content.decode()
    )


def test_robots_txt_points_to_the_sitemap(client):
    response = client.get("/robots.txt")

    assert response["Content-Type"] == "text/plain"
    assert "Sitemap: http://testserver/sitemap.xml" in response.content.decode()
    assert "Disallow: /search/" in response.content.decode()


# --- query budgets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "page", "headers"),
    [
        ("/search/?q=protein", "search.results", {}),
        ("/search/?q=garcia&kind=researchers&institution=0", "search.results_one_kind", {}),
        ("/search/suggest/?q=prot", "search.suggestions", {"HTTP_HX_REQUEST": "true"}),
        ("/researchers/?sort=works", "search.directory", {}),
        ("/topics/", "search.topic_index", {}),
        ("/institutions/", "search.institution_index", {}),
        ("/", "home", {}),
    ],
)
def test_query_count_does_not_grow_with_the_data(
    client, tmp_path, query_budget, url, page, headers
):
    small = tmp_path / "small"
    small.mkdir()
    load_corpus(small)
    with query_budget(page):
        assert client.get(url, **headers).status_code == 200

    Researcher.objects.all().delete()
    large = tmp_path / "large"
    large.mkdir()
    load_corpus(large, extra_garcias=60)
    with query_budget(page):
        assert client.get(url, **headers).status_code == 200


def test_record_page_budgets_do_not_grow(client, tmp_path, query_budget):
    small = load_corpus(tmp_path)
    with query_budget("works.topic"):
        client.get(small.protein.get_absolute_url())
    with query_budget("works.institution"):
        client.get(small.deepmind.get_absolute_url())

    more = tmp_path / "more"
    more.mkdir()
    load_corpus(more, extra_garcias=80)  # 80 more researchers on the topic and institution
    # A page none of whose shown rows changed stays cached: render both again.
    clear_all()

    with query_budget("works.topic"):
        client.get(small.protein.get_absolute_url())
    with query_budget("works.institution"):
        client.get(small.deepmind.get_absolute_url())


def test_directory_pages_past_the_search_cap(client, tmp_path, monkeypatch):
    from bzpeer.search import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 10)
    monkeypatch.setattr(queries, "CANDIDATES", 10)
    load_corpus(tmp_path)  # 27 researchers: two pages of 20, past a cap of 10

    second = client.get(reverse("researcher_directory"), {"page": 2}).content.decode()
    first = client.get(reverse("researcher_directory")).content.decode()

    assert f"{GARCIAS + 3} researchers" in first
    assert 'rel="next"' in first
    assert second.count('class="result researcher-result"') == GARCIAS + 3 - 20
    assert "Counts over the first 10 researchers in this order." in first


def test_home_page_lists_recently_claimed_profiles(client, corpus, django_user_model):
    from django.utils import timezone

    from claims.models import Claim

    owner = django_user_model.objects.create_user(username="maria", email="m@example.org")
    corpus.maria.owner = owner
    corpus.maria.save()
    Claim.objects.create(
        user=owner,
        researcher=corpus.maria,
        method=Claim.Method.ORCID,
        status=Claim.Status.APPROVED,
        decided_at=timezone.now(),
    )

    html = client.get(reverse("home")).content.decode()

    section = html.split('id="claimed-heading"')[1].split("</section>")[0]
    assert f'href="{corpus.maria.get_absolute_url()}">María José Ramírez Cacho</a>' in section
    assert "Hassabis" not in section
