"""Serving pages and fragments from the cache by content version (see __init__.py)."""

from __future__ import annotations

import hashlib
import secrets
import struct
import threading
import zlib
from calendar import timegm
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache as memoize
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db.models import OuterRef, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from django.utils.regex_helper import _lazy_re_compile
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import compress_string

from bzpeer.pagecache.loading import fetch_one
from bzpeer.pagecache.models import ContentVersion

# Entries leave the cache only when Redis needs the room or a version moves on; this
# timeout only bounds how long an entry nobody asks for keeps its memory.
CACHE_SECONDS = 7 * 24 * 3600
# A shared cache (a CDN, a proxy) may keep a public page this long; browsers revalidate
# every time (max-age=0) and get a 304 while the version holds.
SHARED_MAX_AGE = 10
PUBLIC_CACHE_CONTROL = f"public, max-age=0, s-maxage={SHARED_MAX_AGE}"
PRIVATE_CACHE_CONTROL = "private, no-store"
VARY = ("Cookie", "HX-Request")
EPOCH_SQL = "SELECT value FROM pagecache_epoch LIMIT 1"
LOCAL_CACHE_BYTES = 16 * 1024 * 1024
ACCEPTS_GZIP = _lazy_re_compile(r"\bgzip\b")
# The request attribute naming the version serve() answered with (read by front.py).
SERVED_VERSION_ATTRIBUTE = "page_cache_version"


