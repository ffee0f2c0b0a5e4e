"""Public pages of a topic and of an institution: their researchers, and a topic's works.

They live in profiles, not works, because they list researchers: works imports no app
above it. The URLs and templates are the same as before (works/...)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from bzpeer.pagecache.responses import PageVersion, serve
from bzpeer.utils import parse_id, web_url
from profiles import queries
from profiles.page_meta import institution_meta, topic_meta
from works import queries as work_queries


def _ror_url(ror: str) -> str:
    # OpenAlex stores the full https://ror.org/... URL; hand-built records may hold the bare id.
    if not ror:
        return ""
    return web_url(ror) if "://" in ror else f"https://ror.org/{ror}"


def _page_number(request: HttpRequest) -> int:
    """The page asked for, normalised (it names a cached rendering): not a number → 1;
    0 or past the end → the last page (as Paginator.get_page does)."""
    number = parse_id(request.GET.get("page", "1"))
    if number is None or number > LAST_PAGE:
        return 1
    return number or LAST_PAGE


# Stands for "the last page": the paginator and the page digest clamp it.
LAST_PAGE = 999_999


def _version(record: Any, kind: str) -> PageVersion:
    # Annotated by queries.topic_for_page / institution_for_page.
    return PageVersion(epoch=record.page_epoch, parts=(f"{kind}{record.pk}.{record.page_digest}",))


@require_safe
def topic_detail(request: HttpRequest, pk: int) -> HttpResponse:
    number = _page_number(request)
    topic = queries.topic_for_page(pk, page_number=number)

    def render_page() -> HttpResponse:
        page = queries.topic_researchers(topic, page_number=number)
        # Each page of the list is its own canonical URL; page 1 is the bare path.
        path = request.path if page.number == 1 else f"{request.path}?page={page.number}"
        context = {
            "topic": topic,
            "page": page,
            "works": work_queries.topic_recent_works(topic),
            "path": path,
            "page_path": path,
            **topic_meta(request, topic, path),
        }
        return render(request, "works/topic_detail.html", context)

    version = _version(topic, "T")
    return serve(request, version=version, variant=f"topic|{number}", render=render_page)


@require_safe
def institution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    number = _page_number(request)
    institution = queries.institution_for_page(pk, page_number=number)

    def render_page() -> HttpResponse:
        page = queries.institution_researchers(institution, page_number=number)
        # Each page of the list is its own canonical URL; page 1 is the bare path.
        path = request.path if page.number == 1 else f"{request.path}?page={page.number}"
        context = {
            "institution": institution,
            "page": page,
            "homepage_url": web_url(institution.homepage_url),
            "ror_url": _ror_url(institution.ror),
            "path": path,
            "page_path": path,
            **institution_meta(request, institution, path),
        }
        return render(request, "works/institution_detail.html", context)

    version = _version(institution, "I")
    return serve(request, version=version, variant=f"institution|{number}", render=render_page)
