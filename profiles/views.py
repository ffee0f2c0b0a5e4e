from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
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
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, push_url

from bzpeer.ratelimit import allow
from claims.queries import viewer_state
from profiles import queries, services
from profiles.charts import citations_per_year_chart, works_per_year_chart
from profiles.models import Researcher
from profiles.page_meta import profile_meta
from works import citation
from works.queries import citation_records

FOLLOW_LIMIT_PER_HOUR = 60
# What the works list reads from the query string (sort, page and its filters).
WORKS_QUERY_KEYS = ("sort", "page", "type", "from", "to", "topic", "role")


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"researchers": queries.featured_researchers()})


def _works_context(
    request: HttpRequest, researcher: Researcher, topics: list | None = None
) -> dict:
    sort = request.GET.get("sort", queries.DEFAULT_WORK_SORT)
    if sort not in queries.WORK_SORTS:
        sort = queries.DEFAULT_WORK_SORT
    filters = queries.WorkFilters.from_query(request.GET)
    page = queries.works_page(
        researcher, sort=sort, page_number=request.GET.get("page"), filters=filters
    )
    if topics is None:
        topics = queries.top_topics(researcher, limit=queries.TOPIC_FILTERS_SHOWN)
    return {
        "researcher": researcher,
        "works": page,
        "sort": sort,
        "sorts": queries.WORK_SORTS,
        "filters": filters,
        # Appended to sort and page links so they keep the filters ("&type=article...").
        "filter_query": "".join(f"&{urlencode({k: v})}" for k, v in filters.params().items()),
        "facets": queries.work_facets(researcher, topics),
    }


def _follow_context(request: HttpRequest, researcher: Researcher) -> dict:
    following, email_digest = queries.follow_state(request.user, researcher)
    return {"researcher": researcher, "following": following, "email_digest": email_digest}


@require_GET
@vary_on_headers("HX-Request")
def researcher_detail(request: HttpRequest, pk: int, slug: str | None = None) -> HttpResponse:
    researcher = queries.get_researcher(pk)
    survivor = queries.merge_survivor(researcher)
    target = survivor or researcher
    if survivor is not None or slug != researcher.slug:
        url = target.get_absolute_url()
        if request.GET:
            url = f"{url}?{request.GET.urlencode()}"
        return HttpResponsePermanentRedirect(url)
    topics = queries.top_topics(researcher, limit=queries.TOPIC_FILTERS_SHOWN)
    context = {
        **_works_context(request, researcher, topics),
        **_follow_context(request, researcher),
        "top_topics": topics[:3],
        "chart": works_per_year_chart(queries.works_per_year(researcher)),
        "citations_chart": citations_per_year_chart(researcher.citations_by_year or {}),
        # The viewer's claim/owner/invitation state: one query, none for anonymous users.
        "identity": viewer_state(request.user, researcher),
        "corrections": queries.corrections(researcher),
    }
    context.update(profile_meta(request, researcher, topics=topics, works=context["works"]))
    return render(request, "profiles/researcher_detail.html", context)


@require_GET
@vary_on_headers("HX-Request")
def works_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    researcher = queries.get_researcher(pk)
    if not request.htmx:
        query = urlencode({k: v for k, v in request.GET.items() if k in WORKS_QUERY_KEYS})
        return redirect(f"{researcher.get_absolute_url()}?{query}#published-work")
    response = render(request, "profiles/_works.html", _works_context(request, researcher))
    # The address bar shows the profile with these filters: a link anyone can share.
    query = urlencode({k: v for k, v in request.GET.items() if k in WORKS_QUERY_KEYS and v})
    return push_url(response, f"{researcher.get_absolute_url()}?{query}")


def _follow_response(request: HttpRequest, researcher: Researcher, *, status: int = 200):
    researcher.refresh_from_db(fields=["followers_count"])
    if request.htmx:
        return render(
            request,
            "profiles/_follow.html",
            _follow_context(request, researcher),
            status=status,
        )
    return redirect(f"{researcher.get_absolute_url()}#connect")


def _toggle_follow(request: HttpRequest, pk: int, *, follow: bool) -> HttpResponse:
    researcher = queries.get_researcher(pk)
    if researcher.merged_into_id:
        researcher = queries.merge_survivor(researcher) or researcher
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
        if request.htmx:
            context = {**_follow_context(request, researcher), "error": message}
            return render(request, "profiles/_follow.html", context, status=429)
        messages.error(request, message)
        return redirect(f"{researcher.get_absolute_url()}#connect")
    if follow:
        services.follow_researcher(user=request.user, researcher=researcher)
    else:
        services.unfollow_researcher(user=request.user, researcher=researcher)
    if not request.htmx:
        verb = "now follow" if follow else "no longer follow"
        messages.success(request, f"You {verb} {researcher.display_name}.")
    return _follow_response(request, researcher)


@require_POST
def follow(request: HttpRequest, pk: int) -> HttpResponse:
    return _toggle_follow(request, pk, follow=True)


@require_POST
def unfollow(request: HttpRequest, pk: int) -> HttpResponse:
    return _toggle_follow(request, pk, follow=False)


@require_GET
def researcher_by_source(request: HttpRequest, source_id: str) -> HttpResponse:
    """Resolve a record by where it came from (`A5017898742`, the OpenAlex URL, or a local
    urn:bzpeer id), so other sites and the README can link a profile without our pk."""
    researcher = queries.get_researcher_by_source(source_id)
    return redirect(researcher.get_absolute_url())


@require_GET
def export_works(request: HttpRequest, pk: int, fmt: str) -> StreamingHttpResponse:
    """Every listed work of a profile as BibTeX, RIS or CSL-JSON, streamed from one
    server-side cursor so a 5,000-work profile never sits in memory as one string."""
    if fmt not in citation.FORMATS:
        raise Http404("Unknown export format")
    researcher = queries.get_researcher(pk)
    works = queries.researcher_works(researcher).order_by("publication_year", "id")
    _, content_type, extension = citation.FORMATS[fmt]
    response = StreamingHttpResponse(
        citation.WRITERS[fmt](citation_records(works)), content_type=content_type
    )
    filename = f"{researcher.slug}-works.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
