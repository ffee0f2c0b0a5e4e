"""The scholarly record on the profile: citation figures, per-work counts, authors, filters."""

from __future__ import annotations

import re
from html import unescape

import pytest

from bzpeer.curation.derived import recompute_metrics, refresh_researcher_counts
from profiles.models import Researcher
from tests.factories import (
    AuthorshipFactory,
    ResearcherFactory,
    TopicFactory,
    WorkFactory,
)
from tests.works.conftest import OPENALEX_DEMO, SEED, demo_records, run_command
from works.models import Work

pytestmark = pytest.mark.django_db


def _text(html: str, element_id: str) -> str:
    """The text of the element with this id (its tags stripped, spaces collapsed)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no #{element_id}"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(2))).split())


def _refresh(researcher):
    refresh_researcher_counts(researcher_ids=[researcher.pk])
    recompute_metrics(researcher_ids=[researcher.pk])
    researcher.refresh_from_db()
    return researcher


def cited_researcher(**kwargs):
    researcher = ResearcherFactory(**kwargs)
    for i, cited in enumerate([40, 12, 3, None]):
        work = WorkFactory(
            title=f"Paper {i}",
            cited_by_count=cited,
            publication_year=2020 + i,
            counts_by_year=[
                {"year": 2023, "cited_by_count": 5},
                {"year": 2024, "cited_by_count": 1},
            ]
            if cited
            else None,
        )
        AuthorshipFactory(work=work, researcher=researcher)
    return _refresh(researcher)


def test_profile_shows_our_citations_h_index_i10_and_chart(client):
    researcher = cited_researcher()
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert re.search(r'id="stat-citations">55<', html)
    assert re.search(r'id="stat-h-index">3<', html)
    assert re.search(r'id="stat-i10-index">2<', html)
    assert "Citations per year, 2023 to 2024" in html
    assert "Citations per year. 2023: 15, 2024: 3." in html
    assert "Computed by BZPEER from the citation counts of 3 of the 4 works listed below" in html
    coverage = _text(html, "metrics-coverage")
    assert coverage.startswith("From the 3 of 4 listed works with a known citation count.")
    assert "The other 1 work has no count in its source record: not known, which is not zero" in (
        coverage
    )
    assert "count as 0" not in html
    assert 'id="source-metrics"' not in html  # no source figures to compare


def test_every_count_known_needs_no_coverage_note(client):
    researcher = ResearcherFactory()
    for cited in (0, 1234):
        AuthorshipFactory(researcher=researcher, work=WorkFactory(cited_by_count=cited))
    _refresh(researcher)
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert re.search(r'id="stat-citations">1,234<', html)
    assert 'id="metrics-coverage"' not in html
    assert "from the citation counts of the 2 works listed below" in html
    assert sorted(re.findall(r'class="tag work-citations">([^<]+)<', html)) == [
        "Cited by 0",  # a known zero is a zero
        "Cited by 1,234",
    ]


def test_source_figures_are_named_when_they_differ(client):
    researcher = cited_researcher(
        source_id="https://openalex.org/A123",
        source_cited_by_count=900,
        source_summary_stats={"h_index": 9, "i10_index": 5},
    )
    html = client.get(researcher.get_absolute_url()).content.decode()
    note = html[html.index('id="source-metrics"') :]
    assert "(OpenAlex)" in note[:200]
    assert "900 citations, h-index 9, i10-index 5" in note


def test_same_source_figures_need_no_note(client):
    researcher = cited_researcher(
        source_cited_by_count=55, source_summary_stats={"h_index": 3, "i10_index": 2}
    )
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert 'id="source-metrics"' not in html


def test_works_without_any_citation_count_show_no_zero_figures(client):
    researcher = ResearcherFactory()
    AuthorshipFactory(researcher=researcher, work=WorkFactory(cited_by_count=None))
    _refresh(researcher)
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert 'id="metrics-unknown"' in html
    assert 'id="stat-h-index"' not in html
    assert "Citations not known" in html


def test_before_the_worker_ran_the_page_says_so(client):
    researcher = ResearcherFactory()
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert "Citation figures appear once the worker has computed them" in html


def test_each_work_shows_its_count_and_most_cited_sorts_by_it(client):
    researcher = cited_researcher()
    html = client.get(f"{researcher.get_absolute_url()}?sort=cited").content.decode()
    counts = re.findall(r'class="tag work-citations">([^<]+)<', html)
    assert counts == ["Cited by 40", "Cited by 12", "Cited by 3", "Citations not known"]


def test_profile_with_metrics_keeps_its_query_budget(client, query_budget):
    small = cited_researcher()
    large = ResearcherFactory()
    for i in range(80):
        work = WorkFactory(
            cited_by_count=i if i % 5 else None,
            publication_year=2000 + i % 20,
            counts_by_year=[{"year": y, "cited_by_count": i} for y in (2022, 2023, 2024)],
        )
        AuthorshipFactory(work=work, researcher=large)
    _refresh(large)
    for researcher in (small, large):
        with query_budget("profile.anonymous"):
            html = client.get(researcher.get_absolute_url()).content.decode()
        for shown in ('id="stat-h-index"', 'id="metrics-coverage"', "Citations per year"):
            assert shown in html


# --- the demo records, as a visitor sees them ----------------------------------------------------

ROBERTS = "https://openalex.org/A5009341822"  # Jonathan C. Roberts, counts on every work


def test_seed_profile_says_its_citations_are_not_known_rather_than_zero(client):
    assert run_command(SEED).error is None
    teven = Researcher.objects.get(source_id="urn:bzpeer:seed:A1")
    recompute_metrics(researcher_ids=[teven.pk])  # what the worker runs after the import
    html = client.get(teven.get_absolute_url()).content.decode()
    unknown = _text(html, "metrics-unknown")
    assert "the 7 listed works do not give them" in unknown
    assert "their citations are not known (absent, not zero)" in unknown
    for stat in ("stat-citations", "stat-h-index", "stat-i10-index", "metrics-coverage"):
        assert f'id="{stat}"' not in html
    counts = re.findall(r'class="tag work-citations">([^<]+)<', html)
    assert counts == ["Citations not known"] * 7
    assert "Cited by 0" not in html
    work = Work.objects.get(source_id="urn:bzpeer:seed:W7")
    assert _text(client.get(work.get_absolute_url()).content.decode(), "work-citations") == (
        "Citations not known"
    )


def test_demo_researcher_shows_our_figures_and_names_the_sources_own(client):
    assert run_command(OPENALEX_DEMO).error is None
    roberts = Researcher.objects.get(source_id=ROBERTS)
    recompute_metrics(researcher_ids=[roberts.pk])
    roberts.refresh_from_db()
    counts = [
        record["cited_by_count"]
        for record in demo_records(OPENALEX_DEMO / "works.jsonl.gz")
        if any(a["author"]["id"] == ROBERTS for a in record["authorships"])
    ]
    assert len(counts) == roberts.works_count and None not in counts
    ranked = sorted(counts, reverse=True)
    html = client.get(roberts.get_absolute_url()).content.decode()
    assert _text(html, "stat-citations") == f"{sum(counts):,}"
    assert _text(html, "stat-h-index") == str(sum(c >= r for r, c in enumerate(ranked, 1)))
    assert _text(html, "stat-i10-index") == str(sum(c >= 10 for c in counts))
    assert 'id="metrics-coverage"' not in html  # every work gives its count
    assert f"citation counts of the {len(counts)} works listed below" in html
    source = _text(html, "source-metrics")
    assert "The source record (OpenAlex) gives its own figures" in source
    assert "3,109 citations, h-index 23, i10-index 62" in source
    shown = re.findall(r'class="tag work-citations">Cited by ([\d,]+)<', html)
    assert sorted(int(n.replace(",", "")) for n in shown) == sorted(counts)


# --- authors on the works list ------------------------------------------------------------------


def test_work_item_shows_first_authors_and_the_researchers_position(client):
    researcher = ResearcherFactory(display_name="Teven Le Scao")
    work = WorkFactory(authors_count=119)
    for order in range(3):
        AuthorshipFactory(
            work=work, order=order, researcher=ResearcherFactory(display_name=f"A{order}")
        )
    AuthorshipFactory(work=work, researcher=researcher, order=92, author_position="middle")
    _refresh(researcher)
    html = client.get(researcher.get_absolute_url()).content.decode()
    authors = re.search(r'<p class="work-authors">(.*?)</p>', html, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", "", authors).split())
    assert text == "A0, A1, A2 … Teven Le Scao (93rd of 119) et al."
    assert '<strong class="self">Teven Le Scao</strong>' in authors


def test_last_author_needs_no_et_al(client):
    researcher = ResearcherFactory(display_name="Senior Author")
    work = WorkFactory(authors_count=5)
    for order in range(4):
        AuthorshipFactory(
            work=work, order=order, researcher=ResearcherFactory(display_name=f"A{order}")
        )
    AuthorshipFactory(work=work, researcher=researcher, order=4, author_position="last")
    _refresh(researcher)
    html = client.get(researcher.get_absolute_url()).content.decode()
    authors = re.search(r'<p class="work-authors">(.*?)</p>', html, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", "", authors).split())
    assert text == "A0, A1, A2 … Senior Author (5th of 5)"


def test_researcher_among_first_authors_is_highlighted_in_place(client):
    researcher = ResearcherFactory(display_name="Ada Lovelace")
    work = WorkFactory(authors_count=2)
    AuthorshipFactory(work=work, researcher=researcher, order=0)
    AuthorshipFactory(work=work, researcher=ResearcherFactory(display_name="Babbage"), order=1)
    _refresh(researcher)
    html = client.get(researcher.get_absolute_url()).content.decode()
    authors = re.search(r'<p class="work-authors">(.*?)</p>', html, re.S).group(1)
    assert " ".join(re.sub(r"<[^>]+>", "", authors).split()) == "Ada Lovelace, Babbage"
    assert '<strong class="self">Ada Lovelace</strong>' in authors


# --- filters ---------------------------------------------------------------------------


def filtered_researcher():
    researcher = ResearcherFactory()
    nlp = TopicFactory(display_name="NLP")
    for i in range(12):
        work = WorkFactory(
            title=f"Work {i}",
            type="article" if i % 3 else "preprint",
            publication_year=2010 + i,
            cited_by_count=i,
        )
        if i % 2:
            work.topics.add(nlp)
        AuthorshipFactory(
            work=work, researcher=researcher, author_position="first" if i < 4 else "last"
        )
    return _refresh(researcher), nlp


def _titles(html: str) -> list[str]:
    return re.findall(r'<h3 class="work-title"><a [^>]+>([^<]+)</a>', html)


def test_filters_combine_with_sort_and_show_counts(client):
    researcher, nlp = filtered_researcher()
    url = (
        f"{researcher.get_absolute_url()}?sort=cited&type=article&from=2012&to=2020&topic={nlp.pk}"
    )
    html = client.get(url).content.decode()
    assert _titles(html) == ["Work 7", "Work 5"]
    assert "2 published items matching the filters" in html
    assert '<option value="article" selected>article (8)</option>' in html
    assert '<option value="preprint">preprint (4)</option>' in html
    assert f'<option value="{nlp.pk}" selected>NLP (6)</option>' in html
    assert '<option value="first">First author (4)</option>' in html
    assert '<option value="last">Last author (8)</option>' in html


def test_role_filter_and_paging_keep_the_filters(client):
    researcher, _ = filtered_researcher()
    html = client.get(f"{researcher.get_absolute_url()}?role=last&sort=oldest").content.decode()
    assert _titles(html)[:2] == ["Work 4", "Work 5"]
    assert "8 published items matching the filters" in html
    html = client.get(f"{researcher.get_absolute_url()}?role=first").content.decode()
    assert sorted(_titles(html)) == ["Work 0", "Work 1", "Work 2", "Work 3"]


def test_filter_links_keep_filters_in_sort_and_page_links(client):
    researcher, _ = filtered_researcher()
    html = client.get(f"{researcher.get_absolute_url()}?type=article").content.decode()
    assert "?sort=cited&amp;type=article#published-work" in html


def test_filtered_fragment_pushes_the_shareable_profile_url(client):
    researcher, _ = filtered_researcher()
    response = client.get(
        f"/researchers/{researcher.pk}/works/?sort=oldest&type=article&role=last",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Push-Url"] == (
        f"{researcher.get_absolute_url()}?sort=oldest&type=article&role=last"
    )


def test_filtered_fragment_without_htmx_redirects_with_the_filters(client):
    researcher, _ = filtered_researcher()
    response = client.get(f"/researchers/{researcher.pk}/works/?type=article&from=2015")
    assert response["Location"] == (
        f"{researcher.get_absolute_url()}?type=article&from=2015#published-work"
    )


def test_junk_filter_values_are_ignored(client):
    researcher, _ = filtered_researcher()
    html = client.get(
        f"{researcher.get_absolute_url()}?from=abc&to=99999&topic=x&role=boss"
    ).content.decode()
    assert "12 published items<" in html


def test_filtered_profile_query_count_is_constant(client, query_budget):
    small, _ = filtered_researcher()
    large = ResearcherFactory()
    for i in range(120):
        work = WorkFactory(cited_by_count=i, publication_year=2000 + i % 20, authors_count=200)
        AuthorshipFactory(work=work, researcher=large, order=150)
        for order in range(4):
            AuthorshipFactory(work=work, order=order)
    _refresh(large)
    query = "?sort=cited&type=article&from=2000&role=first"
    for url in (small.get_absolute_url(), large.get_absolute_url()):
        # The unfiltered page first (a cold render), then the filtered list around the
        # sections it cached.
        for suffix, budget in (
            ("", "profile.anonymous"),
            (query, "profile.filtered_sections_cached"),
        ):
            with query_budget(budget):
                assert client.get(url + suffix).status_code == 200
    with query_budget("profile.works_fragment"):
        response = client.get(
            f"/researchers/{large.pk}/works/{query}", headers={"HX-Request": "true"}
        )
    assert response.status_code == 200
