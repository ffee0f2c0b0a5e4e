"""Reads for the profile page and its fragments: each a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from bzpeer.types import AnyUser
from claims.queries import not_me_reported
from profiles.models import Follow, Researcher, ResearcherTopic, merge_survivor_ids
from works.models import Authorship, Work

WORKS_PER_PAGE = 10
WORK_SORTS: dict[str, tuple[Any, ...]] = {
    "newest": ("-publication_year", "-publication_date", "-id"),
    "oldest": ("publication_year", "publication_date", "id"),
    # Works without a citation count sort after those with one (even with zero).
    "cited": (F("cited_by_count").desc(nulls_last=True), "-publication_year", "-id"),
}
DEFAULT_WORK_SORT = "newest"
# First authors shown on each item of a profile's works list.
WORK_LIST_AUTHORS = 3
TOPIC_FILTERS_SHOWN = 20


def get_researcher(pk: int | str) -> Researcher:
    """The record behind a profile URL (merged or not): one query."""
    return get_object_or_404(
        Researcher.objects.select_related("last_known_institution", "merged_into"), pk=pk
    )


def follow_merge_chain(researcher: Researcher | int) -> Researcher:
    """The record at the end of `merged_into` (the record itself when it is not merged).

    No query for a record that is not merged, nor for one merged once into the survivor
    loaded with it (get_researcher selects `merged_into`); otherwise one query for the chain
    (merge_survivor_ids, the one rule and cap) and one for the survivor. An id that names
    no record raises Researcher.DoesNotExist."""
    if isinstance(researcher, Researcher):
        if researcher.merged_into_id is None:
            return researcher
        if Researcher.merged_into.is_cached(researcher):
            hop = researcher.merged_into
            if hop is not None and hop.merged_into_id is None:
                return hop
        pk = researcher.pk
    else:
        pk = researcher
    return Researcher.objects.select_related("last_known_institution", "merged_into").get(
        pk=merge_survivor_ids([pk])[pk]
    )


def top_topics(researcher: Researcher, limit: int = 3) -> list[ResearcherTopic]:
    """A researcher's topics, those on most of their works first (the header names the
    first three; the works list's topic filter offers more)."""
    return list(
        ResearcherTopic.objects.filter(researcher=researcher)
        .select_related("topic")
        .order_by("-works_count", "topic__display_name")[:limit]
    )


def researcher_works(researcher: Researcher, *, role: str = "") -> QuerySet[Work]:
    """The works on a profile: not hidden by a curator, and not reported "not me" by the
    owner (pending or accepted). The report check is a NOT EXISTS in the same query.
    `role` ("first" or "last") keeps the works where the researcher holds that position."""
    mine: dict[str, object] = {"authorships__researcher": researcher}
    if role in ROLES:
        mine["authorships__author_position"] = role
    return Work.objects.filter(**mine, is_hidden=False).filter(~not_me_reported(researcher.pk))


ROLES = {"first": "First author", "last": "Last author"}


@dataclass(frozen=True)
class WorkFilters:
    """The works list's filters, read from the query string (unknown values are ignored)."""

    type: str = ""
    year_from: int | None = None
    year_to: int | None = None
    topic: int | None = None
    role: str = ""

    @classmethod
    def from_query(cls, query) -> WorkFilters:
        def year(key: str) -> int | None:
            value = (query.get(key) or "").strip()
            return int(value) if value.isdigit() and 0 < int(value) < 10000 else None

        topic = (query.get("topic") or "").strip()
        role = query.get("role") or ""
        return cls(
            type=(query.get("type") or "").strip()[:64],
            year_from=year("from"),
            year_to=year("to"),
            topic=int(topic) if topic.isdigit() and int(topic) < 2**31 else None,
            role=role if role in ROLES else "",
        )

    def params(self) -> dict[str, str]:
        """The filters as query parameters (only those set), for links that keep them."""
        values = {
            "type": self.type,
            "from": self.year_from,
            "to": self.year_to,
            "topic": self.topic,
            "role": self.role,
        }
        return {key: str(value) for key, value in values.items() if value not in ("", None)}

    def __bool__(self) -> bool:
        return bool(self.params())

    def apply(self, works: QuerySet[Work]) -> QuerySet[Work]:
        if self.type:
            works = works.filter(type=self.type)
        if self.year_from:
            works = works.filter(publication_year__gte=self.year_from)
        if self.year_to:
            works = works.filter(publication_year__lte=self.year_to)
        if self.topic:
            works = works.filter(topics=self.topic)
        return works


