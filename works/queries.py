"""Reads for the public work, topic and institution pages.

Every function here runs a fixed number of SQL queries whatever the size of the
record (a 3,000-author paper, a topic with 100,000 researchers): lists are capped
and related rows are fetched with select_related/prefetch_related.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, F, Prefetch, QuerySet, prefetch_related_objects
from django.http import Http404

from bzpeer.pagecache.loading import load_with_version
from bzpeer.pagecache.models import ContentVersion
from works.models import Authorship, Institution, Topic, Work

WORK_AUTHORS_SHOWN = 50
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


def author_pages(work: Work, *, per_page: int = WORK_AUTHORS_SHOWN) -> int:
    return max(1, -(-work.authors_count // per_page))


def load_work_lists(work: Work, *, authors_page: int = 1) -> None:
    """Topics and one page of authors (in author order) with their institutions.

    The authorship prefetch is sliced, so a hyper-authored work loads only the authors
    the page shows; the page takes the total from Work.authors_count.
    """
    start = (authors_page - 1) * WORK_AUTHORS_SHOWN
    shown_authorships = (
        Authorship.objects.select_related("researcher")
        .prefetch_related("institutions")
        .order_by("order", "pk")[start : start + WORK_AUTHORS_SHOWN]
    )
    prefetch_related_objects(
        [work],
        Prefetch("topics", queryset=Topic.objects.order_by("display_name")),
        Prefetch("authorships", queryset=shown_authorships, to_attr="shown_authorships"),
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
