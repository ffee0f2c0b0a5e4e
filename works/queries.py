"""Reads for the public work, topic and institution pages.

Every function here runs a fixed number of SQL queries whatever the size of the
record (a 3,000-author paper, a topic with 100,000 researchers): lists are capped
and related rows are fetched with select_related/prefetch_related.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Prefetch, QuerySet, prefetch_related_objects
from django.db.models.expressions import RawSQL
from django.http import Http404

from bzpeer.pagecache.loading import load_with_version
from bzpeer.pagecache.models import ContentVersion
from bzpeer.pagecache.responses import version_annotations
from profiles.models import Researcher, ResearcherTopic
from works.models import Authorship, Institution, Topic, Work

WORK_AUTHORS_SHOWN = 50
WORK_INSTITUTIONS_SHOWN = 50
TOPIC_RESEARCHERS_SHOWN = 50
TOPIC_WORKS_SHOWN = 20
INSTITUTION_RESEARCHERS_PER_PAGE = 50


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


# The version of a topic or institution page: a digest of exactly the rows it lists and
# their page versions, read by the same query as the record (these pages are lists of
# other records, so they have no version row of their own).
TOPIC_PAGE_DIGEST = """
SELECT md5(concat_ws('|', t::text,
  (SELECT string_agg(x.rt || '.' || x.v, ',') FROM (
     SELECT rt::text AS rt, coalesce(v.version, 0) AS v
     FROM profiles_researchertopic rt
     JOIN profiles_researcher r ON r.id = rt.researcher_id AND r.merged_into_id IS NULL
     LEFT JOIN pagecache_contentversion v ON v.kind = 'R' AND v.object_id = r.id
     WHERE rt.topic_id = t.id
     ORDER BY rt.works_count DESC, r.display_name, r.id LIMIT %s) x),
  (SELECT string_agg(y.id || '.' || y.v, ',') FROM (
     SELECT w.id, coalesce(v.version, 0) AS v
     FROM works_work w JOIN works_work_topics wt ON wt.work_id = w.id
     LEFT JOIN pagecache_contentversion v ON v.kind = 'W' AND v.object_id = w.id
     WHERE wt.topic_id = t.id AND NOT w.is_hidden
     ORDER BY w.publication_year DESC NULLS LAST, w.title, w.id LIMIT %s) y)))
FROM works_topic t WHERE t.id = works_topic.id
"""

# The paginator shows the last page for a number past it: the digest clamps the same way.
INSTITUTION_PAGE_DIGEST = """
SELECT md5(concat_ws('|', i::text, c.n,
  (SELECT string_agg(x.id || '.' || x.v, ',') FROM (
     SELECT r.id, coalesce(v.version, 0) AS v
     FROM profiles_researcher r
     LEFT JOIN pagecache_contentversion v ON v.kind = 'R' AND v.object_id = r.id
     WHERE r.last_known_institution_id = i.id AND r.merged_into_id IS NULL
     ORDER BY r.works_count DESC, r.display_name, r.id
     LIMIT %s OFFSET least(%s, greatest((c.n - 1) / %s, 0) * %s)) x)))
FROM works_institution i,
  LATERAL (SELECT count(*) AS n FROM profiles_researcher r
           WHERE r.last_known_institution_id = i.id AND r.merged_into_id IS NULL) c
WHERE i.id = works_institution.id
"""


def topic_for_page() -> QuerySet[Topic]:
    return Topic.objects.annotate(
        page_digest=RawSQL(TOPIC_PAGE_DIGEST, (TOPIC_RESEARCHERS_SHOWN, TOPIC_WORKS_SHOWN)),
        page_epoch=version_annotations(ContentVersion.Kind.RESEARCHER)["page_epoch"],
    )


def topic_researchers(
    topic: Topic, *, limit: int = TOPIC_RESEARCHERS_SHOWN
) -> list[ResearcherTopic]:
    """Researchers of a topic ranked by how many of their works carry it.

    Merged duplicates are left out: their works count under the survivor.
    """
    return list(
        ResearcherTopic.objects.filter(topic=topic, researcher__merged_into__isnull=True)
        .select_related("researcher", "researcher__last_known_institution")
        .order_by("-works_count", "researcher__display_name", "researcher_id")[:limit]
    )


def topic_recent_works(topic: Topic, *, limit: int = TOPIC_WORKS_SHOWN) -> list[Work]:
    return list(
        public_works()
        .filter(topics=topic)
        .select_related("venue")
        # Undated works go last, not first (Postgres sorts NULL first in DESC).
        .order_by(F("publication_year").desc(nulls_last=True), "title", "pk")[:limit]
    )


def institution_for_page(*, page_number: int = 1) -> QuerySet[Institution]:
    per_page = INSTITUTION_RESEARCHERS_PER_PAGE
    offset = (page_number - 1) * per_page
    return Institution.objects.annotate(
        page_digest=RawSQL(INSTITUTION_PAGE_DIGEST, (per_page, offset, per_page, per_page)),
        page_epoch=version_annotations(ContentVersion.Kind.RESEARCHER)["page_epoch"],
    )


def institution_researchers(
    institution: Institution,
    *,
    page_number: str | int | None,
    per_page: int = INSTITUTION_RESEARCHERS_PER_PAGE,
) -> Page:
    """One page of the researchers last seen at an institution, most works first.

    Two queries: the paginator's COUNT and the page itself. An invalid or
    out-of-range page number falls back to the first or last page.
    """
    researchers = Researcher.objects.filter(
        last_known_institution=institution, merged_into__isnull=True
    ).order_by("-works_count", "display_name", "pk")
    return Paginator(researchers, per_page).get_page(page_number)
