"""Public pages for the records the research graph links to: works, topics, institutions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from bzpeer.pagecache.models import ContentVersion
from bzpeer.pagecache.responses import PageVersion, serve
from works import queries
from works.models import Authorship


def _web_url(url: str) -> str:
    """The URL if it is http(s), else "": imported data must never yield a javascript: link."""
    return url if urlsplit(url).scheme in {"http", "https"} else ""


def _ror_url(ror: str) -> str:
    # OpenAlex stores the full https://ror.org/... URL; hand-built records may hold the bare id.
    if not ror:
        return ""
    return _web_url(ror) if "://" in ror else f"https://ror.org/{ror}"


def _page_number(request: HttpRequest, name: str = "page") -> int:
    """A page number from the query string, normalised (it names a cached rendering):
    not a number → 1; 0 or past the end → the last page (as Paginator.get_page does)."""
    value = request.GET.get(name, "1")
    if not (value.isdigit() and len(value) <= 6):
        return 1
    return int(value) or LAST_PAGE


# Stands for "the last page": the paginator and the page digests clamp it.
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
            "landing_page_url": _web_url(work.landing_page_url),
            "path": path,
            "page_path": path,
        }
        return render(request, "works/work_detail.html", context)

    version = PageVersion.of(work, ContentVersion.Kind.WORK)
    return serve(request, version=version, variant=f"work|{authors_page}", render=render_page)


@require_GET
def topic_detail(request: HttpRequest, pk: int) -> HttpResponse:
    topic = get_object_or_404(queries.topic_for_page(), pk=pk)

    def render_page() -> HttpResponse:
        context = {
            "topic": topic,
            "researcher_topics": queries.topic_researchers(topic),
            "works": queries.topic_recent_works(topic),
            "path": request.path,
            "page_path": request.path,
        }
        return render(request, "works/topic_detail.html", context)

    loaded: Any = topic  # with the annotations of queries.topic_for_page
    version = PageVersion(epoch=loaded.page_epoch, parts=(f"T{topic.pk}.{loaded.page_digest}",))
    return serve(request, version=version, variant="topic", render=render_page)


@require_GET
def institution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    number = _page_number(request)
    institution = get_object_or_404(queries.institution_for_page(page_number=number), pk=pk)

    def render_page() -> HttpResponse:
        page = queries.institution_researchers(institution, page_number=number)
        # Each page of the list is its own canonical URL; page 1 is the bare path.
        path = request.path if page.number == 1 else f"{request.path}?page={page.number}"
        context = {
            "institution": institution,
            "page": page,
            "homepage_url": _web_url(institution.homepage_url),
            "ror_url": _ror_url(institution.ror),
            "path": path,
            "page_path": path,
        }
        return render(request, "works/institution_detail.html", context)

    loaded: Any = institution  # with the annotations of queries.institution_for_page
    version = PageVersion(
        epoch=loaded.page_epoch, parts=(f"I{institution.pk}.{loaded.page_digest}",)
    )
    return serve(request, version=version, variant=f"institution|{number}", render=render_page)
