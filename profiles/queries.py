"""Reads for the profile page and its fragments: each a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from bzpeer.pagecache.loading import load_with_version
from bzpeer.pagecache.models import ContentVersion
from bzpeer.types import AnyUser
from claims.queries import not_me_reported
from profiles.models import Follow, Researcher, ResearcherTopic, merge_survivor_ids
from works.models import Work

WORKS_PER_PAGE = 10
WORK_SORTS = {
    "newest": ("-publication_year", "-publication_date", "-id"),
    "oldest": ("publication_year", "publication_date", "id"),
    "cited": ("-cited_by_count", "-publication_year", "-id"),
}
DEFAULT_WORK_SORT = "newest"


def get_researcher(pk: int | str) -> Researcher:
    """The record behind a profile URL (merged or not): one query."""
    return get_object_or_404(
        Researcher.objects.select_related("last_known_institution", "merged_into"), pk=pk
    )


def get_researcher_for_page(pk: int) -> Researcher:
    """The record behind a profile URL with its institution and page version: one plain
    statement (a cache hit runs nothing else; bzpeer/pagecache/loading.py)."""
    researcher = load_with_version(
        Researcher, pk, kind=ContentVersion.Kind.RESEARCHER, related=("last_known_institution",)
    )
    if researcher is None:
        raise Http404("No such researcher")
    return researcher


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
    return list(
        ResearcherTopic.objects.filter(researcher=researcher)
        .select_related("topic")
        .order_by("-works_count", "topic__display_name")[:limit]
    )


def researcher_works(researcher: Researcher) -> QuerySet[Work]:
    """The works on a profile: not hidden by a curator, and not reported "not me" by the
    owner (pending or accepted). The report check is a NOT EXISTS in the same query."""
    return Work.objects.filter(authorships__researcher=researcher, is_hidden=False).filter(
        ~not_me_reported(researcher.pk)
    )


def works_page(researcher: Researcher, *, sort: str, page_number: str | int | None) -> Page:
    """One page of works with their venue (two queries: count and page)."""
    ordering = WORK_SORTS.get(sort, WORK_SORTS[DEFAULT_WORK_SORT])
    works = researcher_works(researcher).select_related("venue").order_by(*ordering)
    return Paginator(works, WORKS_PER_PAGE).get_page(page_number)


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
