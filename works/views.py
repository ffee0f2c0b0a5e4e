"""The public page of a work (topics and institutions, which list researchers, are in
profiles/record_views.py: works imports no app above it)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from bzpeer.pagecache.models import ContentVersion
from bzpeer.pagecache.responses import PageVersion, serve
from bzpeer.utils import web_url
from works import queries
from works.models import Authorship


def _page_number(request: HttpRequest, name: str) -> int:
    """A page number from the query string, normalised (it names a cached rendering):
    not a number → 1; 0 → the last page (as Paginator.get_page does; clamped below)."""
    value = request.GET.get(name, "1")
    if not (value.isdigit() and len(value) <= 6):
        return 1
    return int(value) or LAST_PAGE


# Stands for "the last page": the caller clamps it.
LAST_PAGE = 999_999


@require_GET
def work_detail(request: HttpRequest, pk: int) -> HttpResponse:
    work = queries.get_work_for_page(pk)
    pages = queries.author_pages(work)
    authors_page = min(_page_number(request, "authors"), pages)
    path = request.path if authors_page == 1 else f"{request.path}?authors={authors_page}"

    def render_page() -> HttpResponse:
        queries.load_work_lists(work, authors_page=authors_page)
        # Set by the Prefetch (to_attr) in queries.load_work_lists.
        authorships: list[Authorship] = work.shown_authorships  # type: ignore[attr-defined]
        shown_before = (authors_page - 1) * queries.WORK_AUTHORS_SHOWN
        context = {
            "work": work,
            "authorships": authorships,
            "first_author_number": shown_before + 1,
            # The total comes from the record, never from a COUNT over authorships.
            "more_authors": max(work.authors_count - shown_before - len(authorships), 0),
            "authors_page": authors_page,
            "author_pages": pages,
            "institution_list": queries.work_institutions(work),
            "landing_page_url": web_url(work.landing_page_url),
            "path": path,
            "page_path": path,
        }
        return render(request, "works/work_detail.html", context)

    version = PageVersion.of(work, ContentVersion.Kind.WORK)
    return serve(request, version=version, variant=f"work|{authors_page}", render=render_page)
