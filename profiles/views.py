from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, dataclass
from functools import cache as memoize
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages import get_messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    StreamingHttpResponse,
)
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template import Context, RequestContext
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, push_url

from bzpeer.htmx import partial_or_redirect
from bzpeer.pagecache.front import front_cached
from bzpeer.pagecache.models import ContentVersion
from bzpeer.pagecache.responses import (
    CSRF_PLACEHOLDER,
    PageVersion,
    fragments,
    serve,
    shell,
    viewer_parts,
)
from bzpeer.provenance import source_name, source_url
from bzpeer.ratelimit import allow
from bzpeer.types import HtmxHttpRequest
from claims import listing
from claims import queries as claim_queries
from claims.queries import ANONYMOUS, ViewerState, viewer_state
from profiles import queries, services
from profiles.access import get_researcher_or_404, require_visible
from profiles.charts import citations_per_year_chart, works_per_year_chart
from profiles.follow_views import back_url
from profiles.forms import SUMMARY_DRAFT_KEY
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


VIEWER_COLUMNS = {f"viewer_{name}": f"vs.{name}" for name in claim_queries.IDENTITY_COLUMNS}


def _page_researcher(pk: int | str, viewer: Any = None) -> Researcher:
    """get_researcher_or_404 (merges followed the same way) with the page version: one
    statement, more only for a merged record. With a signed-in `viewer`, the same
    statement reads their identity state (viewer_identity)."""

    def load(number: int) -> Researcher:
        if viewer is None:
            return queries.get_researcher_for_page(number)
        loaded: Any = queries.get_researcher_for_page(
            number,
            joins=claim_queries.identity_join(),
            extra=VIEWER_COLUMNS,
            join_params=[viewer.pk],
        )
        row = tuple(getattr(loaded, name) for name in VIEWER_COLUMNS)
        loaded.viewer_identity = claim_queries.viewer_state_from(row, viewer, loaded)
        return loaded

    researcher = load(int(pk))
    if researcher.merged_into_id:
        survivor = get_researcher_or_404(pk)
        researcher = load(survivor.pk)
    # Hidden records answer 410 before any cached page is looked up.
    return require_visible(researcher)


