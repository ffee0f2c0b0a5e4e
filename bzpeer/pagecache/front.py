"""Cached public pages answered before the per-visitor middleware runs.

A request with no cookie has no session, no sign-in and no message waiting: nothing about
the visitor can change the page. For such a GET, this middleware (placed before the
session middleware) keeps, per worker process, the last cached response of each exact
request (scheme, host, path, query string, HTMX or not, gzip or not) together with what
the page's cache key was made of when it was served: the database epoch, the record's
content version and, for the graph pages, the slice row. A repeat request reads those
again in one prepared statement and, when nothing moved, answers with the kept response
(or a 304) without running the session, CSRF, auth and messages middleware or the view.
When anything moved, or the record is gone, the request goes the normal way.

Freshness: an entry's state is the one the view read in the same statement as the record
it rendered (PageVersion.state), so the response is kept exactly as long as that state is
current; versions come from one sequence and never repeat. Keeping a response costs no
query. Entries are only responses the page cache itself served as a hit (a public 200 with
no cookie set), so what they hold was already shared with every anonymous visitor.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.urls import Resolver404, resolve
from django.utils.cache import get_conditional_response
from django.utils.http import parse_http_date_safe

from bzpeer.pagecache.loading import fetch_one
from bzpeer.pagecache.responses import SERVED_VERSION_ATTRIBUTE, PageVersion

FRONT_CACHE_BYTES = 8 * 1024 * 1024
# Headers a 304 repeats from the full response (RFC 9110 15.4.5), and those it must not.
BODY_HEADERS = {"content-type", "content-encoding", "content-length"}
VALIDATOR_ATTRIBUTE = "front_cache_validator"


@dataclass(frozen=True)
class Validator:
    """One statement over the record `pk` that returns everything the page's cache key
    is made of (no row when the record is gone), in the order and form of the page's
    PageVersion.state. Its parameters are (kind, pk)."""

    sql: str
    kind: str


def validator(table: str, kind: str, *, joins: str = "", extra: tuple[str, ...] = ()) -> Validator:
    """The validator of a page keyed by the content version of `kind` for a row of
    `table` (alias r), plus any `extra` columns over `joins`."""
    columns = ", ".join(
        ("(SELECT value FROM pagecache_epoch LIMIT 1)", "coalesce(v.version, 0)", *extra)
    )
    return Validator(
        sql=(
            f'SELECT {columns} FROM "{table}" r{joins}'
            " LEFT JOIN pagecache_contentversion v ON v.kind = %s AND v.object_id = r.id"
            " WHERE r.id = %s"
        ),
        kind=kind,
    )


def front_cached(check: Validator) -> Callable[[Callable], Callable]:
    """Mark a view (a URL with a `pk`) whose public responses the front cache may keep,
    validated by `check`. The view must serve its public pages through responses.serve
    with a key made of nothing but what `check` reads and the request's URL."""

    def mark(view: Callable) -> Callable:
        setattr(view, VALIDATOR_ATTRIBUTE, check)
        return view

    return mark


@dataclass(frozen=True)
class _Entry:
    check: Validator
    pk: int
    state: tuple
    content: bytes
    headers: tuple[tuple[str, str], ...]
    etag: str | None
    last_modified: int | None

    def response(self, request: HttpRequest) -> HttpResponse:
        not_modified = get_conditional_response(
            request, etag=self.etag, last_modified=self.last_modified
        )
        response: HttpResponse
        if isinstance(not_modified, HttpResponseNotModified):
            response = not_modified
            for name, value in self.headers:
                if name.lower() not in BODY_HEADERS:
                    response[name] = value
            return response
        response = HttpResponse(self.content)
        for name, value in self.headers:
            response[name] = value
        return response


class _Entries:
    """An LRU of entries bounded by the bytes of their bodies, safe across threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[str, _Entry] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> _Entry | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: _Entry) -> None:
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.size -= len(old.content)
            self.entries[key] = entry
            self.size += len(entry.content)
            while self.size > self.max_bytes and self.entries:
                _, dropped = self.entries.popitem(last=False)
                self.size -= len(dropped.content)

    def discard(self, key: str) -> None:
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.size -= len(old.content)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0

    def __len__(self) -> int:
        return len(self.entries)


_entries = _Entries(FRONT_CACHE_BYTES)


def clear() -> None:
    _entries.clear()


def entries_count() -> int:
    return len(_entries)


def _request_key(request: HttpRequest) -> str | None:
    """Everything of the request a public page may depend on (its Vary: Cookie, of which
    there is none here, HX-Request and Accept-Encoding, and the URL); None for a host not
    allowed (the normal path answers that with a 400)."""
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    meta = request.META
    htmx = meta.get("HTTP_HX_REQUEST") == "true"
    gzip = "gzip" in meta.get("HTTP_ACCEPT_ENCODING", "")
    return (
        f"{request.scheme}://{host}{request.path}?{meta.get('QUERY_STRING', '')}|{htmx:d}{gzip:d}"
    )


def _served_state(
    request: HttpRequest, response: HttpResponse, check: Validator, pk: int
) -> tuple | None:
    """The state a response was rendered from, when it may be kept: a public 200 that the
    page cache served for exactly the URL's record (not, say, the survivor of a merged
    record, whose changes would not move the state of the URL's record). The view read
    that state with the page, so the response is kept exactly as long as it is current."""
    served: PageVersion | None = getattr(request, SERVED_VERSION_ATTRIBUTE, None)
    if (
        served is not None
        and served.parts[0].startswith(f"{check.kind}{pk}.")
        and response.status_code == 200
        and response.get("X-Page-Cache") == "hit"
        and not response.cookies
        and not response.streaming
        and response.get("Cache-Control", "").startswith("public")
    ):
        return served.state
    return None


def _read_state(check: Validator, pk: int) -> tuple | None:
    return fetch_one(check.sql, [check.kind, pk])


class FrontCacheMiddleware:
    """Answers repeat cookieless GETs of marked pages from the process's kept responses
    (see the module's docstring); every other request passes through untouched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET" or request.META.get("HTTP_COOKIE"):
            return self.get_response(request)
        key = _request_key(request)
        if key is None:
            return self.get_response(request)
        entry = _entries.get(key)
        if entry is not None:
            if _read_state(entry.check, entry.pk) == entry.state:
                return entry.response(request)
            check, pk = entry.check, entry.pk
        else:
            marked = _marked_view(request)
            if marked is None:
                return self.get_response(request)
            check, pk = marked
        response = self.get_response(request)
        state = _served_state(request, response, check, pk)
        if state is not None:
            _entries.put(key, _entry(check, pk, state, response))
        elif entry is not None:
            _entries.discard(key)
        return response


def _marked_view(request: HttpRequest) -> tuple[Validator, int] | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    check = getattr(match.func, VALIDATOR_ATTRIBUTE, None)
    pk = match.kwargs.get("pk")
    if check is None or pk is None:
        return None
    pk = int(pk)
    if not -(2**63) <= pk < 2**63:
        return None
    return check, pk


def _entry(check: Validator, pk: int, state: tuple, response: HttpResponse) -> _Entry:
    headers: Any = response.headers
    last_modified = response.get("Last-Modified")
    return _Entry(
        check=check,
        pk=pk,
        state=state,
        content=response.content,
        headers=tuple(headers.items()),
        etag=response.get("ETag"),
        last_modified=parse_http_date_safe(last_modified) if last_modified else None,
    )
