from __future__ import annotations

from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit


def chunked(values: Iterable[int], size: int = 1000) -> Iterator[list[int]]:
    """Yield lists of at most `size` values: bounded SQL parameters and transactions."""
    batch: list[int] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def parse_id(value: str | None) -> int | None:
    """A database id written in ASCII digits that fits a bigint, else None.

    `str.isdigit()` accepts "²" (which int() refuses) and other scripts' digits (which
    int() accepts), and an id past the bigint range makes Postgres raise."""
    if not value or not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return int(value)


def web_url(url: str) -> str:
    """The URL if it is http(s), else "": imported data must never yield a javascript: link."""
    return url if urlsplit(url).scheme in {"http", "https"} else ""


def counted(count: int, singular: str, plural: str = "") -> str:
    """'1 work', '2 works': the number and its noun agreeing (ngettext, so a translation
    may give its own plural forms)."""
    from django.utils.translation import ngettext

    return f"{count} {ngettext(singular, plural or f'{singular}s', count)}"
