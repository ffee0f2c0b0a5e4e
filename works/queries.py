"""Reads for the public work, topic and institution pages.

Every function here runs a fixed number of SQL queries whatever the size of the
record (a 3,000-author paper, a topic with 100,000 researchers): lists are capped
and related rows are fetched with select_related/prefetch_related.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, F, OuterRef, Prefetch, QuerySet, prefetch_related_objects
from django.http import Http404

from bzpeer.pagecache.loading import load_with_version
from bzpeer.pagecache.models import ContentVersion
from works.citation import Author, CitationRecord
from works.models import Authorship, Institution, Topic, Work

WORK_AUTHORS_SHOWN = 50
WORK_NAMES_READ = WORK_AUTHORS_SHOWN  # author names in the work page JSON-LD
WORK_INSTITUTIONS_SHOWN = 50
TOPIC_WORKS_SHOWN = 20


def public_works() -> QuerySet[Work]:
    """Works a curator has not hidden: the only ones any public page may show."""
    return Work.objects.filter(is_hidden=False)


def get_work_for_page(pk: int) -> Work:
    """A visible work with its venue and page version: one plain statement (a cache hit
    runs nothing else); the lists the page shows come from load_work_lists()."""
    work = load_with_version(
        Work, pk, kind=ContentVersion.Kind.WORK, related=("venue",), where=" AND NOT r.is_hidden"
    )
    if work is None:
        raise Http404("No such work")
    return work


def merged_work_survivor(pk: int) -> Work | None:
    """The public work a merged work's URL leads to (None: not merged, no such work, or a
    survivor hidden since). Merges collapse chains, so one hop is enough."""
    return public_works().filter(merged_works__pk=pk).first()


def author_pages(work: Work, *, per_page: int = WORK_AUTHORS_SHOWN) -> int:
    """The number of author pages, from Work.authors_count (no COUNT over authorships)."""
    return max(1, -(-work.authors_count // per_page))


def load_work_lists(work: Work, *, authors_page: int = 1) -> None:
    """Topics, one page of authors (in author order) with their institutions, and the
    first authors' names for structured data (first_author_names).

    Author pages are ranges of positions in the record's author list (50 per page), so a
    hyper-authored work loads only the authors the page shows and no COUNT is needed: the
    number of pages comes from Work.authors_count.
    """
    start = (max(authors_page, 1) - 1) * WORK_AUTHORS_SHOWN
    shown_authorships = (
        Authorship.objects.filter(order__gte=start, order__lt=start + WORK_AUTHORS_SHOWN)
        .select_related("researcher")
        .prefetch_related("institutions")
        .order_by("order", "pk")
    )
    prefetch_related_objects(
        [work],
        Prefetch("topics", queryset=Topic.objects.order_by("display_name")),
        Prefetch("authorships", queryset=shown_authorships, to_attr="shown_authorships"),
    )
    names = Authorship.objects.filter(work=work).order_by("order", "pk")
    work.first_author_names = list(  # type: ignore[attr-defined]
        names.values_list("researcher__display_name", flat=True)[:WORK_NAMES_READ]
    )


def is_author(work: Work, researcher_id: int) -> bool:
    return Authorship.objects.filter(work=work, researcher_id=researcher_id).exists()


def authorship_of(work: Work, researcher_id: int) -> Authorship | None:
    """One researcher's place on a work (with institutions): two queries at most."""
    return (
        Authorship.objects.filter(work=work, researcher_id=researcher_id)
        .select_related("researcher")
        .prefetch_related("institutions")
        .first()
    )


@dataclass(frozen=True)
class InstitutionList:
    institutions: Sequence[Institution]
    has_more: bool


def work_institutions(work: Work, *, limit: int = WORK_INSTITUTIONS_SHOWN) -> InstitutionList:
    """Institutions of all the work's authors, those with most authors first.

    Read over every authorship (not only the authors shown) so a large
    collaboration lists its main institutions; one row past the cap says whether
    there are more without a COUNT.
    """
    rows = list(
        Institution.objects.filter(authorships__work=work)
        # Filtering before annotating counts only this work's authorships.
        .annotate(authors_here=Count("authorships"))
        .order_by("-authors_here", "display_name", "pk")[: limit + 1]
    )
    return InstitutionList(institutions=rows[:limit], has_more=len(rows) > limit)


def topic_for_page() -> QuerySet[Topic]:
    return Topic.objects.all()


def topic_recent_works(topic: Topic, *, limit: int = TOPIC_WORKS_SHOWN) -> list[Work]:
    return list(
        public_works()
        .filter(topics=topic)
        .select_related("venue")
        # Undated works go last, not first (Postgres sorts NULL first in DESC).
        .order_by(F("publication_year").desc(nulls_last=True), "title", "pk")[:limit]
    )


def institution_for_page() -> QuerySet[Institution]:
    return Institution.objects.all()


# --- citations ----------------------------------------------------------------------------


def _record(row: dict, authors: list[str]) -> CitationRecord:
    return CitationRecord(
        pk=row["pk"],
        source_id=row["source_id"],
        title=row["title"],
        type=row["type"],
        authors=[Author(name) for name in authors if name],
        year=row["publication_year"],
        date=row["publication_date"],
        venue=row["venue__display_name"] or "",
        venue_type=row["venue__type"] or "",
        doi=row["doi"] or "",
        arxiv_id=row["arxiv_id"],
        url=row["landing_page_url"],
        abstract=row["abstract"],
    )


_RECORD_FIELDS = (
    "pk",
    "source_id",
    "title",
    "type",
    "publication_year",
    "publication_date",
    "venue__display_name",
    "venue__type",
    "doi",
    "arxiv_id",
    "landing_page_url",
    "abstract",
)


def _author_names(limit: int | None = None) -> ArraySubquery:
    """Every author's name (or the first `limit`) in author order, gathered inside the
    works query."""
    names = (
        Authorship.objects.filter(work=OuterRef("pk"))
        .order_by("order", "pk")
        .values("researcher__display_name")
    )
    return ArraySubquery(names[:limit] if limit else names)


def citation_record(work: Work, *, authors: int | None = None) -> CitationRecord:
    """The work as a citation, with all its authors (or the first `authors`) in order:
    one query."""
    row = (
        public_works()
        .filter(pk=work.pk)
        .annotate(author_names=_author_names(authors))
        .values(*_RECORD_FIELDS, "author_names")
        .get()
    )
    return _record(row, row["author_names"])


def citation_records(works: QuerySet[Work], *, chunk_size: int = 500) -> Iterator[CitationRecord]:
    """Stream works as citations through one server-side cursor (one query, whatever the
    number of works: the authors are gathered by a subquery, never loaded per work)."""
    rows = works.annotate(author_names=_author_names()).values(*_RECORD_FIELDS, "author_names")
    for row in rows.iterator(chunk_size=chunk_size):
        yield _record(row, row["author_names"])
