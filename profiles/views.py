from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, push_url

from bzpeer.htmx import partial_or_redirect
from bzpeer.ratelimit import allow
from bzpeer.types import HtmxHttpRequest
from claims import listing
from claims import queries as claim_queries
from claims.queries import viewer_state
from profiles import queries, services
from profiles.access import get_researcher_or_404
from profiles.charts import citations_per_year_chart, works_per_year_chart
from profiles.models import Researcher
from profiles.page_meta import profile_meta
from works import citation
from works.queries import citation_records

FOLLOW_LIMIT_PER_HOUR = 60
# What the works list reads from the query string (sort, page and its filters).
WORKS_QUERY_KEYS = ("sort", "page", "type", "from", "to", "topic", "role")


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "researchers": queries.featured_researchers(limit=6),
        "recently_claimed": claim_queries.recently_claimed(),
        "topics": queries.topics_with_most_researchers(),
    }
    return render(request, "home.html", context)


def _works_context(
    request: HttpRequest, researcher: Researcher, topics: list | None = None
) -> dict:
    sort = request.GET.get("sort", listing.DEFAULT_WORK_SORT)
    if sort not in listing.WORK_SORTS:
        sort = listing.DEFAULT_WORK_SORT
    filters = listing.WorkFilters.from_query(request.GET)
    page = listing.works_page(
        researcher,
        sort=sort,
        page_number=request.GET.get("page"),
        filters=filters,
        with_authors=True,
    )
    if topics is None:
        topics = queries.top_topics(researcher, limit=listing.TOPIC_FILTERS_SHOWN)
    return {
        "researcher": researcher,
        "works": page,
        "sort": sort,
        "sorts": listing.WORK_SORTS,
        "filters": filters,
        # Appended to sort and page links so they keep the filters ("&type=article...").
        "filter_query": "".join(f"&{urlencode({k: v})}" for k, v in filters.params().items()),
        "facets": listing.work_facets(researcher, topics),
    }


def _follow_context(request: HttpRequest, researcher: Researcher) -> dict:
    following, email_digest = queries.follow_state(request.user, researcher)
    return {"researcher": researcher, "following": following, "email_digest": email_digest}


@require_safe
@vary_on_headers("HX-Request")
def researcher_detail(request: HttpRequest, pk: int | str, slug: str | None = None) -> HttpResponse:
    researcher = get_researcher_or_404(pk)
    # A merged record, or a stale or missing slug, moves to the canonical URL.
    if researcher.pk != int(pk) or slug != researcher.slug:
        url = researcher.get_absolute_url()
        if request.GET:
            url = f"{url}?{request.GET.urlencode()}"
        return HttpResponsePermanentRedirect(url)
    topics = queries.top_topics(researcher, limit=listing.TOPIC_FILTERS_SHOWN)
    context = {
        **_works_context(request, researcher, topics),
        **_follow_context(request, researcher),
        "top_topics": topics[:3],
        "chart": works_per_year_chart(listing.works_per_year(researcher)),
        "citations_chart": citations_per_year_chart(researcher.citations_by_year or {}),
        # The viewer's claim/owner/invitation state: one query, none for anonymous users.
        "identity": viewer_state(request.user, researcher),
        "corrections": queries.corrections(researcher),
    }
    context.update(profile_meta(request, researcher, topics=topics, works=context["works"]))
    return render(request, "profiles/researcher_detail.html", context)


@require_safe
@vary_on_headers("HX-Request")
def works_fragment(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    researcher = get_researcher_or_404(pk)
    query = urlencode({k: v for k, v in request.GET.items() if k in WORKS_QUERY_KEYS})
    response = partial_or_redirect(
        request,
        "profiles/_works.html",
        lambda: _works_context(request, researcher),
        redirect_to=f"{researcher.get_absolute_url()}?{query}#published-work",
    )
    if request.htmx:
        # The address bar shows the profile with these filters: a link anyone can share.
        shared = urlencode({k: v for k, v in request.GET.items() if k in WORKS_QUERY_KEYS and v})
        push_url(response, f"{researcher.get_absolute_url()}?{shared}")
    return response


def _toggle_follow(request: HtmxHttpRequest, pk: int, *, follow: bool) -> HttpResponse:
    researcher = get_researcher_or_404(pk)
    connect_url = f"{researcher.get_absolute_url()}#connect"
    if not request.user.is_authenticated:
        next_url = urlencode({"next": researcher.get_absolute_url()})
        login_url = f"{reverse('account_login')}?{next_url}"
        if request.htmx:
            return HttpResponseClientRedirect(login_url)
        return redirect_to_login(researcher.get_absolute_url())
    if not allow(
        scope="follow", key=str(request.user.pk), limit=FOLLOW_LIMIT_PER_HOUR, window_seconds=3600
    ):
        message = "You have followed and unfollowed too often. Please try again in an hour."
        return partial_or_redirect(
            request,
            "profiles/_follow.html",
            lambda: {**_follow_context(request, researcher), "error": message},
            redirect_to=connect_url,
            error=message,
            status=429,
        )
    if follow:
        services.follow_researcher(user=request.user, researcher=researcher)
    else:
        services.unfollow_researcher(user=request.user, researcher=researcher)
    researcher.refresh_from_db(fields=["followers_count"])
    verb = "now follow" if follow else "no longer follow"
    return partial_or_redirect(
        request,
        "profiles/_follow.html",
        lambda: _follow_context(request, researcher),
        redirect_to=connect_url,
        message=f"You {verb} {researcher.display_name}.",
    )


@require_POST
def follow(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _toggle_follow(request, pk, follow=True)


@require_POST
def unfollow(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _toggle_follow(request, pk, follow=False)


@require_safe
def researcher_by_source(request: HttpRequest, source_id: str) -> HttpResponse:
    """Resolve a record by where it came from (`A5017898742`, the OpenAlex URL, or a local
    urn:bzpeer id), so other sites and the README can link a profile without our pk."""
    researcher = queries.get_researcher_by_source(source_id)
    return redirect(researcher.get_absolute_url())


@require_safe
def export_works(request: HttpRequest, pk: int, fmt: str) -> StreamingHttpResponse:
    """Every listed work of a profile as BibTeX, RIS or CSL-JSON, streamed from one
    server-side cursor so a 5,000-work profile never sits in memory as one string."""
    if fmt not in citation.FORMATS:
        raise Http404("Unknown export format")
    researcher = get_researcher_or_404(pk)
    works = listing.researcher_works(researcher).order_by("publication_year", "id")
    _, content_type, extension = citation.FORMATS[fmt]
    response = StreamingHttpResponse(
        citation.WRITERS[fmt](citation_records(works)), content_type=content_type
    )
    filename = f"{researcher.slug}-works.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