class _LocalPages:
    """A small in-process LRU in front of Redis for the hottest pages. Safe without any
    invalidation: a key names one version of a page, whose content never changes, so an
    entry can only be unused, never wrong. It saves the Redis round trip on a hit."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any:
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
        return entry

    def clear(self) -> None:
        self.entries.clear()
        self.size = 0

    def put(self, key: str, entry: tuple | str | dict) -> None:
        if key in self.entries:
            return
        self.entries[key] = entry
        self.size += _entry_size(entry)
        while self.size > self.max_bytes and self.entries:
            _, dropped = self.entries.popitem(last=False)
            self.size -= _entry_size(dropped)


def _entry_size(entry: tuple | str | dict) -> int:
    if isinstance(entry, str):  # a fragment
        return len(entry)
    if isinstance(entry, dict):  # a viewer's parts
        return sum(len(part) for part in entry.values())
    content, compressed, _ = entry
    return len(content) + len(compressed or b"")


# Per worker process; pages are 5-60 KB, so this holds the few hundred hottest.
_local = _LocalPages(max_bytes=LOCAL_CACHE_BYTES)

# A signed-in reader's own parts of a page (a few KB), per worker process.
_viewer_parts = _LocalPages(max_bytes=4 * 1024 * 1024)
# Stands for the CSRF token in kept parts; each response puts its own masked token there.
# Random per process, so no text of a page can contain it.
CSRF_PLACEHOLDER = f"csrf-{secrets.token_hex(16)}"


def viewer_parts(key: str, render: Callable[[], dict[str, str]]) -> dict[str, str]:
    """The per-viewer parts named by `key` (which must name everything they show: the
    page version, the viewer and the viewer's state), kept in this process only (they
    are one person's, so never shared through Redis); `render()` when absent."""
    parts = _viewer_parts.get(key)
    if parts is None:
        parts = render()
        _viewer_parts.put(key, dict(parts))
        return parts
    return dict(parts)


def clear_all() -> None:
    """Empty the shared cache and this process's copies (tests that need a full
    rendering, maintenance). Never needed for freshness: versions take care of that."""
    from bzpeer.pagecache import front  # front builds on this module

    cache.clear()
    _local.clear()
    _viewer_parts.clear()
    front.clear()


def version_annotations(kind: str) -> dict:
    """Annotations that read a record's page version in the query that loads it: its
    version (0 until something changed it), when it changed and the database's epoch."""
    rows = ContentVersion.objects.filter(kind=kind, object_id=OuterRef("pk"))
    return {
        "page_version": Coalesce(Subquery(rows.values("version")[:1]), Value(0)),
        "page_changed_at": Subquery(rows.values("changed_at")[:1]),
        "page_epoch": RawSQL(EPOCH_SQL, ()),
    }


@dataclass(frozen=True)
class PageVersion:
    """What a cached rendering depends on: one or more (kind, id, version) parts."""

    epoch: str
    parts: tuple[str, ...]
    changed_at: datetime | None = None
    # The values this version was read from, as a front.Validator of the page returns
    # them (the epoch, the record's version, then any others the page adds).
    state: tuple = ()

    @classmethod
    def of(cls, record: Any, kind: str) -> PageVersion:
        """From a record loaded with version_annotations(kind)."""
        return cls(
            epoch=record.page_epoch,
            parts=(f"{kind}{record.pk}.{record.page_version}",),
            changed_at=record.page_changed_at,
            state=(record.page_epoch, record.page_version),
        )

    def plus(self, *parts: object) -> PageVersion:
        return replace(self, parts=(*self.parts, *(str(p) for p in parts)))

    def read_from(self, *values: object) -> PageVersion:
        """This version, also read from `values` (in the order the page's validator
        returns them after the epoch and version)."""
        return replace(self, state=(*self.state, *values))

    @property
    def key(self) -> str:
        return f"{self.epoch}:{release()}:{'/'.join(self.parts)}"


LISTED_VERSIONS_SQL = (
    "SELECT (SELECT value FROM pagecache_epoch LIMIT 1),"
    " (SELECT array_agg(object_id || '.' || version ORDER BY object_id)"
    "  FROM pagecache_contentversion WHERE kind = %s AND object_id = ANY(%s))"
)


def listing_version(name: str, kind: str, ids: list[int], shown: object) -> PageVersion:
    """The version of a page that lists records of `kind` (a directory page): a digest of
    what it shows besides them (`shown`: its parameters, totals, filter counts) and of the
    listed records' own versions, read in one query. The list itself comes from the
    page's query, run on every request; the rendering is what the cache saves."""
    epoch, versions = fetch_one(LISTED_VERSIONS_SQL, [kind, ids]) or ("", None)
    digest = hashlib.sha1(repr((shown, ids, versions)).encode(), usedforsecurity=False)
    return PageVersion(epoch=epoch, parts=(f"{name}.{digest.hexdigest()[:24]}",))


@memoize
def release() -> str:
    """A digest of the code and templates that render pages, computed once per process:
    a deploy that changes how a page looks never serves an older rendering."""
    digest = hashlib.sha1(usedforsecurity=False)
    base = Path(settings.BASE_DIR)
    apps = ["bzpeer", "works", "profiles", "claims", "graph", "templates"]
    for app in apps:
        for path in sorted((base / app).rglob("*")):
            if path.suffix in {".py", ".html", ".svg"} and "migrations" not in path.parts:
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _variant(request: HttpRequest, variant: str) -> str:
    # The host and scheme appear in canonical links; HTMX requests get fragments.
    htmx = "htmx" if request.headers.get("HX-Request") == "true" else "page"
    return f"{request.scheme}://{request.get_host()}|{htmx}|{variant}"


def _is_public(request: HttpRequest) -> bool:
    """True when the response may be the same for every visitor: an anonymous visitor
    with no message waiting to be shown (len() does not consume them)."""
    if not request.COOKIES:
        # No session cookie: nobody is signed in (sign-in lives in the session) and no
        # message waits (messages live in their cookie or the session). Nothing to read.
        return True
    if request.user.is_authenticated:
        return False
    return len(get_messages(request)) == 0


def _set_public_headers(
    response: HttpResponse, etag: str, last_modified: int | None, vary: tuple[str, ...] = VARY
) -> None:
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = PUBLIC_CACHE_CONTROL
    patch_vary_headers(response, vary)


def _set_private_headers(response: HttpResponse) -> None:
    response["Cache-Control"] = PRIVATE_CACHE_CONTROL
    patch_vary_headers(response, VARY)


def _storable(request: HttpRequest, response: HttpResponse) -> bool:
    """A rendering may be shared only if it is a plain 200 that set no cookie and asked
    for no CSRF token (a token is a per-visitor secret)."""
    return (
        response.status_code == 200
        and not response.cookies
        and not response.streaming
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    )


def serve(
    request: HttpRequest,
    *,
    version: PageVersion,
    variant: str,
    render: Callable[[], HttpResponse],
    shared: bool = False,
) -> HttpResponse:
    """The response for `version` of a page: from the cache, a 304, or `render()`.

    `shared=True` marks a fragment that is the same for every visitor (no per-user part),
    so signed-in visitors get it from the cache too. Otherwise only anonymous visitors
    do, and signed-in ones get `render()` (which may use cached fragments) privately.
    """
    if not (shared or _is_public(request)):
        response = render()
        _set_private_headers(response)
        return response

    key = f"page:{version.key}:{_variant(request, variant)}"
    etag = f'"{hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:24]}"'
    last_modified = timegm(version.changed_at.utctimetuple()) if version.changed_at else None
    not_modified = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if not_modified is not None:
        _set_public_headers(not_modified, etag, last_modified)
        return not_modified

    setattr(request, SERVED_VERSION_ATTRIBUTE, version)
    stored = _local.get(key)
    if stored is None:
        stored = cache.get(key)
        if stored is not None:
            _local.put(key, stored)
    if stored is not None:
        content, compressed, content_type = stored
        if compressed is not None and ACCEPTS_GZIP.search(
            request.headers.get("Accept-Encoding", "")
        ):
            # Compressed once when stored: no per-hit gzip. There is no secret in a shared
            # page (see _storable), so a fixed compressed body leaks nothing (BREACH).
            response = HttpResponse(compressed, content_type=content_type)
            response["Content-Encoding"] = "gzip"
            etag = f"W/{etag}"
        else:
            response = HttpResponse(content, content_type=content_type)
        response["X-Page-Cache"] = "hit"
        _set_public_headers(response, etag, last_modified, (*VARY, "Accept-Encoding"))
        return response
    response = render()
    if not _storable(request, response):
        _set_private_headers(response)
        return response
    content = response.content
    compressed = compress_string(content) if len(content) >= 200 else None
    stored = (content, compressed, response["Content-Type"])
    cache.set(key, stored, CACHE_SECONDS)
    _local.put(key, stored)
    response["X-Page-Cache"] = "miss"
    _set_public_headers(response, etag, last_modified)
    return response


def fragments(version: PageVersion, parts: dict[str, Callable[[], str]]) -> dict[str, SafeString]:
    """Rendered HTML of named fragments of one page version: one cache round trip for
    all of them, and only the missing ones rendered (and stored)."""
    keys = {name: f"fragment:{version.key}:{name}" for name in parts}
    found = {key: value for key in keys.values() if (value := _local.get(key)) is not None}
    if len(found) < len(keys):
        found.update(cache.get_many([key for key in keys.values() if key not in found]))
    html: dict[str, SafeString] = {}
    missing: dict[str, str] = {}
    for name, render in parts.items():
        value = found.get(keys[name])
        if value is None:
            value = render()
            missing[keys[name]] = value
        _local.put(keys[name], value)
        html[name] = mark_safe(value)  # the output of our own templates
    if missing:
        cache.set_many(missing, CACHE_SECONDS)
    return html


@dataclass(frozen=True)
class Shell:
    """A page rendered once per version with a marker where each per-visitor part goes
    (the header's links, messages, follow and identity sections...). A signed-in request
    renders only those parts, with small templates, and fills them in.

    The markers carry a random nonce drawn when the shell is rendered, so no text of the
    record (escaped anyway) can pose as one."""

    nonce: str
    html: str
    key: str = ""

    def fill(self, parts: dict[str, str]) -> SafeString:
        html = self.html
        for name, part in parts.items():
            html = html.replace(_marker(self.nonce, name), part, 1)
        return mark_safe(html)  # our own templates' output, parts included

    def response(self, request: HttpRequest, parts: dict[str, str]) -> HttpResponse:
        """The filled page; gzipped when the client accepts it, from the shell's text
        compressed once per version and process, so only the visitor's parts are
        compressed per request."""
        if not ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")):
            return HttpResponse(self.fill(parts))
        pieces = _compressed_pieces(self)
        body = [_gzip_header()]
        crc = 0
        size = 0
        filled = set()
        # One compressor for the parts, its state dropped after each (a full flush), so no
        # part refers to another across the shell's text between them.
        parts_compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        for raw, deflated, slot in pieces:
            crc = zlib.crc32(raw, crc)
            size += len(raw)
            body.append(deflated)
            if slot is not None:
                # As fill(): a slot's first marker takes its part, any other stays.
                part = parts.get(slot) if slot not in filled else None
                filled.add(slot)
                text = (part if part is not None else _marker(self.nonce, slot)).encode()
                crc = zlib.crc32(text, crc)
                size += len(text)
                body.append(parts_compressor.compress(text))
                body.append(parts_compressor.flush(zlib.Z_FULL_FLUSH))
        body.append(DEFLATE_END)
        body.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
        response = HttpResponse(b"".join(body))
        response["Content-Encoding"] = "gzip"
        patch_vary_headers(response, ("Accept-Encoding",))
        return response


# A gzip member is a header, deflate blocks and a trailer (CRC-32 and length of the text).
# Deflate output that ends with a sync flush is byte-aligned and, when each piece has its
# own compressor, refers to nothing before it: such pieces may be joined in any order and
# closed with one final empty block. So the shell's text is compressed once, and a request
# compresses only its own parts. The parts (with the CSRF token) are never compressed
# together with the page's text, and Django's own BREACH measures hold: the token is masked
# anew in every response, and the header carries a random file name of random length as
# GZipMiddleware's does.
DEFLATE_END = b"\x03\x00"
GZIP_RANDOM_BYTES = 100
SHELL_PIECES = 256


def _deflated(data: bytes, level: int = 6) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


def _gzip_header() -> bytes:
    name = secrets.token_hex(secrets.randbelow(GZIP_RANDOM_BYTES // 2) + 1).encode()
    # ID1 ID2, deflate, FNAME, no mtime, no extra flags, OS unknown; then the name.
    return b"\x1f\x8b\x08\x08\x00\x00\x00\x00\x00\xff" + name + b"\x00"


_shell_pieces: OrderedDict[str, list[tuple[bytes, bytes, str | None]]] = OrderedDict()
_shell_pieces_lock = threading.Lock()


def _compressed_pieces(page: Shell) -> list[tuple[bytes, bytes, str | None]]:
    """The shell's text between its slots, each piece compressed on its own, with the
    name of the slot that follows it (None after the last). Kept per process by the
    shell's key, which names one version."""
    with _shell_pieces_lock:
        pieces = _shell_pieces.get(page.key) if page.key else None
    if pieces is not None:
        return pieces
    pieces = []
    texts = SLOT_MARKER.split(page.html)
    # split() with one group: text, nonce, name, text, nonce, name, ..., text
    for index in range(0, len(texts), 3):
        raw = texts[index].encode()
        slot = texts[index + 2] if index + 2 < len(texts) else None
        if index + 1 < len(texts) and texts[index + 1] != page.nonce:
            # Not one of this shell's markers: keep it as text.
            raw += _marker(texts[index + 1], texts[index + 2]).encode()
            slot = None
        pieces.append((raw, _deflated(raw), slot))
    if page.key:
        with _shell_pieces_lock:
            _shell_pieces[page.key] = pieces
            while len(_shell_pieces) > SHELL_PIECES:
                _shell_pieces.popitem(last=False)
    return pieces


def _marker(nonce: str, name: str) -> str:
    return f"<!--slot:{nonce}:{name}-->"


SLOT_MARKER = _lazy_re_compile(r"<!--slot:([0-9a-f]+):([a-z_]+)-->")


def shell(
    version: PageVersion, name: str, slots: tuple[str, ...], render: Callable[[dict], str]
) -> Shell:
    """The shell `name` of this page version (from the cache, or `render(slots)` with a
    marker for each slot), stored as the other fragments are."""

    def rendered() -> str:
        nonce = secrets.token_hex(8)
        markers = {slot: mark_safe(_marker(nonce, slot)) for slot in slots}
        return f"{nonce}\n{render(markers)}"

    nonce, html = fragments(version, {f"shell:{name}": rendered})[f"shell:{name}"].split("\n", 1)
    return Shell(nonce=nonce, html=html, key=f"{version.key}:{name}")
