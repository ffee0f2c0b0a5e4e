"""Link previews and schema.org JSON-LD on the work, topic and institution pages."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import extruct
import pytest
from django.utils import timezone

from tests.factories import (
    AuthorshipFactory,
    InstitutionFactory,
    ResearcherFactory,
    SourceFactory,
    TopicFactory,
    WorkFactory,
)

pytestmark = pytest.mark.django_db


def extract(html: str, url: str) -> dict:
    data = extruct.extract(html, base_url=url, syntaxes=["json-ld", "opengraph"])
    by_type: dict[str, list[dict]] = {}
    for item in data["json-ld"]:
        by_type.setdefault(item["@type"], []).append(item)
    (graph,) = data["opengraph"]
    return {"jsonld": by_type, "og": dict(graph["properties"])}


def assert_twitter_card(html: str, title: str) -> None:
    """The Twitter card tags, read as a parser reads them (attribute order aside)."""
    head = html.split("</head>")[0]
    cards = dict(re.findall(r'<meta name="(twitter:[a-z]+)" content="([^"]*)">', head))
    assert cards["twitter:card"] == "summary"
    assert unescape(cards["twitter:title"]) == title
    assert cards["twitter:description"]


def test_work_page_has_scholarly_article_json_ld_and_previews(client):
    topic = TopicFactory(display_name="Engines")
    work = WorkFactory(
        source_id="https://openalex.org/W2741809807",
        title="Notes on the Analytical Engine",
        doi="10.1234/engine",
        arxiv_id="2401.00001",
        publication_year=1843,
        publication_date=date(1843, 9, 1),
        venue=SourceFactory(display_name="Scientific Memoirs", issn_l="1234-5678"),
        abstract="Translator's notes.",
        authors_count=2,
        imported_at=timezone.now(),
    )
    work.topics.add(topic)
    for order, name in enumerate(["Ada Lovelace", "Luigi Menabrea"]):
        AuthorshipFactory(work=work, order=order, researcher=ResearcherFactory(display_name=name))
    url = f"http://testserver{work.get_absolute_url()}"

    html = client.get(work.get_absolute_url()).content.decode()
    data = extract(html, url)

    (article,) = data["jsonld"]["ScholarlyArticle"]
    assert article["headline"] == "Notes on the Analytical Engine"
    assert article["url"] == url
    assert [a["name"] for a in article["author"]] == ["Ada Lovelace", "Luigi Menabrea"]
    assert article["datePublished"] == "1843-09-01"
    assert article["identifier"] == {
        "@type": "PropertyValue",
        "propertyID": "DOI",
        "value": "10.1234/engine",
    }
    assert article["isPartOf"] == {
        "@type": "Periodical",
        "name": "Scientific Memoirs",
        "issn": "1234-5678",
    }
    assert "https://doi.org/10.1234/engine" in article["sameAs"]
    assert "https://openalex.org/W2741809807" in article["sameAs"]
    assert article["about"] == ["Engines"]
    (trail,) = data["jsonld"]["BreadcrumbList"]
    assert trail["itemListElement"][-1]["name"] == "Notes on the Analytical Engine"

    og = data["og"]
    assert (og["og:type"], og["og:title"], og["og:url"]) == (
        "article",
        "Notes on the Analytical Engine",
        url,
    )
    assert og["og:description"] == "Translator's notes."
    assert_twitter_card(html, "Notes on the Analytical Engine")
    assert (
        '<a href="https://openalex.org/W2741809807" rel="noopener">OpenAlex record W2741809807</a>'
        in html
    )
    assert f"last imported {work.imported_at:%-d %b %Y, %H:%M} UTC" in html
    assert "Data on this page: OpenAlex." in html


def test_topic_page_has_defined_term_breadcrumbs_and_previews(client):
    topic = TopicFactory(
        display_name="Graph theory", source_id="https://openalex.org/T11", field_name="Maths"
    )
    url = f"http://testserver{topic.get_absolute_url()}"
    html = client.get(topic.get_absolute_url()).content.decode()
    data = extract(html, url)
    (term,) = data["jsonld"]["DefinedTerm"]
    assert (term["name"], term["url"], term["sameAs"]) == (
        "Graph theory",
        url,
        ["https://openalex.org/T11"],
    )
    assert data["jsonld"]["BreadcrumbList"][0]["itemListElement"][-1]["name"] == "Graph theory"
    assert data["og"]["og:title"] == "Graph theory"
    assert_twitter_card(html, "Graph theory")


def test_institution_page_has_organization_with_ror(client):
    institution = InstitutionFactory(
        display_name="Bangor University", ror="006jb1a24", country_code="GB"
    )
    url = f"http://testserver{institution.get_absolute_url()}"
    html = client.get(institution.get_absolute_url()).content.decode()
    data = extract(html, url)
    (org,) = data["jsonld"]["Organization"]
    assert org["name"] == "Bangor University"
    assert org["sameAs"] == ["https://ror.org/006jb1a24"]
    assert org["address"]["addressCountry"] == "GB"
    assert data["jsonld"]["BreadcrumbList"][0]["itemListElement"][0]["name"] == "Home"
    assert data["og"]["og:url"] == url
    assert_twitter_card(html, "Bangor University")