def works_page(
    researcher: Researcher,
    *,
    sort: str,
    page_number: str | int | None,
    filters: WorkFilters | None = None,
) -> Page:
    """One page of works with their venue, first authors and the researcher's own place in
    the author list (three queries: count, page, first authors)."""
    filters = filters or WorkFilters()
    ordering = WORK_SORTS.get(sort, WORK_SORTS[DEFAULT_WORK_SORT])
    own = Authorship.objects.filter(work=OuterRef("pk"), researcher=researcher)
    first_authors = Authorship.objects.select_related("researcher").order_by("order", "pk")
    works = (
        filters.apply(researcher_works(researcher, role=filters.role))
        .select_related("venue")
        .annotate(own_order=Subquery(own.values("order")[:1]))
        .prefetch_related(
            Prefetch(
                "authorships",
                queryset=first_authors[:WORK_LIST_AUTHORS],
                to_attr="first_authorships",
            )
        )
        .order_by(*ordering)
    )
    return Paginator(works, WORKS_PER_PAGE).get_page(page_number)


@dataclass(frozen=True)
class FacetCount:
    value: str
    label: str
    count: int


@dataclass(frozen=True)
class WorkFacets:
    """What the works list can be filtered by, each with its number of listed works."""

    types: list[FacetCount]
    topics: list[FacetCount]
    roles: list[FacetCount]
    first_year: int | None
    last_year: int | None


def work_facets(researcher: Researcher, topics: list[ResearcherTopic]) -> WorkFacets:
    """One query over the researcher's listed authorships, grouped by work type (one row
    per type with its role counts and years); topics come from the stored per-topic
    counts the page reads anyway."""
    rows = list(
        Authorship.objects.filter(researcher=researcher, work__is_hidden=False)
        .exclude(not_me_reported(OuterRef("researcher_id"), OuterRef("work_id")))
        .values("work__type")
        .annotate(
            n=Count("id"),
            first=Count("id", filter=Q(author_position="first")),
            last=Count("id", filter=Q(author_position="last")),
            first_year=Min("work__publication_year"),
            last_year=Max("work__publication_year"),
        )
        .order_by("-n", "work__type")
    )
    years = [row["first_year"] for row in rows if row["first_year"]]
    last_years = [row["last_year"] for row in rows if row["last_year"]]
    return WorkFacets(
        types=[
            FacetCount(row["work__type"], row["work__type"], row["n"])
            for row in rows
            if row["work__type"]
        ],
        topics=[
            FacetCount(str(row.topic_id), row.topic.display_name, row.works_count) for row in topics
        ],
        roles=[
            FacetCount("first", ROLES["first"], sum(row["first"] for row in rows)),
            FacetCount("last", ROLES["last"], sum(row["last"] for row in rows)),
        ],
        first_year=min(years, default=None),
        last_year=max(last_years, default=None),
    )


@dataclass(frozen=True)
class YearCount:
    year: int
    count: int


def works_per_year(researcher: Researcher) -> list[YearCount]:
    rows = (
        researcher_works(researcher)
        .exclude(publication_year=None)
        .values_list("publication_year")
        .annotate(n=Count("id"))
        .order_by("publication_year")
    )
    return [YearCount(year=year, count=n) for year, n in rows]


def is_following(user: AnyUser, researcher: Researcher) -> bool:
    if not user.is_authenticated:
        return False
    return Follow.objects.filter(user=user, researcher=researcher).exists()


def follow_state(user, researcher: Researcher) -> tuple[bool, bool]:
    """(following, digest on) for the follow control: one query, none when anonymous."""
    if not user.is_authenticated:
        return False, False
    row = Follow.objects.filter(user=user, researcher=researcher).values_list("email_digest")
    found = row.first()
    return found is not None, bool(found and found[0])


def featured_researchers(limit: int = 12) -> list[Researcher]:
    """Full (non-stub) records with the most works, for the home page."""
    return list(
        Researcher.objects.filter(is_stub=False, merged_into__isnull=True)
        .select_related("last_known_institution")
        .order_by("-works_count", "display_name")[:limit]
    )


def get_researcher_by_source(source_id: str) -> Researcher:
    """The record a source id names, following merges to the survivor; 404 when none."""
    source_id = source_id.strip()
    candidates = [source_id]
    if source_id[:1].upper() == "A" and source_id[1:].isdigit():
        candidates.append(f"https://openalex.org/{source_id.upper()}")
    elif source_id.startswith("openalex.org/"):
        candidates.append(f"https://{source_id}")
    return follow_merge_chain(get_object_or_404(Researcher, source_id__in=candidates))


# --- corrections (the audit trail's public side) -----------------------------------------

MAX_CORRECTIONS = 20


@dataclass(frozen=True)
class Correction:
    """What curators changed on a profile and when; never who (bzpeer/audit/context.py)."""

    when: datetime
    notes: list[str]


def corrections(researcher: Researcher, limit: int = MAX_CORRECTIONS) -> list[Correction]:
    """The audit contexts of curation changes (merges, splits, hidden works, edits) that
    name this record, newest first: one query on an indexed JSON path. A context row
    exists only once a change wrote an audit event in it."""
    from pghistory.models import Context

    rows = (
        Context.objects.filter(metadata__researchers__contains=[researcher.pk])
        .filter(metadata__has_key="curation")
        .order_by("-created_at")
        .values_list("created_at", "metadata")[:limit]
    )
    return [
        Correction(when=when, notes=list(metadata.get("notes") or ["Corrected by a curator."]))
        for when, metadata in rows
    ]
