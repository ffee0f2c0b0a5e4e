"""The one rule for "works listed on a profile", with an ORM face and a SQL face.

A work is listed on a researcher's profile when
1. the researcher has an authorship on it,
2. no curator hid the work (`Work.is_hidden`; a work merged into another is hidden too),
   and
3. the record's owner has not reported it "not me" with a report that is still open
   (pending: off the profile while a curator looks; accepted: the curator agreed, and the
   report keeps the work off even if a re-import brings the authorship back).

The same rule drives the profile's work list and counts, the trust inputs, the co-author
edges and the graph slice, so each reads it from here: the ORM face (`not_me_reported`,
`listed_works`) for querysets, the SQL face (`not_reported_sql`, `listed_sql`) for the raw
SQL that builds counts and edges. The statuses come from `NotMeReport.Status`, never
literals.

Why here, in claims: the rule needs the "not me" reports, which belong to claims. Claims
sits on profiles (a claim is on a researcher record), and profiles never imports claims, so
the reads and writes that need the rule (counts, trust: bzpeer.curation.derived; edges and
slices: graph) live above claims and import it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery

from bzpeer.utils import parse_id
from claims.models import NotMeReport
from profiles.models import Researcher, ResearcherTopic
from profiles.queries import YearCount
from works.models import Authorship, Work

# A report in one of these statuses keeps the work off the profile.
OPEN_STATUSES = (NotMeReport.Status.PENDING, NotMeReport.Status.ACCEPTED)


# --- ORM face --------------------------------------------------------------------------------


def not_me_reported(researcher_id: int | OuterRef, work=None) -> Exists:
    """EXISTS an open not-me report for this researcher and work.

    `work` defaults to OuterRef("pk"): use it inside a Work queryset as a NOT EXISTS filter,
    so hiding reported works costs no extra query per row."""
    return Exists(
        NotMeReport.objects.filter(
            researcher_id=researcher_id,
            work=work if work is not None else OuterRef("pk"),
            status__in=OPEN_STATUSES,
        )
    )


def listed_works(researcher_id: int) -> QuerySet[Work]:
    """The works listed on this researcher's profile (one query, the report check a NOT
    EXISTS inside it)."""
    return Work.objects.filter(authorships__researcher_id=researcher_id, is_hidden=False).filter(
        ~not_me_reported(researcher_id)
    )


def researcher_works(researcher: Researcher, *, role: str = "") -> QuerySet[Work]:
    """The works listed on the profile; `role` ("first" or "last") keeps those where the
    researcher holds that author position (in the same join as the listing rule)."""
    if role not in ROLES:
        return listed_works(researcher.pk)
    return Work.objects.filter(
        authorships__researcher_id=researcher.pk,
        authorships__author_position=role,
        is_hidden=False,
    ).filter(~not_me_reported(researcher.pk))


# --- the profile's work list and chart -------------------------------------------------------

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
            value = parse_id((query.get(key) or "").strip())
            return value if value is not None and 0 < value < 10000 else None

        topic = (query.get("topic") or "").strip()
        role = query.get("role") or ""
        return cls(
            type=(query.get("type") or "").strip()[:64],
            year_from=year("from"),
            year_to=year("to"),
            topic=topic_id
            if (topic_id := parse_id(topic)) is not None and topic_id < 2**31
            else None,
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
    with_authors: bool = False,
) -> Page:
    """One page of works with their venue (two queries: count and page); `with_authors`
    adds their first authors and the researcher's own place in the author list (one more)."""
    filters = filters or WorkFilters()
    ordering = WORK_SORTS.get(sort, WORK_SORTS[DEFAULT_WORK_SORT])
    works = filters.apply(researcher_works(researcher, role=filters.role)).select_related("venue")
    if with_authors:
        own = Authorship.objects.filter(work=OuterRef("pk"), researcher=researcher)
        first_authors = Authorship.objects.select_related("researcher").order_by("order", "pk")
        works = works.annotate(own_order=Subquery(own.values("order")[:1])).prefetch_related(
            Prefetch(
                "authorships",
                queryset=first_authors[:WORK_LIST_AUTHORS],
                to_attr="first_authorships",
            )
        )
    return Paginator(works.order_by(*ordering), WORKS_PER_PAGE).get_page(page_number)


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


def works_per_year(researcher: Researcher) -> list[YearCount]:
    rows = (
        researcher_works(researcher)
        .exclude(publication_year=None)
        .values_list("publication_year")
        .annotate(n=Count("id"))
        .order_by("publication_year")
    )
    return [YearCount(year=year, count=n) for year, n in rows]


# --- SQL face --------------------------------------------------------------------------------


def not_reported_sql(alias: str) -> str:
    """SQL: the authorship `alias` is not reported "not me" by its researcher (open report).
    `alias` names a row with researcher_id and work_id columns."""
    statuses = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
    return (
        f"NOT EXISTS (SELECT 1 FROM {NotMeReport._meta.db_table} nm "
        f"WHERE nm.researcher_id = {alias}.researcher_id AND nm.work_id = {alias}.work_id "
        f"AND nm.status IN ({statuses}))"
    )


def listed_sql(authorship: str, work: str) -> str:
    """SQL: the authorship `authorship` on the work `work` is listed on the profile."""
    return f"NOT {work}.is_hidden AND {not_reported_sql(authorship)}"
