from __future__ import annotations

from functools import cache as memoize
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from bzpeer.htmx import partial_or_redirect
from bzpeer.pagecache.models import ContentVersion
from bzpeer.pagecache.responses import PageVersion, fragments, serve
from bzpeer.ratelimit import allow
from bzpeer.types import HtmxHttpRequest
from claims import listing
from claims.queries import viewer_state
from profiles import queries, services
from profiles.access import get_researcher_or_404
from profiles.charts import works_per_year_chart
from profiles.models import Researcher

FOLLOW_LIMIT_PER_HOUR = 60


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"researchers": queries.featured_researchers()})


def _page_researcher(pk: int | str) -> Researcher:
    """get_researcher_or_404 (merges followed the same way) with the page version: one
    statement, more only for a merged record."""
    researcher = queries.get_researcher_for_page(int(pk))
    if researcher.merged_into_id:
        survivor = get_researcher_or_404(pk)
        researcher = queries.get_researcher_for_page(survivor.pk)
    return researcher


def _works_params(request: HttpRequest) -> tuple[str, str]:
    """The sort and page asked for, normalised: they name a cached rendering, so anything
    else in the query string must not make a new one (an invalid page reads as page 1)."""
    sort = request.GET.get("sort", listing.DEFAULT_WORK_SORT)
    if sort not in listing.WORK_SORTS:
        sort = listing.DEFAULT_WORK_SORT
    page = request.GET.get("page", "1")
    if not (page.isdigit() and len(page) <= 6):
        page = "1"
    return sort, page


def _works_context(researcher: Researcher, sort: str, page: str) -> dict:
    works = listing.works_page(researcher, sort=sort, page_number=page)
    return {"researcher": researcher, "works": works, "sort": sort, "sorts": listing.WORK_SORTS}


def _works_html(researcher: Researcher, sort: str, page: str) -> str:
    return render_to_string("profiles/_works.html", _works_context(researcher, sort, page))


def _follow_context(request: HttpRequest, researcher: Researcher) -> dict:
    return {
        "researcher": researcher,
        "following": queries.is_following(request.user, researcher),
    }


def _profile_path(researcher: Researcher, sort: str, page: str) -> str:
    query = {k: v for k, v in (("sort", sort), ("page", page)) if v not in ("newest", "1")}
    return f"{researcher.get_absolute_url()}{'?' + urlencode(query) if query else ''}"


def _render_profile(
    request: HttpRequest, researcher: Researcher, version: PageVersion, sort: str, page: str
) -> HttpResponse:
    """The page around its cached fragments: the record's sections come from the cache
    for this version; the viewer's own sections (follow, claim, owner tools, invitations,
    the site header) are rendered for this request."""
    # The viewer's claim/owner/invitation state: one query, none for anonymous users.
    identity = viewer_state(request.user, researcher)

    @memoize
    def top_topics() -> list:
        return queries.top_topics(researcher)

    def top_html() -> str:
        context = {
            "researcher": researcher,
            "top_topics": top_topics(),
            "chart": works_per_year_chart(listing.works_per_year(researcher)),
            "identity": identity,
        }
        return render_to_string("profiles/_profile_top.html", context)

    parts = {
        "summary": lambda: render_to_string(
            "profiles/_summary_text.html", {"researcher": researcher, "top_topics": top_topics()}
        ),
        "graph": lambda: render_to_string(
            "profiles/_profile_graph.html", {"researcher": researcher}
        ),
        f"works.{sort}.{page}": lambda: _works_html(researcher, sort, page),
        "corrections": lambda: render_to_string(
            "profiles/_corrections.html", {"corrections": queries.corrections(researcher)}
        ),
    }
    # The owner and a pending claimant see their own state in the header badges.
    personal_top = identity.is_owner or bool(identity.pending_claim_id)
    if not personal_top:
        parts["top"] = top_html
    html = fragments(version, parts)
    context = {
        **_follow_context(request, researcher),
        "identity": identity,
        "summary_html": html["summary"],
        "top_html": top_html() if personal_top else html["top"],
        "graph_html": html["graph"],
        "works_html": html[f"works.{sort}.{page}"],
        "corrections_html": html["corrections"],
        "page_path": _profile_path(researcher, sort, page),
    }
    return render(request, "profiles/researcher_detail.html", context)


@require_GET
@vary_on_headers("HX-Request")
def researcher_detail(request: HttpRequest, pk: int | str, slug: str | None = None) -> HttpResponse:
    researcher = _page_researcher(pk)
    # A merged record, or a stale or missing slug, moves to the canonical URL.
    if researcher.pk != int(pk) or slug != researcher.slug:
        url = researcher.get_absolute_url()
        if request.GET:
            url = f"{url}?{request.GET.urlencode()}"
        return HttpResponsePermanentRedirect(url)
    sort, page = _works_params(request)
    version = PageVersion.of(researcher, ContentVersion.Kind.RESEARCHER)
    return serve(
        request,
        version=version,
        variant=f"profile|{sort}|{page}",
        render=lambda: _render_profile(request, researcher, version, sort, page),
    )


@require_GET
@vary_on_headers("HX-Request")
def works_fragment(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    researcher = _page_researcher(pk)
    if not request.htmx:
        query = urlencode({k: v for k, v in request.GET.items() if k in ("sort", "page")})
        return redirect(f"{researcher.get_absolute_url()}?{query}#published-work")
    sort, page = _works_params(request)
    version = PageVersion.of(researcher, ContentVersion.Kind.RESEARCHER)
    name = f"works.{sort}.{page}"

    def render_fragment() -> HttpResponse:
        html = fragments(version, {name: lambda: _works_html(researcher, sort, page)})
        return HttpResponse(html[name])

    # The same HTML for every visitor: served from the cache to signed-in visitors too.
    return serve(
        request,
        version=version,
        variant=f"works|{sort}|{page}",
        render=render_fragment,
        shared=True,
    )


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


@require_GET
def researcher_by_source(request: HttpRequest, source_id: str) -> HttpResponse:
    """Resolve a record by where it came from (`A5017898742`, the OpenAlex URL, or a local
    urn:bzpeer id), so other sites and the README can link a profile without our pk."""
    researcher = queries.get_researcher_by_source(source_id)
    return redirect(researcher.get_absolute_url())
