"""The one rule for "works listed on a profile", with an ORM face and a SQL face.

A work is listed on a researcher's profile when
1. the researcher has an authorship on it,
2. no curator hid the work (`Work.is_hidden`), and
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

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, QuerySet

from claims.models import NotMeReport
from profiles.models import Researcher
from profiles.queries import YearCount
from works.models import Work

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


def researcher_works(researcher: Researcher) -> QuerySet[Work]:
    return listed_works(researcher.pk)


# --- the profile's work list and chart -------------------------------------------------------

WORKS_PER_PAGE = 10
WORK_SORTS = {
    "newest": ("-publication_year", "-publication_date", "-id"),
    "oldest": ("publication_year", "publication_date", "id"),
    "cited": ("-cited_by_count", "-publication_year", "-id"),
}
DEFAULT_WORK_SORT = "newest"


def works_page(researcher: Researcher, *, sort: str, page_number: str | int | None) -> Page:
    """One page of works with their venue (two queries: count and page)."""
    ordering = WORK_SORTS.get(sort, WORK_SORTS[DEFAULT_WORK_SORT])
    works = researcher_works(researcher).select_related("venue").order_by(*ordering)
    return Paginator(works, WORKS_PER_PAGE).get_page(page_number)


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
