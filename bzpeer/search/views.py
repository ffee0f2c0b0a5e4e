"""Search results, as-you-type suggestions, the researcher directory and the indexes.

Each page renders one `_`-prefixed body partial from a context built by a plain function
of the request's GET parameters (and nothing else), so a cache keyed on the parameters
and a content version can wrap either.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from bzpeer.htmx import partial_or_redirect
from bzpeer.pagecache.models import ContentVersion
from bzpeer.pagecache.responses import listing_version, serve
from bzpeer.search import queries
from bzpeer.search.identify import identify
from bzpeer.search.params import Filters, SearchInput
from bzpeer.types import HtmxHttpRequest
from works.models import Institution, Topic

DIRECTORY_SORTS = ("name", "works")
INDEX_PER_PAGE = 50


def _facet_links(search: SearchInput, facets: list[queries.Facet], base: str) -> None:
    """Each facet value links to the same search with that value chosen (or, when chosen,
    removed); choosing a value goes back to page 1."""
    for facet in facets:
        for value in facet.values:
            if facet.name == "year":
                year = None if value.selected else value.value
                params = search.url_params(year_from=year, year_to=year, page=None)
            else:
                params = search.url_params(
                    **{facet.name: None if value.selected else value.value, "page": None}
                )
            value.url = f"{base}?{params}" if params else base


def search_context(search: SearchInput) -> dict:
    """Everything the results page shows for this search (a fixed number of queries)."""
    context: dict = {
        "search": search,
        "query": search.query,
        "candidates": queries.CANDIDATES,
        "researcher_facet_candidates": queries.FACET_CANDIDATES,
    }
    base = reverse("search")
    researcher_facets: list[queries.Facet] = []
    work_facets: list[queries.Facet] = []
    if not search.terms:
        # Only punctuation, symbols or emoji: nothing a name or title could match.
        empty = queries.Ranked([], 0, 1, queries.PER_PAGE)
        context["results"] = dict.fromkeys(SearchInput.KINDS, empty)
    elif search.kind:
        if search.kind == "researchers":
            people = queries.search_researchers(search, page=search.page, facets=True)
            ranked, researcher_facets = people.ranked, people.facets
        elif search.kind == "works":
            works = queries.search_works(search, page=search.page, facets=True)
            ranked, work_facets = works.ranked, works.facets
        elif search.kind == "topics":
            ranked = queries.ranked_topics(search, page=search.page)
        else:
            ranked = queries.ranked_institutions(search, page=search.page)
        context["results"] = {search.kind: ranked}
        context["paged"] = ranked
    else:
        people = queries.search_researchers(search, per_page=queries.GROUP_SIZE, facets=True)
        works = queries.search_works(search, per_page=queries.GROUP_SIZE, facets=True)
        researcher_facets, work_facets = people.facets, works.facets
        context["results"] = {
            "researchers": people.ranked,
            "works": works.ranked,
            "topics": queries.ranked_topics(search, per_page=queries.GROUP_SIZE),
            "institutions": queries.ranked_institutions(search, per_page=queries.GROUP_SIZE),
        }
    _facet_links(search, researcher_facets, base)
    _facet_links(search, work_facets, base)
    context["researcher_facets"] = researcher_facets
    context["work_facets"] = work_facets
    # The year range form keeps every other parameter of this search.
    context["year_form_params"] = [
        (name, value)
        for name, value in parse_qsl(search.url_params(year_from=None, year_to=None, page=None))
    ]
    context["found_any"] = any(r.total for r in context["results"].values())
    context["page_params"] = {
        "next": search.url_params(page=search.page + 1),
        "previous": search.url_params(page=search.page - 1 if search.page > 2 else None),
    }
    context["kind_params"] = {
        kind: search.url_params(kind=kind, page=None) for kind in SearchInput.KINDS
    }
    context["all_kinds_params"] = search.url_params(kind=None, page=None)
    context["clear_params"] = SearchInput(query=search.query, filters=Filters()).url_params()
    return context


@require_safe
@vary_on_headers("HX-Request")
def search(request: HttpRequest) -> HttpResponse:
    search = SearchInput.from_get(request.GET)
    if not search.query:
        # Nothing to search for: the directory is the browse page (filters kept).
        directory_url = reverse("researcher_directory")
        params = search.url_params(q=None, kind=None)
        return redirect(f"{directory_url}?{params}" if params else directory_url)
    identified = identify(search.query) if search.query else None
    if identified and identified.record is not None and not search.kind:
        return redirect(identified.record.get_absolute_url())
    context = search_context(search)
    context["identified"] = identified
    return render(request, "search/results.html", context)


def suggestions_context(search: SearchInput) -> dict:
    context: dict = {"search": search, "query": search.query, "count": 0}
    if search.query:
        identified = identify(search.query)
        if identified and identified.record is not None:
            context["identified"] = identified
            context["count"] = 1
        elif search.terms:
            # Fewer candidates than the results page, and no filter counts.
            context["researchers"] = queries.ranked_researchers(
                search, per_page=queries.FRAGMENT_SIZE, candidates=queries.FRAGMENT_CANDIDATES
            )
            context["works"] = queries.suggested_works(
                search, per_page=3, candidates=queries.FRAGMENT_CANDIDATES
            )
            context["topics"] = queries.ranked_topics(search, per_page=2)
            context["institutions"] = queries.ranked_institutions(search, per_page=2)
            context["count"] = sum(
                len(context[kind].items)
                for kind in ("researchers", "works", "topics", "institutions")
            )
    context["all_params"] = search.url_params()
    return context


@require_safe
@vary_on_headers("HX-Request")
def suggestions(request: HtmxHttpRequest) -> HttpResponse:
    """As-you-type: a short list under the header field (HTMX); a plain request goes to
    the results page."""
    search = SearchInput.from_get(request.GET)
    return partial_or_redirect(
        request,
        "search/_suggestions.html",
        lambda: suggestions_context(search),
        redirect_to=f"{reverse('search')}?{search.url_params()}",
    )


def directory_context(search: SearchInput) -> dict:
    base = reverse("researcher_directory")
    people = queries.search_researchers(search, page=search.page, sort=search.sort, facets=True)
    facets = people.facets
    _facet_links(search, facets, base)
    return {
        "search": search,
        "candidates": queries.CANDIDATES,
        "paged": people.ranked,
        "researcher_facets": facets,
        "page_params": {
            "next": search.url_params(page=search.page + 1),
            "previous": search.url_params(page=search.page - 1 if search.page > 2 else None),
        },
        "sort_params": {sort: search.url_params(sort=sort, page=None) for sort in DIRECTORY_SORTS},
        "clear_params": SearchInput(query="", filters=Filters(), sort=search.sort).url_params(),
    }


@require_safe
@vary_on_headers("HX-Request")
def directory(request: HttpRequest) -> HttpResponse:
    search = SearchInput.from_get(request.GET, sorts=DIRECTORY_SORTS)
    # The directory lists everyone; words belong to the search page.
    search = SearchInput(query="", filters=search.filters, page=search.page, sort=search.sort)
    context = directory_context(search)
    params = search.url_params()
    # The normalised address names the rendering: a visitor's own query string never
    # reaches a shared page (the header's "Log in" link uses page_path).
    context["page_path"] = f"{request.path}?{params}" if params else request.path
    paged = context["paged"]
    version = listing_version(
        "directory",
        ContentVersion.Kind.RESEARCHER,
        [researcher.pk for researcher in paged.items],
        (params, paged.page, paged.total, repr(context["researcher_facets"])),
    )
    return serve(
        request,
        version=version,
        variant=f"directory|{params}",
        render=lambda: render(request, "search/directory.html", context),
    )


def _index(request: HttpRequest, model) -> HttpResponse:
    rows = model.objects.order_by("-researchers_count", "display_name", "pk")
    page = Paginator(rows, INDEX_PER_PAGE).get_page(request.GET.get("page"))
    path = request.path if page.number == 1 else f"{request.path}?page={page.number}"
    context = {"page": page, "path": path, "kind": model._meta.verbose_name_plural}
    return render(request, "search/index.html", context)


@require_safe
def topic_index(request: HttpRequest) -> HttpResponse:
    return _index(request, Topic)


@require_safe
def institution_index(request: HttpRequest) -> HttpResponse:
    return _index(request, Institution)
