"""Link previews, JSON-LD and provenance of the work, topic and institution pages."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from bzpeer import structured
from bzpeer.provenance import source_name, source_url
from works.models import Institution, Topic, Work


def work_meta(request: HttpRequest, work: Work) -> dict:
    """`work` from queries.work_for_page (venue, topics and first author names loaded)."""
    # Annotated by queries.work_for_page.
    names = [name for name in work.first_author_names if name]  # type: ignore[attr-defined]
    url = structured.absolute(request, work.get_absolute_url())
    title = work.title or "Untitled work"
    venue = work.venue
    is_part_of = None
    if venue is not None:
        is_part_of = {"@type": "Periodical", "name": venue.display_name}
        if venue.issn_l:
            is_part_of["issn"] = venue.issn_l
    published = (
        work.publication_date.isoformat()
        if work.publication_date
        else str(work.publication_year or "")
    )
    article = structured.scholarly_article(
        headline=title,
        url=url,
        authors=[{"@type": "Person", "name": name} for name in names],
        date_published=published,
        doi=work.doi or "",
        same_as=[work.doi_url, work.arxiv_url, source_url(work.source_id)],
        is_part_of=is_part_of,
        about=[topic.display_name for topic in work.topics.all()],
        abstract=work.abstract,
    )
    facts = ", ".join(str(p) for p in (work.type, work.publication_year, venue) if p)
    authors = ", ".join(names[:3])
    if work.authors_count > 3:
        authors += " et al."
    description = work.abstract or f"{title}. {authors}. {facts}."
    trail = [("Home", reverse("home")), (title, work.get_absolute_url())]
    return {
        "social": structured.Social(title=title, description=description, url=url, type="article"),
        "jsonld": [
            structured.jsonld_script(article),
            structured.jsonld_script(structured.breadcrumbs(request, trail)),
        ],
        "data_sources": [source_name(work.source_id)],
        "source_name": source_name(work.source_id),
        "source_url": source_url(work.source_id),
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
