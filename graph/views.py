from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import quote_etag
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from bzpeer.pagecache.front import front_cached
from bzpeer.pagecache.models import ContentVersion
from bzpeer.pagecache.responses import PageVersion, serve
from bzpeer.types import HtmxHttpRequest
from graph import drawing, nodes, queries, services
from graph.models import GraphSlice
from profiles.access import get_researcher_or_404, require_visible
from profiles.models import Researcher
from profiles.queries import follow_merge_chain

# Neighbourhoods change with an import and with a record hidden or shown again, which must
# take effect at once: caches (shared ones too) may keep a neighbourhood but revalidate it
# on every use; its ETag is a digest of the JSON, so an unchanged one costs a 304.
NEIGHBOURS_CACHE_CONTROL = {"public": True, "no_cache": True}


# Rendering the slice (its drawing and lists: some 800 template nodes) costs more than the
# rest of the request together, so a ready slice's HTML is rendered once per content of the
# slice and release of the code that draws it, and kept in the cache.
SLICE_HTML_SECONDS = 60 * 60


def _slice_response(
    request: HtmxHttpRequest, template: str, context: dict, html: str | None = None
) -> HttpResponse:
    """HTMX gets the fragment; a plain request (no JavaScript) gets it inside a page."""
    if request.htmx:
        return HttpResponse(html) if html is not None else render(request, template, context)
    page = {**context, "fragment_template": template, "fragment_html": html}
    return render(request, "graph/slice_page.html", page)


def _ready_slice_html(researcher: Researcher, graph_slice: GraphSlice) -> str:
    """The ready fragment's HTML, from the cache when this content was rendered before by
    this release (the close-collaborator count comes from the researcher row, so it is in
    the key)."""
    html = cache.get(key := drawing.slice_html_key(graph_slice, researcher))
    if html is None:
        context = {
            "researcher": researcher,
            "graph_slice": graph_slice,
            "groups": queries.slice_groups(graph_slice),
            "drawing": drawing.slice_drawing(graph_slice),
            "coauthors_count": graph_slice.payload.get("counts", {}).get("coauthors", 0),
        }
        html = render_to_string("graph/_slice.html", context)
        cache.set(key, html, SLICE_HTML_SECONDS)
    return mark_safe(html)  # the output of our own template


def _ready_slice_version(researcher: Researcher, state: queries.SliceState) -> PageVersion | None:
    """The version of a ready, current slice (from the state read with the researcher);
    None when the request must go the long way (no slice, building, failed or stale:
    request_slice then queues what is needed)."""
    if state.status != GraphSlice.Status.READY:
        return None
    if state.freshness != services.freshness_key(researcher):
        return None
    version = PageVersion.of(researcher, ContentVersion.Kind.RESEARCHER)
    return version.plus(state.key, drawing.RENDER_RELEASE).read_from(*state.front_state)


