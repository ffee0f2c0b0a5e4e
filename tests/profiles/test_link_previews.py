"""Link previews, schema.org JSON-LD and provenance on the profile page, read back with
extruct (the extraction library search engines' tooling is built on)."""

from __future__ import annotations

import extruct
import pytest
from django.utils import timezone

from bzpeer.curation.derived import refresh_researcher_counts
from tests.factories import (
    AuthorshipFactory,
    InstitutionFactory,
    ResearcherFactory,
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


def _profile(**kwargs):
    institution = InstitutionFactory(
        display_name="Bangor University", ror="https://ror.org/006jb1a24"
    )
    researcher = ResearcherFactory(
        display_name="Ada </script><b>Lovelace</b>",
        source_id="https://openalex.org/A5017898742",
        orcid="0000-0002-1825-0097",
        last_known_institution=institution,
        summary="I study engines & notes.",
        imported_at=timezone.now(),
        **kwargs,
    )
    work = WorkFactory(source_id="https://openalex.org/W42")
    work.topics.add(TopicFactory(display_name="Analytical engines"))
    AuthorshipFactory(work=work, researcher=researcher)
    refresh_researcher_counts(researcher_ids=[researcher.pk])
    return researcher, institution


def test_profile_has_person_and_breadcrumbs_as_json_ld(client):
    researcher, institution = _profile()
    url = f"http://testserver{researcher.get_absolute_url()}"
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert "</script><b>" not in html.split("<main")[0]  # escaped inside the script
    data = extract(html, url)

    (person,) = data["jsonld"]["Person"]
    assert person["name"] == "Ada </script><b>Lovelace</b>"
    assert person["url"] == url
    assert person["sameAs"] == [
        "https://orcid.org/0000-0002-1825-0097",
        "https://openalex.org/A5017898742",
    ]
    assert person["affiliation"]["@type"] == "Organization"
    assert person["affiliation"]["name"] == "Bangor University"
    assert person["affiliation"]["sameAs"] == ["https://ror.org/006jb1a24"]
    assert person["affiliation"]["url"] == f"http://testserver{institution.get_absolute_url()}"
    assert person["knowsAbout"] == ["Analytical engines"]

    (trail,) = data["jsonld"]["BreadcrumbList"]
    assert [item["name"] for item in trail["itemListElement"]] == [
        "Home",
        "Ada </script><b>Lovelace</b>",
    ]
    assert trail["itemListElement"][1]["item"] == url


def test_profile_has_open_graph_and_twitter_tags(client):
    researcher, _ = _profile()
    html = client.get(researcher.get_absolute_url()).content.decode()
    og = extract(html, "http://testserver/")["og"]
    assert og["og:type"] == "profile"
    assert og["og:title"] == "Ada </script><b>Lovelace</b> · Researcher profile"
    assert og["og:description"] == "I study engines & notes."
    assert og["og:url"] == f"http://testserver{researcher.get_absolute_url()}"
    assert '<meta name="twitter:card" content="summary">' in html
    assert '<meta name="twitter:description" content="I study engines &amp; notes.">' in html


def test_profile_links_its_source_record_and_import_date(client):
    researcher, _ = _profile()
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert (
        '<a href="https://openalex.org/A5017898742" rel="noopener">OpenAlex record A5017898742</a>'
    ) in html
    assert f"last imported {researcher.imported_at:%-d %b %Y}" in html
    assert "Data on this page: OpenAlex." in html


def test_local_record_names_its_source_and_the_footer_both_sources(client):
    researcher = ResearcherFactory(source_id="urn:bzpeer:seed:A1")
    AuthorshipFactory(researcher=researcher, work=WorkFactory(source_id="https://openalex.org/W7"))
    html = client.get(researcher.get_absolute_url()).content.decode()
    assert "Source: BZPEER (built by hand) (urn:bzpeer:seed:A1) · no import date recorded" in html
    assert "Data on this page: BZPEER (built by hand); OpenAlex." in html
