"""The public page of a work (topics and institutions, which list researchers, are in
profiles/record_views.py: works imports no app above it)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from bzpeer.utils import web_url
from works import queries
from works.models import Authorship


@require_safe
def work_detail(request: HttpRequest, pk: int) -> HttpResponse:
    work = get_object_or_404(queries.work_for_page(), pk=pk)
    # Set by the Prefetch (to_attr) in queries.work_for_page.
    authorships: list[Authorship] = work.shown_authorships  # type: ignore[attr-defined]
    context = {
        "work": work,
        "authorships": authorships,
        # The total comes from the record, never from a COUNT over authorships.
        "more_authors": max(work.authors_count - len(authorships), 0),
        "institution_list": queries.work_institutions(work),
        "landing_page_url": web_url(work.landing_page_url),
        "path": request.path,
    }
    return render(request, "works/work_detail.html", context)
