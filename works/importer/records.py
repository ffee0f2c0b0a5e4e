"""Turn one decoded OpenAlex JSON value into typed rows, or say why it is a bad record.

Both schemas are read: the current one (primary_location.source, topics,
last_known_institutions) and the older snapshot one (host_venue, concepts,
last_known_institution, abstracts wrapped as {"IndexLength", "InvertedIndex"}).
Any field we read must have the expected JSON type or be null; otherwise the whole record is
reported as bad rather than half-imported.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import models

from profiles.models import Researcher
from works.importer.normalize import (
    OPENALEX,
    EntityId,
    arxiv_from_doi,
    arxiv_from_id,
    arxiv_from_url,
    is_placeholder_author,
    normalize_doi,
    normalize_orcid,
    normalize_ror,
    parse_entity_id,
    plain_text,
    rebuild_abstract,
)
from works.models import Authorship, Institution, Source, Topic, Work


class BadRecord(ValueError):
    """The record cannot be imported; the message says which field and why."""


def _max_length(model: type[models.Model], name: str) -> int:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.max_length is not None
    return field.max_length


NAME_MAX = _max_length(Researcher, "display_name")
RAW_NAME_MAX = _max_length(Authorship, "raw_author_name")
TYPE_MAX = _max_length(Work, "type")
ISSN_MAX = _max_length(Source, "issn_l")
COUNTRY_MAX = _max_length(Institution, "country_code")
FIELD_NAME_MAX = _max_length(Topic, "field_name")
HOMEPAGE_MAX = _max_length(Institution, "homepage_url")
LANDING_MAX = _max_length(Work, "landing_page_url")
REF_MAX = 255
_WORK_URL = f"{OPENALEX}W"
_WORK_KEY = len(_WORK_URL)
SMALLINT_MAX = 32767
INT_MAX = 2_147_483_647


# --- rows ---------------------------------------------------------------------------------


@dataclass(slots=True)
class InstitutionRow:
    source_id: str
    display_name: str
    ror: str = ""
    country_code: str = ""
    type: str = ""
    homepage_url: str = ""


@dataclass(slots=True)
class SourceRow:
    source_id: str
    display_name: str
    type: str = ""
    issn_l: str = ""
    homepage_url: str = ""


@dataclass(slots=True)
class TopicRow:
    source_id: str
    display_name: str
    kind: str = Topic.Kind.TOPIC
    field_name: str = ""


@dataclass(slots=True)
class AuthorRef:
    """A co-author as a work record names them (dehydrated)."""

    source_id: str
    display_name: str
    orcid: str | None


@dataclass(slots=True)
class AuthorRow:
    source_id: str
    display_name: str
    alternative_names: list[str]
    orcid: str | None
    last_known_institution: InstitutionRow | None
    # The source's own figures; None when the record does not carry them (absent is not zero).
    cited_by_count: int | None = None
    counts_by_year: list[dict[str, int]] | None = None
    summary_stats: dict[str, int | float] | None = None
    updated_date: datetime | None = None


@dataclass(slots=True)
class AuthorshipRow:
    author: AuthorRef
    author_position: str
    order: int
    raw_author_name: str
    institutions: list[InstitutionRow]


@dataclass(slots=True)
class WorkRow:
    source_id: str
    doi: str | None
    arxiv_id: str
    title: str
    abstract: str
    type: str
    publication_year: int | None
    publication_date: date | None
    venue: SourceRow | None
    landing_page_url: str
    cited_by_count: int | None
    referenced_works: list[str]
    authors_count: int
    team_size: int
    counts_by_year: list[dict[str, int]] | None = None
    topics: list[TopicRow] = field(default_factory=list)
    authorships: list[AuthorshipRow] = field(default_factory=list)
    updated_date: datetime | None = None


@dataclass(slots=True)
class SkippedRecord:
    entity: str


Row = InstitutionRow | SourceRow | TopicRow | AuthorRow | WorkRow


# --- typed access ---------------------------------------------------------------------------

_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "an object"}


def _get(obj: dict[str, Any], key: str, kind: type, where: str) -> Any:
    """obj[key] when it has JSON type `kind`, None when missing or null."""
    value = obj.get(key)
    if value is None:
        return None
    # bool is an int in Python, never in JSON.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRecord(f"{where}{key} must be {_TYPE_NAMES[kind]} or null")
    return value


def _text(value: str | None, max_length: int) -> str:
    return (value or "").replace("\x00", "").strip()[:max_length]


def _url(value: str | None, max_length: int) -> str:
    # A clipped URL points nowhere; drop it instead.
    value = (value or "").strip()
    return value if value.startswith(("http://", "https://")) and len(value) <= max_length else ""


def _entity_id(value: Any, where: str, expected: set[str]) -> EntityId:
    if not isinstance(value, str):
        raise BadRecord(f"{where}id must be a string")
    parsed = parse_entity_id(value)
    if parsed is None or parsed.entity not in expected:
        raise BadRecord(f"{where}id {value!r} is not an id of a {'/'.join(sorted(expected))}")
    return parsed


def _fallback_name(source_id: str) -> str:
    return source_id.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def _display_name(obj: dict[str, Any], where: str, source_id: str) -> str:
    name = _text(_get(obj, "display_name", str, where), NAME_MAX)
    return name or _fallback_name(source_id)


# --- entry point ------------------------------------------------------------------------


def parse_record(value: Any) -> Row | SkippedRecord:
    """One decoded JSON value -> a row to write, a skipped entity, or BadRecord."""
    if not isinstance(value, dict):
        raise BadRecord(f"expected a JSON object, got {type(value).__name__}")
    raw_id = value.get("id")
    if (raw_id is None or raw_id == "") and "results" in value:
        kind = type(value["results"]).__name__ if value["results"] is not None else "null"
        raise BadRecord(f"an API page whose `results` is not a list (got {kind})")
    if raw_id is None or raw_id == "":
        raise BadRecord("missing id")
    if not isinstance(raw_id, str):
        raise BadRecord("id must be a string")
    entity_id = parse_entity_id(raw_id)
    if entity_id is None:
        raise BadRecord(f"unknown entity for id {raw_id!r}")
    if not entity_id.stored:
        return SkippedRecord(entity_id.entity)
    parser = _PARSERS[entity_id.entity]
    return parser(value, entity_id.source_id)


def _parse_institution(obj: dict[str, Any], source_id: str, where: str = "") -> InstitutionRow:
    return InstitutionRow(
        source_id=source_id,
        display_name=_display_name(obj, where, source_id),
        ror=normalize_ror(_get(obj, "ror", str, where)),
        country_code=_text(_get(obj, "country_code", str, where), COUNTRY_MAX).upper(),
        type=_text(_get(obj, "type", str, where), TYPE_MAX),
        homepage_url=_url(_get(obj, "homepage_url", str, where), HOMEPAGE_MAX),
    )


def _parse_source(obj: dict[str, Any], source_id: str, where: str = "") -> SourceRow:
    return SourceRow(
        source_id=source_id,
        display_name=_display_name(obj, where, source_id),
        type=_text(_get(obj, "type", str, where), TYPE_MAX),
        issn_l=_text(_get(obj, "issn_l", str, where), ISSN_MAX),
        homepage_url=_url(_get(obj, "homepage_url", str, where), HOMEPAGE_MAX),
    )


def _topic_field_name(obj: dict[str, Any], where: str, kind: str, name: str) -> str:
    if kind == Topic.Kind.TOPIC:
        field_obj = _get(obj, "field", dict, where)
        field_name = _get(field_obj, "display_name", str, f"{where}field.") if field_obj else None
        return _text(field_name, FIELD_NAME_MAX)
    # A concept's field is its level-0 ancestor ("Computer science"), or itself at level 0.
    if _get(obj, "level", int, where) == 0:
        return _text(name, FIELD_NAME_MAX)
    for index, ancestor in enumerate(_get(obj, "ancestors", list, where) or []):
        if isinstance(ancestor, dict) and ancestor.get("level") == 0:
            return _text(
                _get(ancestor, "display_name", str, f"{where}ancestors[{index}]."), FIELD_NAME_MAX
            )
    return ""


def _parse_topic(obj: dict[str, Any], source_id: str, where: str = "") -> TopicRow:
    entity = parse_entity_id(source_id)
    kind = Topic.Kind.CONCEPT if entity and entity.entity == "concept" else Topic.Kind.TOPIC
    name = _display_name(obj, where, source_id)
    return TopicRow(
        source_id=source_id,
        display_name=name,
        kind=kind,
        field_name=_topic_field_name(obj, where, kind, name),
    )


def _parse_author(obj: dict[str, Any], source_id: str) -> AuthorRow:
    alternatives: list[str] = []
    for index, name in enumerate(_get(obj, "display_name_alternatives", list, "") or []):
        if not isinstance(name, str):
            raise BadRecord(f"display_name_alternatives[{index}] must be a string")
        name = _text(name, NAME_MAX)
        if name and name not in alternatives:
            alternatives.append(name)
    ids = _get(obj, "ids", dict, "") or {}
    orcid_raw = _get(obj, "orcid", str, "") or _get(ids, "orcid", str, "ids.")
    return AuthorRow(
        source_id=source_id,
        display_name=_display_name(obj, "", source_id),
        alternative_names=alternatives,
        orcid=normalize_orcid(orcid_raw),
        last_known_institution=_last_known_institution(obj),
        cited_by_count=_bounded(_get(obj, "cited_by_count", int, ""), INT_MAX),
        counts_by_year=_counts_by_year(obj, ("works_count", "cited_by_count")),
        summary_stats=_summary_stats(obj),
        updated_date=_updated_date(obj),
    )


def _counts_by_year(obj: dict[str, Any], keys: tuple[str, ...]) -> list[dict[str, int]] | None:
    """[{"year": 2024, "cited_by_count": 3}, ...] sorted by year, or None when the record has
    no counts_by_year. A year's missing count stays missing rather than becoming zero."""
    items = _get(obj, "counts_by_year", list, "")
    if items is None:
        return None
    by_year: dict[int, dict[str, int]] = {}
    for index, item in enumerate(items):
        where = f"counts_by_year[{index}]."
        if not isinstance(item, dict):
            raise BadRecord(f"counts_by_year[{index}] must be an object")
        year = _bounded(_get(item, "year", int, where), SMALLINT_MAX)
        if year is None:
            raise BadRecord(f"{where}year must be a year")
        entry = {"year": year}
        for key in keys:
            value = _bounded(_get(item, key, int, where), INT_MAX)
            if value is not None:
                entry[key] = value
        by_year[year] = entry
    return [by_year[year] for year in sorted(by_year)]


