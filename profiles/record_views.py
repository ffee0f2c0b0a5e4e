"""Public pages of a topic and of an institution: their researchers, and a topic's works.

They live in profiles, not works, because they list researchers: works imports no app
above it. The URLs and templates are the same as before (works/...)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from bzpeer.utils import web_url
from profiles import queries
from profiles.page_meta import institution_meta, topic_meta
from works import queries as work_queries


def _ror_url(ror: str) -> str:
    # OpenAlex stores the full https://ror.org/... URL; hand-built records may hold the bare id.
    if not ror:
        return ""
    return web_url(ror) if "://" in ror else f"https://ror.org/{ror}"


@require_safe
def topic_detail(request: HttpRequest, pk: int) -> HttpResponse:
    topic = get_object_or_404(work_queries.topic_for_page(), pk=pk)
    page = queries.topic_researchers(topic, page_number=request.GET.get("page"))
    # Each page of the list is its own canonical URL; page 1 is the bare path.
    path = request.path if page.number == 1 else f"{request.path}?page={page.number}"
    context = {
        "topic": topic,
        "page": page,
        "works": work_queries.topic_recent_works(topic),
        "path": path,
        **topic_meta(request, topic, path),
    }
    return render(request, "works/topic_detail.html", context)


@require_safe
def institution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    institution = get_object_or_404(work_queries.institution_for_page(), pk=pk)
    page = queries.institution_researchers(institution, page_number=request.GET.get("page"))
    # Each page of the list is its own canonical URL; page 1 is the bare path.
    path = request.path if page.number == 1 else f"{request.path}?page={page.number}"
    context = {
        "institution": institution,
        "page": page,
        "homepage_url": web_url(institution.homepage_url),
        "ror_url": _ror_url(institution.ror),
        "path": path,
        **institution_meta(request, institution, path),
    }
    return render(request, "works/institution_detail.html", context)
