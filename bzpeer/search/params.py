"""What a visitor typed and chose, read from GET parameters that may hold anything.

Nothing here raises: a value that does not parse is dropped, so a hand-edited or hostile
URL gives a page, never a 500.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields
from urllib.parse import urlencode

from django.http import QueryDict

from profiles.models import TrustBand, VerificationLevel

QUERY_MAX_LENGTH = 200
MAX_TERMS = 8
MIN_YEAR, MAX_YEAR = 1000, 2100
# Words for the full-text query: letters and digits of any script; the rest separates.
_TERM = re.compile(r"[^\W_]+")


def clean_query(raw: str | None) -> str:
    """The query as searched: control characters (NUL included) removed, whitespace
    collapsed, at most QUERY_MAX_LENGTH characters."""
    if not raw:
        return ""
    text = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} else ch for ch in raw
    )
    return " ".join(text.split())[:QUERY_MAX_LENGTH].strip()


def query_terms(query: str) -> list[str]:
    """The words of a query (at most MAX_TERMS), for the prefix full-text query."""
    return _TERM.findall(query)[:MAX_TERMS]


def prefix_tsquery(terms: list[str]) -> str:
    """A raw tsquery matching every term, the last one as a word prefix (it may be the
    word being typed; whole words before it are cheaper to look up in the index). Terms
    are letters and digits only (`query_terms`), so no tsquery syntax can reach Postgres
    from the visitor."""
    return " & ".join([*terms[:-1], f"{terms[-1]}:*"]) if terms else ""


def _int(value: str | None, *, low: int, high: int) -> int | None:
    # ASCII digits only: str.isdigit() also accepts "²" and other digits int() refuses.
    if value is None or not re.fullmatch(r"[0-9]{1,9}", value.strip()):
        return None
    number = int(value.strip())
    return number if low <= number <= high else None


def _flag(value: str | None) -> bool:
    return value in {"1", "true", "on", "yes"}


@dataclass(frozen=True)
class Filters:
    institution: int | None = None
    topic: int | None = None
    country: str = ""
    claimed: bool = False
    verification: int | None = None
    trust_band: str = ""
    has_orcid: bool = False
    work_type: str = ""
    year_from: int | None = None
    year_to: int | None = None

    @classmethod
    def from_get(cls, params: QueryDict) -> Filters:
        country = (params.get("country") or "").strip().upper()
        band = params.get("trust_band") or ""
        work_type = (params.get("type") or "").strip()
        year_from = _int(params.get("year_from"), low=MIN_YEAR, high=MAX_YEAR)
        year_to = _int(params.get("year_to"), low=MIN_YEAR, high=MAX_YEAR)
        if year_from and year_to and year_from > year_to:
            year_from, year_to = year_to, year_from
        return cls(
            institution=_int(params.get("institution"), low=1, high=2**62),
            topic=_int(params.get("topic"), low=1, high=2**62),
            country=country if re.fullmatch(r"[A-Z]{2}", country) else "",
            claimed=_flag(params.get("claimed")),
            verification=_int(
                params.get("verification"), low=0, high=max(VerificationLevel.values)
            ),
            trust_band=band if band in TrustBand.values else "",
            has_orcid=_flag(params.get("has_orcid")),
            work_type=work_type if re.fullmatch(r"[a-z][a-z-]{0,40}", work_type) else "",
            year_from=year_from,
            year_to=year_to,
        )

    @property
    def researcher_filters(self) -> bool:
        return any(
            (
                self.institution,
                self.topic,
                self.country,
                self.claimed,
                self.verification is not None,
                self.trust_band,
                self.has_orcid,
            )
        )

    @property
    def work_filters(self) -> bool:
        return bool(self.work_type or self.year_from or self.year_to)

    def as_params(self) -> dict[str, str]:
        names = {"work_type": "type"}
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value == "" or value is False:
                continue
            out[names.get(f.name, f.name)] = "1" if value is True else str(value)
        return out


@dataclass(frozen=True)
class SearchInput:
    """A whole search request: the query, the filters, which kind to page and the page."""

    query: str
    filters: Filters
    kind: str = ""  # "", "researchers", "works", "topics", "institutions"
    page: int = 1
    sort: str = ""

    KINDS = ("researchers", "works", "topics", "institutions")

    @classmethod
    def from_get(cls, params: QueryDict, *, sorts: tuple[str, ...] = ()) -> SearchInput:
        kind = params.get("kind") or ""
        sort = params.get("sort") or ""
        return cls(
            query=clean_query(params.get("q")),
            filters=Filters.from_get(params),
            kind=kind if kind in cls.KINDS else "",
            page=_int(params.get("page"), low=1, high=10_000) or 1,
            sort=sort if sort in sorts else (sorts[0] if sorts else ""),
        )

    @property
    def terms(self) -> list[str]:
        return query_terms(self.query)

    def url_params(self, **changes: object) -> str:
        """The query string of this search with some parameters changed (None drops one);
        the page goes back to 1 unless given."""
        params: dict[str, str] = {}
        if self.query:
            params["q"] = self.query
        params.update(self.filters.as_params())
        if self.kind:
            params["kind"] = self.kind
        if self.sort:
            params["sort"] = self.sort
        for key, value in changes.items():
            if value is None or value == "" or value is False:
                params.pop(key, None)
            else:
                params[key] = "1" if value is True else str(value)
        return urlencode(params)