SUMMARY_STATS = {"h_index": int, "i10_index": int, "2yr_mean_citedness": float}


def _summary_stats(obj: dict[str, Any]) -> dict[str, int | float] | None:
    stats = _get(obj, "summary_stats", dict, "")
    if stats is None:
        return None
    kept: dict[str, int | float] = {}
    for key, kind in SUMMARY_STATS.items():
        value = stats.get(key)
        if value is None:
            continue
        # The streaming reader yields JSON decimals as Decimal.
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise BadRecord(f"summary_stats.{key} must be a number or null")
        if kind is int and (value != int(value) or not 0 <= value <= INT_MAX):
            raise BadRecord(f"summary_stats.{key} must be a whole number")
        kept[key] = kind(value)
    return kept or None


def _last_known_institution(obj: dict[str, Any]) -> InstitutionRow | None:
    candidates = _get(obj, "last_known_institutions", list, "")
    if candidates is None:
        older = _get(obj, "last_known_institution", dict, "")  # older snapshot schema
        candidates = [older] if older else []
        key = "last_known_institution"
    else:
        key = "last_known_institutions"
    for index, item in enumerate(candidates):
        where = f"{key}[{index}]." if key.endswith("s") else f"{key}."
        institution = _institution_ref(item, where)
        if institution:
            return institution
    return None


