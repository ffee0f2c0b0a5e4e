"""Link preview, JSON-LD and provenance of the work page."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from bzpeer import structured
from bzpeer.provenance import source_name, source_url
from works.models import Work


def work_meta(request: HttpRequest, work: Work) -> dict:
    """`work` from queries.get_work_for_page after queries.load_work_lists (venue,
    topics and first author names loaded)."""
    # Set by queries.load_work_lists.
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