@front_cached(queries.SLICE_PAGE_STATE)
@require_safe
@vary_on_headers("HX-Request")
def slice_fragment(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    researcher, state = queries.researcher_for_slice_page(pk)
    if researcher.merged_into_id:  # a page loaded before a merge: the survivor's slice
        researcher, state = queries.researcher_for_slice_page(follow_merge_chain(pk).pk)
    require_visible(researcher)
    version = _ready_slice_version(researcher, state)
    if version is not None:
        # The fragment is the same for everyone; the page around it (no JavaScript) is not.
        return serve(
            request,
            version=version,
            variant="slice",
            render=lambda: _slice_fragment(request, researcher),
            shared=bool(request.htmx),
        )
    return _slice_fragment(request, researcher)


def _slice_fragment(request: HtmxHttpRequest, researcher: Researcher) -> HttpResponse:
    graph_slice = services.request_slice(researcher=researcher)
    context: dict = {"researcher": researcher, "graph_slice": graph_slice}
    if graph_slice.status == GraphSlice.Status.READY:
        html = _ready_slice_html(researcher, graph_slice)
        return _slice_response(request, "graph/_slice.html", context, html)
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


@front_cached(queries.SLICE_PAGE_STATE)
@require_safe
def explorer(request: HttpRequest, pk: int) -> HttpResponse:
    """The full explorer: the ready slice, or (until the worker has built it) the
    researcher's live neighbourhood, as an interactive graph and as lists of links."""
    researcher, state = queries.researcher_for_explorer(pk)
    if researcher.merged_into_id:  # merged: the survivor's explorer is the canonical URL
        return redirect("graph_explorer", pk=follow_merge_chain(researcher).pk, permanent=True)
    require_visible(researcher)
    if state.status != GraphSlice.Status.READY:
        return _explorer(request, researcher)
    # A ready slice: the page changes with the record and with each rebuild of the slice.
    version = PageVersion.of(researcher, ContentVersion.Kind.RESEARCHER)
    return serve(
        request,
        version=version.plus(state.key, drawing.RENDER_RELEASE).read_from(*state.front_state),
        variant="explorer",
        render=lambda: _explorer(request, researcher),
    )


def _explorer(request: HttpRequest, researcher: Researcher) -> HttpResponse:
    graph_slice = GraphSlice.objects.filter(researcher=researcher).first()
    if graph_slice is not None and graph_slice.status == GraphSlice.Status.READY:
        payload = graph_slice.payload
        data = {
            "center": payload.get("center"),
            "nodes": payload["nodes"],
            "edges": payload["edges"],
        }
    else:
        services.request_slice(researcher=researcher)
        hood = queries.neighbourhood(nodes.node_id("researcher", researcher.pk))
        data = {"center": hood.node["id"], "nodes": [hood.node, *hood.nodes], "edges": hood.edges}
        graph_slice = None
    context = {
        "researcher": researcher,
        "graph_slice": graph_slice,
        "graph_data": data,
        "groups": queries.group_nodes(data["nodes"]),
        "node_types": nodes.LEGEND,
        "node_types_json": nodes.node_types_json(),
        "neighbours_url": reverse("graph_node_neighbours", args=["NODE_ID"]),
    }
    return render(request, "graph/explorer.html", context)


@require_safe
def node_neighbours(request: HttpRequest, node_id: str) -> HttpResponse:
    """One node's neighbours (nodes and typed edges) for the explorer to add on a click."""
    try:
        hood = queries.neighbourhood(node_id)
    except nodes.UnknownNode as error:
        raise Http404("No such node") from error
    response = JsonResponse(hood.as_json())
    response["ETag"] = quote_etag(hashlib.sha1(response.content, usedforsecurity=False).hexdigest())
    patch_cache_control(response, **NEIGHBOURS_CACHE_CONTROL)
    # A 304 (with these headers) when the client's copy is this one; else the response.
    answer = get_conditional_response(request, etag=response["ETag"], response=response)
    return response if answer is None else answer


@require_safe
def coauthors(request: HttpRequest, pk: int) -> HttpResponse:
    """Every co-author of a researcher with shared works and last year, sortable and paged."""
    researcher = get_researcher_or_404(pk)
    if researcher.pk != int(pk):  # merged: the survivor's co-authors
        return redirect("researcher_coauthors", pk=researcher.pk)
    sort = request.GET.get("sort", queries.DEFAULT_COAUTHOR_SORT)
    if sort not in queries.COAUTHOR_SORTS:
        sort = queries.DEFAULT_COAUTHOR_SORT
    page = queries.coauthors_page(researcher, sort=sort, page_number=request.GET.get("page"))
    context = {
        "researcher": researcher,
        "page": page,
        "sort": sort,
        "sort_labels": [
            ("shared", "Most shared works"),
            ("recent", "Most recent"),
            ("name", "Name"),
        ],
    }
    return render(request, "graph/coauthors.html", context)
