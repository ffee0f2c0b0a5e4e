from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from graph import queries, services
from graph.models import GraphSlice
from profiles.queries import get_researcher


def _slice_response(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """HTMX gets the fragment; a plain request (no JavaScript) gets it inside a page."""
    if request.htmx:
        return render(request, template, context)
    return render(request, "graph/slice_page.html", {**context, "fragment_template": template})


@require_GET
@vary_on_headers("HX-Request")
def slice_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    researcher = get_researcher(pk)
    graph_slice = services.request_slice(researcher=researcher)
    context: dict = {"researcher": researcher, "graph_slice": graph_slice}
    if graph_slice.status == GraphSlice.Status.READY:
        context["groups"] = queries.slice_groups(graph_slice)
        context["drawing"] = queries.slice_drawing(graph_slice)
        return _slice_response(request, "graph/_slice.html", context)
    if graph_slice.status == GraphSlice.Status.FAILED:
        return _slice_response(request, "graph/_slice_unavailable.html", context)
    try:
        poll = max(0, int(request.GET.get("poll", "0")))
    except ValueError:
        poll = 0
    context.update(
        keep_polling=poll < settings.GRAPH_SLICE_MAX_POLLS,
        next_poll=poll + 1,
        poll_seconds=settings.GRAPH_SLICE_POLL_SECONDS,
    )
    return _slice_response(request, "graph/_slice_building.html", context)


@require_GET
def explorer(request: HttpRequest, pk: int) -> HttpResponse:
    """The full explorer; until the interactive graph lands it lists the whole slice."""
    researcher = get_researcher(pk)
    graph_slice = GraphSlice.objects.filter(
        researcher=researcher, status=GraphSlice.Status.READY
    ).first()
    context = {
        "researcher": researcher,
        "graph_slice": graph_slice,
        "groups": queries.slice_groups(graph_slice) if graph_slice else [],
    }
    return render(request, "graph/explorer.html", context)
