"""The work, topic and institution pages, through the test client (middleware runs)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, path, reverse

from bzpeer import urls as root_urls
from profiles.models import Researcher, ResearcherTopic
from tests.builders import (
    AuthorshipInstitution,
    bulk_authorships,
    bulk_institutions,
    bulk_researchers,
    bulk_topics,
    bulk_works,
    link_topics,
)
from tests.factories import (
    AuthorshipFactory,
    InstitutionFactory,
    ResearcherFactory,
    SourceFactory,
    TopicFactory,
    WorkFactory,
)
from works.models import Authorship, Work

pytestmark = pytest.mark.django_db


# The profile page (researcher_detail) belongs to the profiles app and may not be routed
# yet; when it is missing these tests serve a stand-in so author links still reverse.
def _profile_stand_in(request: HttpRequest, pk: int, slug: str) -> HttpResponse:
    return HttpResponse("profile")


urlpatterns = [
    *root_urls.urlpatterns,
    path("researchers/<int:pk>-<slug:slug>/", _profile_stand_in, name="researcher_detail"),
]


@pytest.fixture(autouse=True)
def _profile_urls(settings):
    try:
        reverse("researcher_detail", kwargs={"pk": 1, "slug": "a"})
    except NoReverseMatch:
        settings.ROOT_URLCONF = __name__


class _Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.levels: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.levels.append(tag)


def headings(html: str) -> list[str]:
    parser = _Headings()
    parser.feed(html)
    return parser.levels


def assert_page_basics(response, *, title: str, canonical_path: str) -> None:
    html = response.content.decode()
    assert response.status_code == 200
    assert f"<title>{title}" in html
    assert '<meta name="description" content="' in html
    assert f'<link rel="canonical" href="http://testserver{canonical_path}">' in html
    levels = headings(html)
    assert levels[0] == "h1"
    assert levels.count("h1") == 1
    assert set(levels[1:]) == {"h2"}


def make_work_with_authors(n: int, **work_fields) -> Work:
    """A work with three topics and `n` authors, each at an institution of their own."""
    work = WorkFactory(authors_count=n, **work_fields)
    link_topics((work, topic) for topic in bulk_topics(3))
    authorships = bulk_authorships([(work, bulk_researchers(n))])
    AuthorshipInstitution.objects.bulk_create(
        AuthorshipInstitution(authorship_id=a.pk, institution_id=place.pk)
        for a, place in zip(authorships, bulk_institutions(n), strict=True)
    )
    return work


# --- work page ------------------------------------------------------------------------


def test_work_page_shows_the_record(client):
    venue = SourceFactory(display_name="Journal of Tests")
    work = WorkFactory(
        title="Mixtral of Experts",
        abstract="We introduce\nMixtral 8x7B.",
        type="preprint",
        publication_year=2024,
        venue=venue,
        cited_by_count=1234,
        authors_count=2,
    )

    response = client.get(work.get_absolute_url())

    assert_page_basics(
        response, title="Mixtral of Experts · BZPEER", canonical_path=f"/works/{work.pk}/"
    )
    html = response.content.decode()
    assert '<h1 id="work-title">Mixtral of Experts</h1>' in html
    # The description is one line even when the abstract is not.
    assert '<meta name="description" content="We introduce Mixtral 8x7B.">' in html
    for text in ("Journal of Tests", "2024", "preprint", "<p>We introduce<br>Mixtral 8x7B.</p>"):
        assert text in html
    assert "Cited by 1,234" in html


def test_work_page_lists_authors_in_author_order_with_profile_links(client):
    work = WorkFactory(authors_count=3)
    # Created out of order: the page must follow Authorship.order, not insertion.
    last = AuthorshipFactory(work=work, order=2, researcher__display_name="Carol Last")
    first = AuthorshipFactory(work=work, order=0, researcher__display_name="Alice First")
    middle = AuthorshipFactory(work=work, order=1, researcher__display_name="Bob Middle")

    html = client.get(work.get_absolute_url()).content.decode()

    positions = [html.index(name) for name in ("Alice First", "Bob Middle", "Carol Last")]
    assert positions == sorted(positions)
    for authorship in (first, middle, last):
        assert f'href="{authorship.researcher.get_absolute_url()}"' in html
    assert "more</p>" not in html


def test_work_page_links_topics_institutions_doi_and_arxiv(client):
    work = WorkFactory(doi="10.1234/abc.5", arxiv_id="2401.04088", authors_count=2)
    topic = TopicFactory(display_name="Language models")
    work.topics.add(topic)
    mit = InstitutionFactory(display_name="MIT", country_code="US")
    inria = InstitutionFactory(display_name="Inria", country_code="FR")
    AuthorshipFactory(work=work, order=0).institutions.add(mit, inria)
    AuthorshipFactory(work=work, order=1).institutions.add(mit)

    html = client.get(work.get_absolute_url()).content.decode()

    assert 'href="https://doi.org/10.1234/abc.5"' in html
    assert 'href="https://arxiv.org/abs/2401.04088"' in html
    assert f'href="{topic.get_absolute_url()}">Language models</a>' in html
    assert f'href="{mit.get_absolute_url()}">MIT</a>' in html
    assert f'href="{inria.get_absolute_url()}">Inria</a>' in html
    # The institution with more of this work's authors comes first.
    assert html.index(">MIT</a>") < html.index(">Inria</a>")
    assert "US · 2 authors" in html


def test_work_page_without_ids_has_no_dead_links(client):
    work = WorkFactory(doi=None, arxiv_id="", landing_page_url="javascript:alert(1)")

    html = client.get(work.get_absolute_url()).content.decode()

    assert "doi.org" not in html
    assert "arxiv.org" not in html
    assert "javascript:" not in html
    assert "No abstract in the source record." in html


def test_work_page_escapes_title_and_abstract(client):
    work = WorkFactory(
        title="<script>alert('t')</script> & more",
        abstract='<img src=x onerror="alert(1)"> <script>alert(2)</script>',
    )

    html = client.get(work.get_absolute_url()).content.decode()

    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt; &amp; more" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_hidden_work_is_not_found(client):
    work = WorkFactory(is_hidden=True)

    assert client.get(work.get_absolute_url()).status_code == 404


def test_unknown_work_is_not_found(client):
    assert client.get(reverse("work_detail", args=[987654])).status_code == 404


def test_work_page_answers_get_only(client):
    work = WorkFactory()

    assert client.post(work.get_absolute_url()).status_code == 405


def test_hyper_authored_work_shows_first_50_authors_and_the_rest_as_a_count(client, query_budget):
    work = WorkFactory(authors_count=3000)
    researchers = Researcher.objects.bulk_create(
        Researcher(source_id=f"urn:bzpeer:test:big{i}", display_name=f"Physicist {i:04d}")
        for i in range(3000)
    )
    Authorship.objects.bulk_create(
        Authorship(work=work, researcher=r, order=i, raw_author_name=r.display_name)
        for i, r in enumerate(researchers)
    )

    with query_budget("works.work"):
        html = client.get(work.get_absolute_url()).content.decode()

    assert "Physicist 0000" in html
    assert "Physicist 0049" in html
    assert "Physicist 0050" not in html
    assert "and 2,950 more" in html


def test_work_page_query_count_does_not_grow_with_authors(client, query_budget):
    for work in (make_work_with_authors(3), make_work_with_authors(30)):
        with query_budget("works.work"):
            assert client.get(work.get_absolute_url()).status_code == 200


# --- topic page -----------------------------------------------------------------------


def make_topic(n: int):
    """A topic with `n` researchers (each at an institution) and `n` works."""
    topic = TopicFactory()
    people = Researcher.objects.bulk_create(
        ResearcherFactory.build(last_known_institution=place) for place in bulk_institutions(n)
    )
    ResearcherTopic.objects.bulk_create(
        ResearcherTopic(researcher=person, topic=topic, works_count=i + 1)
        for i, person in enumerate(people)
    )
    works = bulk_works(n, each=lambda i: {"publication_year": 2000 + i})
    link_topics((work, topic) for work in works)
    return topic


def test_topic_page_ranks_researchers_and_lists_recent_works(client):
    topic = TopicFactory(display_name="Sparse experts", field_name="Computer Science")
    few = ResearcherFactory(display_name="Few Works")
    many = ResearcherFactory(display_name="Many Works")
    survivor = ResearcherFactory(display_name="Survivor")
    merged = ResearcherFactory(display_name="Merged Duplicate", merged_into=survivor)
    for researcher, count in ((few, 2), (many, 9), (merged, 50)):
        ResearcherTopic.objects.create(researcher=researcher, topic=topic, works_count=count)
    old = WorkFactory(title="Old work", publication_year=2001, venue__display_name="Old Venue")
    new = WorkFactory(title="New work", publication_year=2024)
    undated = WorkFactory(title="Undated work", publication_year=None)
    hidden = WorkFactory(title="Hidden work", publication_year=2025, is_hidden=True)
    for work in (old, new, undated, hidden):
        work.topics.add(topic)

    response = client.get(topic.get_absolute_url())

    assert_page_basics(
        response,
        title="Sparse experts · Topic · BZPEER",
        canonical_path=f"/topics/{topic.pk}/",
    )
    html = response.content.decode()
    assert "Field: Computer Science" in html
    assert html.index("Many Works") < html.index("Few Works")
    assert "9 works on this topic" in html
    assert f'href="{many.get_absolute_url()}"' in html
    assert "Merged Duplicate" not in html
    assert "Hidden work" not in html
    assert html.index("New work") < html.index("Old work") < html.index("Undated work")
    assert f'href="{old.get_absolute_url()}">Old work</a>' in html
    assert "Old Venue" in html


def test_topic_page_caps_researchers_at_50_and_works_at_20(client):
    topic = make_topic(55)

    html = client.get(topic.get_absolute_url()).content.decode()

    assert html.count('href="/researchers/') == 50
    assert html.count('href="/works/') == 20


def test_topic_page_escapes_names(client):
    topic = TopicFactory(display_name="<script>alert(1)</script>")

    html = client.get(topic.get_absolute_url()).content.decode()

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unknown_topic_is_not_found(client):
    assert client.get(reverse("topic_detail", args=[987654])).status_code == 404


def test_topic_page_query_count_does_not_grow(client, query_budget):
    for record in (make_topic(3), make_topic(30)):
        with query_budget("works.topic"):
            assert client.get(record.get_absolute_url()).status_code == 200


# --- institution page -----------------------------------------------------------------


def make_institution(n: int, **fields):
    institution = InstitutionFactory(**fields)
    bulk_researchers(n, last_known_institution=institution)
    return institution


def test_institution_page_shows_the_record_and_its_researchers(client):
    institution = InstitutionFactory(
        display_name="Inria",
        country_code="FR",
        type="government",
        ror="https://ror.org/02kvxyf05",
        homepage_url="https://www.inria.fr/",
    )
    ResearcherFactory(display_name="Junior", works_count=3, last_known_institution=institution)
    senior = ResearcherFactory(
        display_name="Senior", works_count=40, last_known_institution=institution
    )
    ResearcherFactory(
        display_name="Old Duplicate",
        works_count=99,
        last_known_institution=institution,
        merged_into=senior,
    )
    ResearcherFactory(display_name="Elsewhere", works_count=500)

    response = client.get(institution.get_absolute_url())

    assert_page_basics(
        response,
        title="Inria · Institution · BZPEER",
        canonical_path=f"/institutions/{institution.pk}/",
    )
    html = response.content.decode()
    assert "<dd>FR</dd>" in html
    assert "<dd>government</dd>" in html
    assert 'href="https://ror.org/02kvxyf05"' in html
    assert 'href="https://www.inria.fr/"' in html
    assert html.index("Senior") < html.index("Junior")
    assert f'href="{senior.get_absolute_url()}">Senior</a>' in html
    assert "Old Duplicate" not in html
    assert "Elsewhere" not in html
    assert "2 researchers last seen here" in html


def test_institution_page_builds_ror_link_from_bare_id_and_drops_unsafe_homepage(client):
    institution = InstitutionFactory(ror="02kvxyf05", homepage_url="javascript:alert(1)")

    html = client.get(institution.get_absolute_url()).content.decode()

    assert 'href="https://ror.org/02kvxyf05"' in html
    assert "javascript:" not in html


def test_institution_page_paginates_researchers_by_50(client):
    institution = InstitutionFactory()
    Researcher.objects.bulk_create(
        Researcher(
            source_id=f"urn:bzpeer:test:inst{i}",
            display_name=f"Member {i:03d}",
            works_count=200 - i,
            last_known_institution=institution,
        )
        for i in range(120)
    )
    url = institution.get_absolute_url()

    first = client.get(url).content.decode()
    third = client.get(url, {"page": 3})
    invalid = client.get(url, {"page": "nope"}).content.decode()

    assert first.count('href="/researchers/') == 50
    assert "Member 000" in first and "Member 049" in first and "Member 050" not in first
    assert 'href="?page=2" rel="next"' in first
    assert "Page 1 of 3" in first
    assert_page_basics(
        third,
        title=f"{institution.display_name} (page 3) · Institution · BZPEER",
        canonical_path=f"{url}?page=3",
    )
    third_html = third.content.decode()
    assert third_html.count('href="/researchers/') == 20
    assert 'href="?page=2" rel="prev"' in third_html
    assert '<ol class="list-plain researcher-list" start="101">' in third_html
    assert "Member 000" in invalid


def test_institution_page_escapes_names(client):
    institution = InstitutionFactory(display_name="<script>alert(1)</script>")

    html = client.get(institution.get_absolute_url()).content.decode()

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unknown_institution_is_not_found(client):
    assert client.get(reverse("institution_detail", args=[987654])).status_code == 404


def test_institution_page_query_count_does_not_grow(client, query_budget):
    for record in (make_institution(3), make_institution(30)):
        with query_budget("works.institution"):
            assert client.get(record.get_absolute_url()).status_code == 200


# --- authors in full --------------------------------------------------------------------


def _hyper_authored(n: int) -> tuple[Work, list[Researcher]]:
    work = WorkFactory(authors_count=n)
    researchers = Researcher.objects.bulk_create(
        Researcher(source_id=f"urn:bzpeer:test:many{i}", display_name=f"Author {i:04d}")
        for i in range(n)
    )
    Authorship.objects.bulk_create(
        Authorship(work=work, researcher=r, order=i, raw_author_name=r.display_name)
        for i, r in enumerate(researchers)
    )
    return work, researchers


def test_every_author_is_reachable_in_order_through_author_pages(client):
    work, _ = _hyper_authored(119)
    seen = []
    for page in (1, 2, 3):
        html = client.get(f"{work.get_absolute_url()}?authors={page}").content.decode()
        seen += re.findall(r">(Author \d{4})</a>", html)
    assert seen == [f"Author {i:04d}" for i in range(119)]
    last = client.get(f"{work.get_absolute_url()}?authors=3").content.decode()
    assert "Authors 101–119 of 119 (page 3 of 3)" in last
    assert "Next authors" not in last and "more</p>" not in last


def test_the_researcher_a_visitor_came_from_is_always_shown(client):
    work, researchers = _hyper_authored(119)
    le_scao = researchers[92]
    html = client.get(f"{work.get_absolute_url()}?author={le_scao.pk}").content.decode()
    assert "Author 0092</a></strong>" in html
    assert "is author 93 of 119." in html
    assert f"?authors=2&amp;author={le_scao.pk}" in html
    # On the page that lists them they are highlighted in place, not repeated above.
    html = client.get(f"{work.get_absolute_url()}?authors=2&author={le_scao.pk}").content.decode()
    assert "is author 93 of" not in html
    assert re.search(r'<li value="93">\s*<strong class="self"><a [^>]+>Author 0092<', html)


def test_work_page_with_1000_authors_keeps_its_query_budget(client, query_budget):
    work, researchers = _hyper_authored(1000)
    with query_budget("works.work"):
        client.get(f"{work.get_absolute_url()}?authors=7")
    # The researcher a visitor came from, off this page: their authorship and institutions.
    with query_budget("works.work_from_author"):
        client.get(f"{work.get_absolute_url()}?authors=1&author={researchers[900].pk}")


def test_out_of_range_author_page_shows_the_last(client):
    work, _ = _hyper_authored(60)
    html = client.get(f"{work.get_absolute_url()}?authors=99").content.decode()
    assert "Authors 51–60 of 60 (page 2 of 2)" in html
