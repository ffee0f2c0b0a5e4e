from __future__ import annotations

import pytest

from tests.builders import researcher_with_works
from tests.factories import (
    InstitutionFactory,
    ResearcherFactory,
)

pytestmark = pytest.mark.django_db


def test_profile_shows_every_section_in_order(client):
    researcher = researcher_with_works(3)
    response = client.get(researcher.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    html = html[html.index("<main") :]
    sections = [
        "Researcher profile",
        researcher.display_name,
        "Affiliation not imported",
        "Open to collaborate",
        "Trust snapshot",
        "Quick read",
        "Verification L1",
        "Unclaimed author",
        "close collaborators",
        "Decide how to stay connected",
        "Follow researcher",
        "How to connect with this researcher",
        "Log in to claim",
        "Open a focused conversation when the fit is right",
        "Claim this author entity first to unlock direct invitations.",
        "See the researcher in context",
        "Open full explorer",
        "Building this graph slice",
        "3 published items",
    ]
    positions = [html.index(text) for text in sections]
    assert positions == sorted(positions)


def test_summary_generated_from_topics_when_no_bio(client):
    researcher = researcher_with_works(2)
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert f"{researcher.display_name} publishes on Graph Theory." in html


def test_bio_shown_when_present_and_escaped(client):
    researcher = researcher_with_works(1, summary="<script>alert(1)</script> I study graphs.")
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; I study graphs." in html


def test_affiliation_chip_names_institution(client):
    institution = InstitutionFactory(display_name="Bangor University")
    researcher = researcher_with_works(1, last_known_institution=institution)
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert "Bangor University" in html
    assert "Affiliation not imported" not in html


def test_wrong_slug_redirects_to_canonical_url(client):
    researcher = researcher_with_works(1, display_name="Ada Lovelace")
    canonical = researcher.get_absolute_url()
    assert canonical == f"/researchers/{researcher.pk}-ada-lovelace/"
    response = client.get(f"/researchers/{researcher.pk}-someone-else/?sort=oldest")
    assert response.status_code == 301
    assert response["Location"] == f"{canonical}?sort=oldest"
    assert client.get(f"/researchers/{researcher.pk}/")["Location"] == canonical


def test_merged_record_redirects_to_survivor(client):
    survivor = researcher_with_works(1)
    merged = ResearcherFactory(merged_into=survivor)
    response = client.get(merged.get_absolute_url())
    assert response.status_code == 301
    assert response["Location"] == survivor.get_absolute_url()


def test_unknown_researcher_is_404(client):
    assert client.get("/researchers/999999-nobody/").status_code == 404


def test_page_has_title_description_and_canonical(client):
    researcher = researcher_with_works(1)
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert f"<title>{researcher.display_name} · Researcher profile · BZPEER</title>" in html
    assert '<meta name="description" content="' in html
    assert f'rel="canonical" href="http://testserver{researcher.get_absolute_url()}"' in html


def test_long_abstract_is_collapsed_without_javascript(client):
    researcher = researcher_with_works(1)
    work = researcher.authorships.get().work
    work.abstract = "long " * 200
    work.save()
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert '<details class="abstract">' in html
    assert "Show full abstract" in html


def test_the_abstract_lead_ends_at_a_word_and_the_toggle_names_only_what_it_does(client):
    researcher = researcher_with_works(1)
    work = researcher.authorships.get().work
    work.abstract = "Transformers " * 40  # 520 characters; 300 falls inside a word
    work.save()
    html = client.get(researcher.get_absolute_url()).content.decode()
    lead = html.split('<p class="abstract abstract-lead">')[1].split("</p>")[0]
    assert lead.endswith("Transformers…") and len(lead) <= 301
    summary = html.split('<details class="abstract">')[1].split("</summary>")[0]
    assert "Transformers" not in summary
    assert '<span class="more more-closed">Show full abstract</span>' in summary


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("short", "short"),
        ("alpha beta gamma", "alpha beta…"),
        ("alpha, beta gamma", "alpha…"),
        ("abcdefghijklmnop", "abcdefghij…"),  # no space in reach: cut at the limit
    ],
)
def test_truncate_at_word(text, expected):
    from profiles.templatetags.profile_text import truncate_at_word

    assert truncate_at_word(text, 10) == expected


def test_works_chart_has_text_alternative(client):
    researcher = researcher_with_works(3)
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert 'role="img"' in html
    assert "Works per year, 2000 to 2002" in html
    assert "2000: 1, 2001: 1, 2002: 1" in html


@pytest.mark.parametrize(
    ("logged_in", "budget"), [(False, "profile.anonymous"), (True, "profile.signed_in")]
)
def test_profile_query_count_is_constant(client, user, logged_in, budget, query_budget):
    if logged_in:
        client.force_login(user)
    small = researcher_with_works(3)
    large = researcher_with_works(300)
    for researcher in (small, large):
        with query_budget(budget):
            assert client.get(researcher.get_absolute_url()).status_code == 200


def test_works_fragment_query_count_is_constant(client, query_budget):
    for researcher in (researcher_with_works(3), researcher_with_works(300)):
        with query_budget("profile.works_fragment"):
            response = client.get(
                f"/researchers/{researcher.pk}/works/?sort=cited&page=1",
                headers={"HX-Request": "true"},
            )
        assert response.status_code == 200


def test_home_page_query_count_is_constant(client, query_budget):
    for n_works in (3, 300):
        researcher_with_works(n_works)
        with query_budget("home"):
            assert client.get("/").status_code == 200


def test_works_fragment_pages_and_sorts(client):
    researcher = researcher_with_works(25)
    response = client.get(
        f"/researchers/{researcher.pk}/works/?sort=oldest&page=3", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card works" id="published-work"')
    assert "Page 3 of 3" in html
    assert "<html" not in html


def test_works_fragment_without_htmx_redirects_to_profile(client):
    researcher = researcher_with_works(12)
    response = client.get(f"/researchers/{researcher.pk}/works/?sort=cited&page=2")
    assert response.status_code == 302
    assert response["Location"] == (
        f"{researcher.get_absolute_url()}?sort=cited&page=2#published-work"
    )


def test_profile_page_two_shows_later_works_without_js(client):
    researcher = researcher_with_works(12)
    html = client.get(f"{researcher.get_absolute_url()}?sort=oldest&page=2").content.decode()
    assert "Page 2 of 2" in html


@pytest.mark.parametrize(
    "path",
    [
        "A5017898742",
        "https://openalex.org/A5017898742",
        "openalex.org/A5017898742",
    ],
)
def test_profile_by_openalex_id_redirects_to_profile(client, path):
    researcher = ResearcherFactory(source_id="https://openalex.org/A5017898742")
    response = client.get(f"/researchers/source/{path}/")
    assert response.status_code == 302
    assert response["Location"] == researcher.get_absolute_url()


def test_profile_by_local_source_id(client):
    researcher = ResearcherFactory(source_id="urn:bzpeer:seed:A1")
    response = client.get("/researchers/source/urn:bzpeer:seed:A1/")
    assert response["Location"] == researcher.get_absolute_url()
    assert client.get("/researchers/source/urn:bzpeer:seed:A404/").status_code == 404
