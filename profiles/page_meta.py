"""Link previews, JSON-LD and provenance of the profile, topic and institution pages
(values for base.html)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from bzpeer import structured
from bzpeer.provenance import source_name, source_url
from profiles.models import Researcher
from works.models import Institution, Topic


def profile_meta(
    request: HttpRequest, researcher: Researcher, *, topic_names: list[str], work_sources: list[str]
) -> dict:
    """`topic_names`: the record's topics, most used first; `work_sources`: the data
    sources of the works listed on the page."""
    url = structured.absolute(request, researcher.get_absolute_url())
    institution = researcher.shown_institution
    affiliation = None
    if institution is not None:
        affiliation = structured.organization(
            institution.display_name,
            url=structured.absolute(request, institution.get_absolute_url()),
            same_as=[institution.ror_url] if institution.ror_url else [],
        )
    summary = researcher.shown_summary or (
        f"{researcher.display_name}: researcher profile with {researcher.works_count} "
        f"work{'s' if researcher.works_count != 1 else ''}"
        + (f", on {', '.join(topic_names[:3])}" if topic_names else "")
        + "."
    )
    person = structured.person(
        name=researcher.display_name,
        url=url,
        same_as=[researcher.orcid_url, source_url(researcher.source_id)],
        affiliation=affiliation,
        alternate_names=researcher.alternative_names,
        knows_about=topic_names[:10],
    )
    trail = [("Home", reverse("home")), (researcher.display_name, researcher.get_absolute_url())]
    sources = {source_name(researcher.source_id), *work_sources}
    return {
        "social": structured.Social(
            title=f"{researcher.display_name} · Researcher profile",
            description=summary,
            url=url,
            type="profile",
        ),
        "jsonld": [
            structured.jsonld_script(person),
            structured.jsonld_script(structured.breadcrumbs(request, trail)),
        ],
        "data_sources": sorted(sources),
        "source_name": source_name(researcher.source_id),
        "source_url": source_url(researcher.source_id),
    }


def topic_meta(request: HttpRequest, topic: Topic, path: str) -> dict:
    url = structured.absolute(request, path)
    term: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "DefinedTerm",
        "name": topic.display_name,
        "url": url,
    }
    if source_url(topic.source_id):
        term["sameAs"] = [source_url(topic.source_id)]
    trail = [("Home", reverse("home"))]
    if topic.field_name:
        trail.append((topic.field_name, path))
    trail.append((topic.display_name, path))
    description = f"Researchers and recent works on {topic.display_name} on BZPEER."
    return {
        "social": structured.Social(title=topic.display_name, description=description, url=url),
        "jsonld": [
            structured.jsonld_script(term),
            structured.jsonld_script(structured.breadcrumbs(request, trail[:1] + trail[-1:])),
        ],
        "data_sources": [source_name(topic.source_id)],
    }


def institution_meta(request: HttpRequest, institution: Institution, path: str) -> dict:
    url = structured.absolute(request, path)
    same_as = [institution.ror_url, source_url(institution.source_id)]
    org = {
        "@context": "https://schema.org",
        **structured.organization(
            institution.display_name, url=url, same_as=[link for link in same_as if link]
        ),
    }
    if institution.country_code:
        org["address"] = {"@type": "PostalAddress", "addressCountry": institution.country_code}
    trail = [("Home", reverse("home")), (institution.display_name, path)]
    description = f"Researchers at {institution.display_name} on BZPEER, ranked by published works."
    return {
        "social": structured.Social(
            title=institution.display_name, description=description, url=url
        ),
        "jsonld": [
            structured.jsonld_script(org),
            structured.jsonld_script(structured.breadcrumbs(request, trail)),
        ],
        "data_sources": [source_name(institution.source_id)],
    }
