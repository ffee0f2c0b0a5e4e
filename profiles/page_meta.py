"""Link preview, JSON-LD and provenance of a profile page (values for base.html)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from bzpeer import structured
from bzpeer.provenance import source_name, source_url
from profiles.models import Researcher


def profile_meta(
    request: HttpRequest, researcher: Researcher, *, topics: list, works: list
) -> dict:
    url = structured.absolute(request, researcher.get_absolute_url())
    institution = researcher.last_known_institution
    affiliation = None
    if institution is not None:
        affiliation = structured.organization(
            institution.display_name,
            url=structured.absolute(request, institution.get_absolute_url()),
            same_as=[institution.ror_url] if institution.ror_url else [],
        )
    summary = researcher.summary or (
        f"{researcher.display_name}: researcher profile with {researcher.works_count} "
        f"work{'s' if researcher.works_count != 1 else ''}"
        + (f", on {', '.join(row.topic.display_name for row in topics[:3])}" if topics else "")
        + "."
    )
    person = structured.person(
        name=researcher.display_name,
        url=url,
        same_as=[researcher.orcid_url, source_url(researcher.source_id)],
        affiliation=affiliation,
        alternate_names=researcher.alternative_names,
        knows_about=[row.topic.display_name for row in topics[:10]],
    )
    trail = [("Home", reverse("home")), (researcher.display_name, researcher.get_absolute_url())]
    sources = {source_name(researcher.source_id)} | {source_name(w.source_id) for w in works}
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
