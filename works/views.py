"""The public page of a work and its Cite panel (topics and institutions, which list
researchers, are in profiles/record_views.py: works imports no app above it)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from bzpeer.htmx import partial_or_page
from bzpeer.pagecache.front import front_cached, validator
from bzpeer.pagecache.models import ContentVersion
from bzpeer.pagecache.responses import PageVersion, serve
from bzpeer.types import HtmxHttpRequest
from bzpeer.utils import parse_id, web_url
from works import citation, queries
from works.models import Authorship
from works.page_meta import work_meta


def _positive_int(value: str | None) -> int | None:
    number = parse_id((value or "").strip())
    return number if number is not None and 0 < number < 2**31 else None


# What a work page's cache key is made of: its content version (pagecache.front).
WORK_PAGE_STATE = validator("works_work", ContentVersion.Kind.WORK)


@front_cached(WORK_PAGE_STATE)
@require_safe
def work_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        work = queries.get_work_for_page(pk)
    except Http404:
        # A work merged into another: its URL leads to the survivor for good. Read only
        # when the lookup failed, so a served page costs nothing more.
        survivor = queries.merged_work_survivor(pk)
        if survivor is None:
            raise
        return HttpResponsePermanentRedirect(survivor.get_absolute_url())
    pages = queries.author_pages(work)
    # Normalised (it names a cached rendering): not a number → 1, past the end → the last.
    authors_page = min(_positive_int(request.GET.get("authors")) or 1, pages)
    # The researcher whose profile led here (?author=pk) stays visible on every page. Only
    # an author of the work changes the page, so only an author names its own rendering.
    author_id = _positive_int(request.GET.get("author"))
    if author_id is not None and not queries.is_author(work, author_id):
        author_id = None
    query = {"authors": authors_page} if authors_page > 1 else {}
    path = f"{request.path}?authors={authors_page}" if query else request.path

    def render_page() -> HttpResponse:
        queries.load_work_lists(work, authors_page=authors_page)
        # Set by the Prefetch (to_attr) in queries.load_work_lists.
        authorships: list[Authorship] = work.shown_authorships  # type: ignore[attr-defined]
        end = authors_page * queries.WORK_AUTHORS_SHOWN
        visitor_from = None
        if author_id and not any(a.researcher_id == author_id for a in authorships):
            visitor_from = queries.authorship_of(work, author_id)
        context = {
            "work": work,
            "authorships": authorships,
            # The total comes from the record, never from a COUNT over authorships.
            "more_authors": max(work.authors_count - end, 0),
            "authors_page": authors_page,
            "authors_pages": pages,
            "first_position": (authors_page - 1) * queries.WORK_AUTHORS_SHOWN + 1,
            "last_position": min(end, work.authors_count),
            "highlight_id": author_id,
            "visitor_from": visitor_from,
            "institution_list": queries.work_institutions(work),
            "landing_page_url": web_url(work.landing_page_url),
            "path": path,
            "page_path": path,
            **work_meta(request, work),
        }
        return render(request, "works/work_detail.html", context)

    version = PageVersion.of(work, ContentVersion.Kind.WORK)
    variant = f"work|{authors_page}|{author_id or ''}"
    return serve(request, version=version, variant=variant, render=render_page)


def cite_context(work_record: citation.CitationRecord) -> dict:
    """Every format of one work, for the Cite panel."""
    key = citation.citation_key(work_record)
    return {
        "record": work_record,
        "key": key,
        "references": [
            {
                "style": style,
                "label": label,
                "text": citation.formatted_reference(work_record, style),
            }
            for style, (label, _) in citation.STYLES.items()
        ],
        "exports": [
            {
                "format": name,
                "label": label,
                "text": "".join(citation.WRITERS[name]([work_record])),
            }
            for name, (label, _, _) in citation.FORMATS.items()
        ],
    }


@require_safe
@vary_on_headers("HX-Request")
def work_cite(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The Cite panel: HTMX gets the panel alone, a plain request a page around it."""
    work = get_object_or_404(queries.public_works().select_related("venue"), pk=pk)
    context = {"work": work, **cite_context(queries.citation_record(work))}
    return partial_or_page(request, "works/_cite.html", "works/cite.html", context)


@require_safe
def work_cite_download(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in citation.FORMATS:
        raise Http404("Unknown citation format")
    work = get_object_or_404(queries.public_works(), pk=pk)
    record = queries.citation_record(work)
    _, content_type, extension = citation.FORMATS[fmt]
    response = HttpResponse("".join(citation.WRITERS[fmt]([record])), content_type=content_type)
    filename = f"{citation.citation_key(record)}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
