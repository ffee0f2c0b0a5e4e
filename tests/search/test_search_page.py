"""/search/ through the test client, on records imported with the real importer."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from bzpeer.curation.derived import refresh_derived_data
from tests.factories import ResearcherFactory
from tests.search.conftest import GARCIAS, MARIA_ORCID, load_corpus

pytestmark = pytest.mark.django_db


def search(client, q, **params):
    return client.get(reverse("search"), {"q": q, **params})


def html_of(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


# --- researchers by name ---------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Ramirez Cacho",  # no accents
        "ramírez cacho",  # lower case
        "Cacho Ramírez",  # word order
        "María Ramírez Cacho",  # a missing middle name
        "RAMIREZ",  # surname only, upper case
        "Ramirex Cacho",  # a typo
        "Ramírez Cahco",  # a transposition
        "Marijose",  # an alternative name only
        "Ramír",  # a prefix, as typed
    ],
)
def test_finds_a_researcher_by_name_whatever_the_accents_case_order_or_typos(client, corpus, query):
    html = html_of(search(client, query))

    assert f'href="{corpus.maria.get_absolute_url()}">María José Ramírez Cacho</a>' in html


@pytest.mark.parametrize(
    "query",
    [
        "Demis Hasasbis",  # two letters swapped (an edit distance of 2)
        "Demis Hassbis",  # a letter missing
        "Demsi Hassabis",  # a swap in a short word
        "Demis Fassabis",  # the first letter wrong (trigram similarity)
        "Hasasbis DeepMind",  # a typo beside an institution's word
    ],
)
def test_a_typo_finds_the_researcher(client, corpus, query):
    html = html_of(search(client, query, kind="researchers"))

    assert corpus.hassabis.display_name in html


def test_near_spellings_are_looked_up_only_when_few_match_as_typed(client, corpus):
    near = ResearcherFactory(display_name="Ana Garcis Núñez")
    refresh_derived_data(researcher_ids=[near.pk])

    # Two dozen Garcías match as typed: the near spelling is not among them.
    assert near.display_name not in html_of(search(client, "García", kind="researchers"))
    # Nobody is called "Garcio": the near spellings are, García and Garcis.
    typo = html_of(search(client, "Ana Garcio", kind="researchers"))
    assert near.display_name in typo
    assert "Ana García" in typo


def test_a_researcher_result_shows_enough_to_choose(client, corpus):
    html = html_of(search(client, "Ramirez Cacho"))

    assert "Universidad de Granada" in html
    assert "1 work ·" in html
    assert f"Trust {corpus.maria.trust_band}" in html
    assert f"ORCID {MARIA_ORCID}" in html


def test_same_name_matches_rank_by_works_then_name(client, corpus):
    html = html_of(search(client, "García", kind="researchers"))

    most = max(corpus.garcias, key=lambda r: (r.works_count, -ord(r.display_name[0])))
    fewest = min(corpus.garcias, key=lambda r: r.works_count)
    assert html.index(most.display_name) < html.index(fewest.display_name)


def test_an_institution_word_finds_its_researchers(client, corpus):
    html = html_of(search(client, "Hassabis DeepMind", kind="researchers"))

    assert corpus.hassabis.display_name in html


# --- identifiers go straight to the record ------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [MARIA_ORCID, f"https://orcid.org/{MARIA_ORCID}", f"  {MARIA_ORCID} "],
)
def test_an_orcid_in_any_form_goes_to_the_profile(client, corpus, query):
    response = search(client, query)

    assert response.status_code == 302
    assert response["Location"] == corpus.maria.get_absolute_url()


@pytest.mark.parametrize(
    "query", ["A5000000002", "https://openalex.org/A5000000002", "a5000000002"]
)
def test_an_openalex_author_id_goes_to_the_profile(client, corpus, query):
    response = search(client, query)

    assert response.status_code == 302
    assert response["Location"] == corpus.hassabis.get_absolute_url()


@pytest.mark.parametrize(
    "query",
    [
        "10.1038/s41586-021-03819-2",
        "doi:10.1038/s41586-021-03819-2",
        "https://doi.org/10.1038/S41586-021-03819-2",
        "W3177828909",
    ],
)
def test_a_doi_in_any_form_or_work_id_goes_to_the_work(client, corpus, query):
    response = search(client, query)

    assert response.status_code == 302
    assert response["Location"] == corpus.alphafold.get_absolute_url()


@pytest.mark.parametrize("query", ["1712.01815", "arXiv:1712.01815"])
def test_an_arxiv_id_goes_to_the_work(client, corpus, query):
    response = search(client, query)

    assert response.status_code == 302
    assert response["Location"] == corpus.alphago.get_absolute_url()


def test_a_ror_id_goes_to_the_institution(client, corpus):
    response = search(client, "https://ror.org/00971b260")

    assert response.status_code == 302
    assert response["Location"] == corpus.deepmind.get_absolute_url()


def test_an_unknown_identifier_says_so_and_searches_the_text(client, corpus):
    html = html_of(search(client, "0000-0001-5109-3700"))

    assert "No record here has the ORCID iD 0000-0001-5109-3700" in html
    assert "Nothing found" in html


# --- works, topics, institutions -----------------------------------------------------------


def test_finds_works_by_title_words_with_stemming_and_accents(client, corpus):
    html = html_of(search(client, "protein predictions"))
    assert corpus.alphafold.title in html

    html = html_of(search(client, "analisis dinamica"))
    assert "Análisis de la dinámica de proteínas" in html


def test_a_work_result_shows_year_venue_and_first_authors(client, corpus):
    html = html_of(search(client, "alphafold"))

    assert "2021" in html
    assert f'href="{corpus.jumper.get_absolute_url()}">John Jumper</a>' in html
    assert "Demis Hassabis" in html


def test_finds_topics_and_institutions_by_name_without_accents(client, corpus):
    html = html_of(search(client, "granada"))
    assert f'href="{corpus.granada.get_absolute_url()}">Universidad de Granada</a>' in html

    html = html_of(search(client, "protein structure"))
    assert f'href="{corpus.protein.get_absolute_url()}">Protein Structure and Dynamics</a>' in html


def test_results_are_grouped_by_kind_with_a_link_to_all_of_a_kind(client, corpus):
    html = html_of(search(client, "garcia"))

    assert 'id="researchers-heading"' in html
    assert f'Researchers <span class="muted">({GARCIAS})</span>' in html
    assert "All researchers matching “garcia”" in html
    assert html.count('class="result researcher-result"') == 5


def test_no_result_is_a_helpful_page(client, corpus):
    html = html_of(search(client, "Zyxwvut Qwerty"))

    assert "Nothing found for “Zyxwvut Qwerty”" in html
    assert "ORCID iD" in html
    assert reverse("researcher_directory") in html


# --- filters and paging --------------------------------------------------------------------


def test_filters_are_links_with_counts(client, corpus):
    html = html_of(search(client, "garcia", kind="researchers"))

    granada = sum(1 for r in corpus.garcias if r.last_known_institution_id == corpus.granada.pk)
    kyoto = len(corpus.garcias) - granada
    assert (
        f'<a href="/search/?q=garcia&amp;kind=researchers&amp;institution={corpus.granada.pk}" '
        f'rel="nofollow">Universidad de Granada</a> <span class="muted">({granada})</span>'
    ) in html
    assert f'Kyoto University</a> <span class="muted">({kyoto})</span>' in html
    assert f'ES</a> <span class="muted">({granada})</span>' in html
    assert 'Has an ORCID iD</a> <span class="muted">(0)</span>' in html


def test_a_filter_narrows_the_results_and_its_url_is_shareable(client, corpus):
    html = html_of(
        search(client, "garcia", kind="researchers", institution=corpus.granada.pk, country="ES")
    )

    at_granada = [r for r in corpus.garcias if r.last_known_institution_id == corpus.granada.pk]
    elsewhere = [r for r in corpus.garcias if r.last_known_institution_id != corpus.granada.pk]
    assert html.count('class="result researcher-result"') == len(at_granada)
    assert f'href="{elsewhere[0].get_absolute_url()}"' not in html
    assert 'aria-current="true" class="facet-selected"' in html


def test_work_filters_type_and_year_range(client, corpus):
    html = html_of(search(client, "field notes", kind="works", year_from=2003, year_to=2004))

    assert "Field notes" in html
    results = html.split('id="works-heading"')[1].split("</section>")[0]
    # The years the results show (not a bare "2000", which a work's id can contain).
    years = re.findall(r'result-meta">(\d{4}) ', results)
    assert years and set(years) <= {"2003", "2004"}


def test_a_kind_pages_its_results(client, tmp_path):
    load_corpus(tmp_path, extra_garcias=10)  # 34 Garcías: two pages of 20

    first = html_of(search(client, "garcia", kind="researchers"))
    second = html_of(search(client, "garcia", kind="researchers", page=2))

    assert first.count('class="result researcher-result"') == 20
    assert second.count('class="result researcher-result"') == GARCIAS + 10 - 20
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert '<ol class="list-plain result-list" start="21">' in second


# --- bad input -------------------------------------------------------------------------------


def test_an_empty_query_is_the_browse_page(client, corpus):
    response = search(client, "   ")

    assert response.status_code == 302
    assert response["Location"] == reverse("researcher_directory")


@pytest.mark.parametrize(
    "query",
    [
        "a",
        "x" * 1000,
        "!!!??...",
        "'; DROP TABLE profiles_researcher; --",
        "%' OR 1=1 --",
        ".*[(\\d+)?|^$",
        "a:* & !b | (c <-> d)",
        "nul\x00byte",
        "😀🔬",
        "عبد الرحمن",
        "\u202egarcia",
        "<script>alert(1)</script>",
        "{{ 7*7 }}",
    ],
)
def test_bad_input_never_fails_and_is_never_echoed_unescaped(client, corpus, query):
    response = search(client, query)

    if "\x00" in query:  # refused before any view, with a plain message
        assert response.status_code == 400
        return
    html = html_of(response)
    assert "<script>alert(1)" not in html
    assert "Search · BZPEER" in html
    if "<script>" in query:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_bad_parameters_are_ignored(client, corpus):
    html = html_of(
        search(
            client,
            "garcia",
            page="-1",
            kind="everything",
            institution="1; DROP",
            verification="99",
            trust_band="<b>",
            year_from="abc",
            year_to="99999999999999",
            country="ZZZ",
        )
    )

    assert "García" in html


def test_suggestions_need_htmx_or_redirect_to_results(client, corpus):
    response = client.get(reverse("search_suggestions"), {"q": "garcia"})

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('search')}?q=garcia"


def test_the_year_range_form_keeps_the_search_and_its_filters(client, corpus):
    html = html_of(search(client, "field notes", kind="works", type="article", year_from=2001))

    form = html.split('class="year-range"')[1].split("</form>")[0]
    assert '<input type="hidden" name="q" value="field notes">' in form
    assert '<input type="hidden" name="type" value="article">' in form
    assert '<input type="hidden" name="kind" value="works">' in form
    assert 'name="year_from" min="1000" max="2100" value="2001"' in form
    assert 'name="year_to"' in form and 'hidden" name="year_from' not in form


def test_researcher_counts_of_a_large_match_cover_its_most_productive(client, corpus, monkeypatch):
    from bzpeer.search import queries

    monkeypatch.setattr(queries, "FACET_CANDIDATES", 4)
    html = html_of(search(client, "garcia", kind="researchers"))

    assert "Counts over the 4 matches with most works." in html
    counted = sorted(corpus.garcias, key=lambda r: (-r.works_count, r.pk))[:4]
    granada = sum(1 for r in counted if r.last_known_institution_id == corpus.granada.pk)
    assert f'Universidad de Granada</a> <span class="muted">({granada})</span>' in html
    # Every match is still listed and paged; only the counts are a sample.
    assert html.count('class="result researcher-result"') == min(len(corpus.garcias), 20)