def _institution_ref(item: Any, where: str) -> InstitutionRow | None:
    if not isinstance(item, dict):
        raise BadRecord(f"{where.rstrip('.')} must be an object")
    if item.get("id") is None:  # older records name an affiliation without an id
        return None
    entity_id = _entity_id(item["id"], where, {"institution"})
    return _parse_institution(item, entity_id.source_id, where)


def _source_ref(item: dict[str, Any], where: str) -> SourceRow | None:
    if item.get("id") is None:
        return None
    entity_id = _entity_id(item["id"], where, {"source"})
    return _parse_source(item, entity_id.source_id, where)


def _topic_refs(obj: dict[str, Any]) -> list[TopicRow]:
    # Current records carry topics (and legacy concepts beside them); older ones only concepts.
    key = "topics" if _get(obj, "topics", list, "") else "concepts"
    refs: list[TopicRow] = []
    seen: set[str] = set()
    for index, item in enumerate(_get(obj, key, list, "") or []):
        where = f"{key}[{index}]."
        if not isinstance(item, dict):
            raise BadRecord(f"{where.rstrip('.')} must be an object")
        if item.get("id") is None:
            continue
        entity_id = _entity_id(item["id"], where, {"topic", "concept"})
        if entity_id.source_id not in seen:
            seen.add(entity_id.source_id)
            refs.append(_parse_topic(item, entity_id.source_id, where))
    return refs