def _signed_in_viewer(request: HttpRequest) -> Any:
    """The signed-in user, or None; reads nothing when there is no session cookie."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return None
    return request.user if request.user.is_authenticated else None


@dataclass(frozen=True)
class WorksParams:
    """The works list asked for, normalised: sort and page name a cached rendering, so
    anything else in the query string must not make a new one (an invalid page reads as
    page 1). Filtered lists are rendered for each request instead: any value of a filter
    would name a new rendering."""

    sort: str
    page: str
    filters: listing.WorkFilters

    @classmethod
    def of(cls, request: HttpRequest) -> WorksParams:
        sort = request.GET.get("sort", listing.DEFAULT_WORK_SORT)
        if sort not in listing.WORK_SORTS:
            sort = listing.DEFAULT_WORK_SORT
        page = request.GET.get("page", "1")
        if not (page.isascii() and page.isdigit() and len(page) <= 6):
            page = "1"
        return cls(sort=sort, page=page, filters=listing.WorkFilters.from_query(request.GET))

    @property
    def cached(self) -> bool:
        return not self.filters

    @property
    def name(self) -> str:
        return f"works.{self.sort}.{self.page}"


def _works_context(researcher: Researcher, params: WorksParams, topics: list) -> dict:
    filters = params.filters
    page = listing.works_page(
        researcher,
        sort=params.sort,
        page_number=params.page,
        filters=filters,
        with_authors=True,
    )
    return {
        "researcher": researcher,
        "works": page,
        "sort": params.sort,
        "sorts": listing.WORK_SORTS,
        "filters": filters,
        # Appended to sort and page links so they keep the filters ("&type=article...").
        "filter_query": "".join(f"&{urlencode({k: v})}" for k, v in filters.params().items()),
        "facets": listing.work_facets(researcher, topics),
    }


def _filter_topics(researcher: Researcher) -> list:
    return queries.top_topics(researcher, limit=listing.TOPIC_FILTERS_SHOWN)


def _follow_context(request: HttpRequest, researcher: Researcher) -> dict:
    following, email_digest = queries.follow_state(request.user, researcher)
    return {"researcher": researcher, "following": following, "email_digest": email_digest}


def _profile_path(researcher: Researcher, params: WorksParams) -> str:
    pairs = (("sort", params.sort), ("page", params.page))
    query = {k: v for k, v in pairs if v not in ("newest", "1")}
    query.update(params.filters.params())
    return f"{researcher.get_absolute_url()}{'?' + urlencode(query) if query else ''}"


# The parts of a profile that depend on who is looking: a signed-in visitor gets the page's
# shell (rendered once per version) with these rendered for them (_render_profile_shell).
VIEWER_SLOTS = ("body", "nav", "messages", "article_class", "top", "follow", "identity", "direct")
VIEWER_SLOT_TEMPLATES = {
    "body": "_body_attributes.html",
    "nav": "_nav_links.html",
    "messages": "_messages.html",
    "follow": "profiles/_follow.html",
    "identity": "profiles/_identity.html",
    "direct": "profiles/_direct_collaboration.html",
}


def _render_profile(
    request: HttpRequest, researcher: Researcher, version: PageVersion, params: WorksParams
) -> HttpResponse:
    """The page around its cached fragments: the record's sections come from the cache
    for this version; the viewer's own sections (follow, claim, owner tools, invitations,
    the site header) are rendered for this request, and so is a filtered works list."""
    # The viewer's claim/owner/invitation state: read with the record when the view asked
    # for it, else one query (none for anonymous users).
    identity = getattr(researcher, "viewer_identity", None) or viewer_state(
        request.user, researcher
    )
    if params.cached and identity.is_authenticated:
        return _render_profile_shell(request, researcher, version, params, identity)
    topics = memoize(lambda: _filter_topics(researcher))
    context = _profile_context(request, researcher, version, params, identity, topics=topics)
    context.update(following=identity.following, email_digest=identity.email_digest)
    return render(request, "profiles/researcher_detail.html", context)


def _profile_context(
    request: HttpRequest,
    researcher: Researcher,
    version: PageVersion,
    params: WorksParams,
    identity: ViewerState,
    *,
    topics: Callable[[], list],
    with_top: bool = True,
) -> dict:
    """The page's context but the viewer's follow state; `with_top=False` leaves the
    header section out (a shell's slot)."""

    @memoize
    def works_context() -> dict:
        return _works_context(researcher, params, topics())

    def works_html() -> str:
        return render_to_string("profiles/_works.html", works_context())

    def works_sources() -> str:
        # The data sources of the works shown, for the page footer (one name a line).
        return "\n".join(sorted({source_name(work.source_id) for work in works_context()["works"]}))

    parts = {
        "summary": lambda: render_to_string(
            "profiles/_summary_text.html", {"researcher": researcher, "top_topics": topics()[:3]}
        ),
        "graph": lambda: render_to_string(
            "profiles/_profile_graph.html", {"researcher": researcher}
        ),
        "corrections": lambda: render_to_string(
            "profiles/_corrections.html", {"corrections": queries.corrections(researcher)}
        ),
        # The record's topics by name, for the page's description and structured data.
        "topic_names": lambda: "\n".join(row.topic.display_name for row in topics()[:10]),
    }
    if params.cached:
        parts[params.name] = works_html
        parts[f"sources.{params.sort}.{params.page}"] = works_sources
    # The owner and a pending claimant see their own state in the header badges.
    personal_top = _personal_top(identity)
    followers_listed = researcher.followers_visible_to(request.user)
    if with_top and not personal_top:
        parts["top"] = lambda: _top_html(
            researcher, identity, topics(), followers_listed=followers_listed
        )
    html = fragments(version, parts)
    if params.cached:
        sources = [
            name for name in html[f"sources.{params.sort}.{params.page}"].split("\n") if name
        ]
        works = html[params.name]
    else:
        sources = sorted({source_name(work.source_id) for work in works_context()["works"]})
        works = mark_safe(works_html())  # the output of our own template
    path = _profile_path(researcher, params)
    context = {
        "researcher": researcher,
        "identity": identity,
        "summary_html": html["summary"],
        "top_html": "",
        "graph_html": html["graph"],
        "works_html": works,
        "corrections_html": html["corrections"],
        "page_path": path,
    }
    if with_top:
        context["top_html"] = (
            _top_html(researcher, identity, topics(), followers_listed=followers_listed)
            if personal_top
            else html["top"]
        )
    topic_names = [name for name in html["topic_names"].split("\n") if name]
    context.update(profile_meta(request, researcher, topic_names=topic_names, work_sources=sources))
    return context


def _personal_top(identity: ViewerState) -> bool:
    return identity.is_owner or bool(identity.pending_claim_id)


def _top_html(
    researcher: Researcher, identity: ViewerState, topics: list, *, followers_listed: bool
) -> str:
    """The record's header; `followers_listed` (Researcher.followers_visible_to the viewer)
    links the follower list. It is the same for every viewer but the owner, whose header
    is never the cached one (_personal_top), so the cached header may carry it."""
    context = {
        "researcher": researcher,
        "top_topics": topics[:3],
        "chart": works_per_year_chart(listing.works_per_year(researcher)),
        "citations_chart": citations_per_year_chart(researcher.citations_by_year or {}),
        "source_name": source_name(researcher.source_id),
        "source_url": source_url(researcher.source_id),
        "identity": identity,
        "followers_listed": followers_listed,
    }
    return render_to_string("profiles/_profile_top.html", context)


def _render_profile_shell(
    request: HttpRequest,
    researcher: Researcher,
    version: PageVersion,
    params: WorksParams,
    identity: ViewerState,
) -> HttpResponse:
    """A signed-in visitor's profile: the page's shell for this version (the record's
    parts, the same for everyone) with the visitor's own parts rendered into its slots by
    small templates; no page template is rendered."""

    topics = memoize(lambda: _filter_topics(researcher))

    def render_shell(slots: dict) -> str:
        # As an anonymous visitor would see it; every per-visitor part is a slot.
        context = _profile_context(
            request, researcher, version, params, ANONYMOUS, topics=topics, with_top=False
        )
        return render_to_string(
            "profiles/researcher_detail.html", {**context, "slots": slots}, request=request
        )

    # Canonical links name the host: one shell per host as well.
    name = f"profile.{params.sort}.{params.page}.{request.scheme}://{request.get_host()}"
    page = shell(version, name, VIEWER_SLOTS, render_shell)
    followers_listed = researcher.followers_visible_to(request.user)
    if _personal_top(identity):
        top = _top_html(researcher, identity, topics(), followers_listed=followers_listed)
    else:
        top = fragments(
            version,
            {
                "top": lambda: _top_html(
                    researcher, identity, topics(), followers_listed=followers_listed
                )
            },
        )["top"]
    context = {
        "following": identity.following,
        "email_digest": identity.email_digest,
        "identity": identity,
        "researcher": researcher,
        "page_path": _profile_path(researcher, params),
        # What the owner typed into a summary that did not save (a plain form post).
        "summary_draft": request.session.pop(SUMMARY_DRAFT_KEY, None),
    }
    templates = {
        slot: get_template(name).template  # type: ignore[attr-defined]
        for slot, name in VIEWER_SLOT_TEMPLATES.items()
    }
    if identity.is_owner or identity.pending_claim_id or context["summary_draft"] is not None:
        # The owner's and a claimant's parts carry forms and state of their own.
        parts = _render_parts(request, context, templates)
    else:
        parts = _reader_parts(request, version, identity, context, templates)
    parts["top"] = top
    parts["article_class"] = " profile-owner" if identity.is_owner else ""
    return page.response(request, parts)


def _render_parts(request: HttpRequest, context: dict, templates: dict) -> dict[str, str]:
    """The visitor's parts, rendered for this request. Bound once for all of them: the
    context processors run once, so the page carries one masked CSRF token (masking costs
    more than rendering a small part)."""
    request_context = RequestContext(request, context)
    with request_context.bind_template(templates["body"]):
        return {slot: t.render(request_context) for slot, t in templates.items()}


def _reader_parts(
    request: HttpRequest,
    version: PageVersion,
    identity: ViewerState,
    context: dict,
    templates: dict,
) -> dict[str, str]:
    """A signed-in reader's parts of a profile, rendered once per page version, reader and
    reader's state (identity, follow) and kept in the process; each response then only
    masks its CSRF token anew and puts it in. A message waiting is rendered every time."""
    user: Any = request.user
    if len(get_messages(request)):
        return _render_parts(request, context, templates)
    key = "|".join(
        (
            version.key,
            context["page_path"],
            f"{user.pk}:{user.get_username()}:{user.email}",
            repr(astuple(identity)),
        )
    )

    def render() -> dict[str, str]:
        # No context processors: what they would give the parts is set here, the token
        # as a placeholder replaced per response.
        plain = Context(
            {
                **context,
                "user": user,
                "request": request,
                "messages": (),
                "csrf_token": CSRF_PLACEHOLDER,
            }
        )
        with plain.bind_template(templates["body"]):
            return {slot: t.render(plain) for slot, t in templates.items()}

    token = get_token(request)
    return {
        slot: html.replace(CSRF_PLACEHOLDER, token)
        for slot, html in viewer_parts(key, render).items()
    }


@front_cached(queries.RESEARCHER_PAGE_STATE)
@require_safe
@vary_on_headers("HX-Request")
def researcher_detail(request: HttpRequest, pk: int | str, slug: str | None = None) -> HttpResponse:
    researcher = _page_researcher(pk, _signed_in_viewer(request))
    # A merged record, or a stale or missing slug, moves to the canonical URL.
    if researcher.pk != int(pk) or slug != researcher.slug:
        url = researcher.get_absolute_url()
        if request.GET:
            url = f"{url}?{request.GET.urlencode()}"
        return HttpResponsePermanentRedirect(url)
    params = WorksParams.of(request)
    version = PageVersion.of(researcher, ContentVersion.Kind.RESEARCHER)
    if not params.cached:
        return _render_profile(request, researcher, version, params)
    return serve(
        request,
        version=version,
        variant=f"profile|{params.sort}|{params.page}",
        render=lambda: _render_profile(request, researcher, version, params),
    )


@front_cached(queries.RESEARCHER_PAGE_STATE)
@require_safe
@vary_on_headers("HX-Request")
def works_fragment(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    researcher = _page_researcher(pk)
    if not request.htmx:
        query = urlencode({k: v for k, v in request.GET.items() if k in WORKS_QUERY_KEYS})
        return redirect(f"{researcher.get_absolute_url()}?{query}#published-work")
    params = WorksParams.of(request)
    if params.cached:
        version = PageVersion.of(researcher, ContentVersion.Kind.RESEARCHER)

        def render_fragment() -> HttpResponse:
            def html() -> str:
                context = _works_context(researcher, params, _filter_topics(researcher))
                return render_to_string("profiles/_works.html", context)

            return HttpResponse(fragments(version, {params.name: html})[params.name])

        # The same HTML for every visitor: served from the cache to signed-in visitors too.
        response = serve(
            request,
            version=version,
            variant=f"works|{params.sort}|{params.page}",
            render=render_fragment,
            shared=True,
        )
    else:
        context = _works_context(researcher, params, _filter_topics(researcher))
        response = render(request, "profiles/_works.html", context)
    # The address bar shows the profile with these filters: a link anyone can share.
    shared = urlencode({k: v for k, v in request.GET.items() if k in WORKS_QUERY_KEYS and v})
    push_url(response, f"{researcher.get_absolute_url()}?{shared}")
    return response


def _toggle_follow(request: HtmxHttpRequest, pk: int, *, follow: bool) -> HttpResponse:
    researcher = get_researcher_or_404(pk)
    connect_url = back_url(request, researcher)
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
    # A hidden record answers 410 here too: a redirect would name it (its slug).
    researcher = require_visible(queries.get_researcher_by_source(source_id))
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