def _abstract(obj: dict[str, Any]) -> str:
    index = obj.get("abstract_inverted_index")
    if isinstance(index, str):  # some snapshot exports store it as a JSON string
        try:
            index = json.loads(index)
        except ValueError as exc:
            raise BadRecord("abstract_inverted_index is a string but not JSON") from exc
    if index is None:
        return ""
    if not isinstance(index, dict):
        raise BadRecord("abstract_inverted_index must be an object or null")
    if "InvertedIndex" in index:  # older snapshots: {"IndexLength": n, "InvertedIndex": {...}}
        index = index["InvertedIndex"]
        if not isinstance(index, dict):
            raise BadRecord("abstract_inverted_index.InvertedIndex must be an object")
    # `type(p) is int` also refuses booleans (a subclass of int). One pass over the types
    # first; the word at fault is looked for only when something is wrong.
    values = index.values()
    if not {*map(type, values)} <= {list} or not {
        *map(type, itertools.chain.from_iterable(values))
    } <= {int}:
        for word, positions in index.items():
            if type(positions) is not list or not all(type(p) is int for p in positions):
                raise BadRecord(f"abstract_inverted_index[{word!r}] must be a list of integers")
    text = rebuild_abstract(index)
    # Most abstracts hold no markup and no entity: the HTML cleaner has nothing to do.
    if "<" not in text and "&" not in text and "\x00" not in text:
        return " ".join(text.split())
    return plain_text(text)


def _publication_date(obj: dict[str, Any]) -> date | None:
    raw = _get(obj, "publication_date", str, "")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        return None


def _updated_date(obj: dict[str, Any]) -> datetime | None:
    """OpenAlex's updated_date ("2025-10-09T13:42:18.571041" or "2025-10-09"), in UTC;
    None when absent or unreadable (such a copy is applied as before: no ordering)."""
    raw = _get(obj, "updated_date", str, "")
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _bounded(value: int | None, upper: int) -> int | None:
    return value if value is not None and 0 <= value <= upper else None


def _arxiv(obj: dict[str, Any], ids: dict[str, Any], doi: str | None, landing: str) -> str:
    found = arxiv_from_id(_get(ids, "arxiv", str, "ids.")) or arxiv_from_doi(doi)
    found = found or arxiv_from_url(landing)
    if found:
        return found
    # A journal article often has its arXiv preprint among the other locations.
    for index, location in enumerate(_get(obj, "locations", list, "") or []):
        if isinstance(location, dict):
            where = f"locations[{index}]."
            for key in ("landing_page_url", "pdf_url"):
                found = arxiv_from_url(_get(location, key, str, where))
                if found:
                    return found
    return ""


def _authorships(obj: dict[str, Any]) -> tuple[list[AuthorshipRow], int]:
    raw = _get(obj, "authorships", list, "") or []
    rows: list[AuthorshipRow] = []
    for order, item in enumerate(raw):
        where = f"authorships[{order}]."
        if not isinstance(item, dict):
            raise BadRecord(f"authorships[{order}] must be an object")
        author = _get(item, "author", dict, where)
        if not author or author.get("id") is None:
            continue  # an affiliation string with no resolved author: nobody to link
        author_where = f"{where}author."
        author_id = _entity_id(author["id"], author_where, {"author"})
        raw_name = _text(_get(item, "raw_author_name", str, where), RAW_NAME_MAX)
        name = _text(_get(author, "display_name", str, author_where), NAME_MAX)
        institutions = []
        for index, institution in enumerate(_get(item, "institutions", list, where) or []):
            ref = _institution_ref(institution, f"{where}institutions[{index}].")
            if ref:
                institutions.append(ref)
        if is_placeholder_author(author_id.source_id):
            continue
        rows.append(
            AuthorshipRow(
                author=AuthorRef(
                    source_id=author_id.source_id,
                    display_name=name or raw_name[:NAME_MAX] or _fallback_name(author_id.source_id),
                    orcid=normalize_orcid(_get(author, "orcid", str, author_where)),
                ),
                author_position=_text(_get(item, "author_position", str, where), 16),
                order=order,
                raw_author_name=raw_name or name[:RAW_NAME_MAX],
                institutions=institutions,
            )
        )
    return rows, len(raw)


def _parse_work(obj: dict[str, Any], source_id: str) -> WorkRow:
    ids = _get(obj, "ids", dict, "") or {}
    doi = normalize_doi(_get(obj, "doi", str, "") or _get(ids, "doi", str, "ids."))
    primary = _get(obj, "primary_location", dict, "") or {}
    host_venue = _get(obj, "host_venue", dict, "") or {}  # older snapshot schema
    venue_obj = _get(primary, "source", dict, "primary_location.")
    venue = _source_ref(venue_obj, "primary_location.source.") if venue_obj else None
    if venue is None and host_venue:
        venue = _source_ref(host_venue, "host_venue.")
    landing = _get(primary, "landing_page_url", str, "primary_location.") or _get(
        host_venue, "url", str, "host_venue."
    )
    title = _get(obj, "title", str, "") if "title" in obj else _get(obj, "display_name", str, "")
    referenced: dict[str, None] = {}  # ordered and de-duplicated
    for index, ref in enumerate(_get(obj, "referenced_works", list, "") or []):
        key = ref[_WORK_KEY:] if type(ref) is str and ref.startswith(_WORK_URL) else ""
        if key.isascii() and key.isdigit():
            ref_id = ref  # already the canonical form (nearly every reference)
        else:
            ref_id = _entity_id(ref, f"referenced_works[{index}] ", {"work"}).source_id
        if len(ref_id) <= REF_MAX:
            referenced[ref_id] = None
    authorships, authors_count = _authorships(obj)
    return WorkRow(
        source_id=source_id,
        doi=doi,
        arxiv_id=_arxiv(obj, ids, doi, landing or ""),
        title=plain_text(title),
        abstract=_abstract(obj),
        type=_text(_get(obj, "type", str, ""), TYPE_MAX),
        publication_year=_bounded(_get(obj, "publication_year", int, ""), SMALLINT_MAX),
        publication_date=_publication_date(obj),
        venue=venue,
        landing_page_url=_url(landing, LANDING_MAX),
        cited_by_count=_bounded(_get(obj, "cited_by_count", int, ""), INT_MAX),
        referenced_works=list(referenced),
        authors_count=authors_count,
        team_size=len({a.author.source_id for a in authorships}),
        counts_by_year=_counts_by_year(obj, ("cited_by_count",)),
        topics=_topic_refs(obj),
        authorships=authorships,
        updated_date=_updated_date(obj),
    )


def _parse_stored_author(obj: dict[str, Any], source_id: str) -> AuthorRow | SkippedRecord:
    if is_placeholder_author(source_id):
        return SkippedRecord("placeholder author")
    return _parse_author(obj, source_id)


_PARSERS: dict[str, Callable[[dict[str, Any], str], Row | SkippedRecord]] = {
    "work": _parse_work,
    "author": _parse_stored_author,
    "institution": _parse_institution,
    "source": _parse_source,
    "topic": _parse_topic,
    "concept": _parse_topic,
}
