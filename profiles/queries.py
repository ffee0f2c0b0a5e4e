"""Reads for the profile page and its fragments: each a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.shortcuts import get_object_or_404

from bzpeer.identifiers import parse_source_id
from bzpeer.pagecache.front import validator
from bzpeer.pagecache.loading import fetch_one, load_with_version
from bzpeer.pagecache.models import ContentVersion
from bzpeer.pagecache.responses import EPOCH_SQL
from bzpeer.types import AnyUser, User
from profiles.models import (
    Follow,
    Researcher,
    ResearcherInstitution,
    ResearcherTopic,
    merge_survivor_ids,
    visible_q,
    visible_sql,
)
from works.models import Institution, Topic
from works.queries import TOPIC_WORKS_SHOWN

TOPIC_RESEARCHERS_PER_PAGE = 50
# What a profile's cache key (and its works list's) is made of: the record's content
# version (bzpeer.pagecache.front reads it before answering a repeat request).
RESEARCHER_PAGE_STATE = validator(Researcher._meta.db_table, ContentVersion.Kind.RESEARCHER)
INSTITUTION_RESEARCHERS_PER_PAGE = 50


def get_researcher(pk: int | str) -> Researcher:
    """The record behind a profile URL (merged or not): one query."""
    return get_object_or_404(
        Researcher.objects.select_related("last_known_institution", "merged_into"), pk=pk
    )


def get_researcher_for_page(
    pk: int,
    *,
    joins: str = "",
    extra: dict[str, str] | None = None,
    join_params: list | None = None,
) -> Researcher:
    """The record behind a profile URL with its institution and page version: one plain
    statement (a cache hit runs nothing else; bzpeer/pagecache/loading.py), with what a
    caller adds through `joins` and `extra` (the viewer's state)."""
    researcher = load_with_version(
        Researcher,
        pk,
        kind=ContentVersion.Kind.RESEARCHER,
        related=("last_known_institution",),
        joins=joins,
        extra=extra,
        join_params=join_params or (),
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
    """A researcher's topics, those on most of their works first (the header names the
    first three; the works list's topic filter offers more)."""
    return list(
        ResearcherTopic.objects.filter(researcher=researcher)
        .select_related("topic")
        .order_by("-works_count", "topic__display_name")[:limit]
    )


@dataclass(frozen=True)
class YearCount:
    year: int
    count: int


def is_following(user: AnyUser, researcher: Researcher) -> bool:
    if not user.is_authenticated:
        return False
    return Follow.objects.filter(user=user, researcher=researcher).exists()


def follow_state(user: AnyUser, researcher: Researcher) -> tuple[bool, bool]:
    """(following, digest on) for the follow control: one query (a plain statement
    prepared once per connection; signed-in profiles run it every request), none when
    anonymous."""
    if not user.is_authenticated:
        return False, False
    found = fetch_one(
        f"SELECT email_digest FROM {Follow._meta.db_table}"
        " WHERE user_id = %s AND researcher_id = %s LIMIT 1",
        [user.pk, researcher.pk],
    )
    return found is not None, bool(found and found[0])


def featured_researchers(limit: int = 12) -> list[Researcher]:
    """Full (non-stub) records with the most works, for the home page."""
    return list(
        Researcher.objects.visible()
        .filter(is_stub=False)
        .select_related("last_known_institution")
        .order_by("-works_count", "display_name")[:limit]
    )


def get_researcher_by_source(source_id: str) -> Researcher:
    """The record a source id names, following merges to the survivor; 404 when none."""
    source_id = source_id.strip()
    candidates = [source_id]
    if canonical := parse_source_id(source_id, "author"):
        candidates.append(canonical)
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


# --- who follows a record, and whom an account follows ---------------------------------------

FOLLOWERS_PER_PAGE = 50
FOLLOWING_PER_PAGE = 50
# The "open to collaborate" part of the following page lists at most this many records.
OPEN_FOLLOWED_SHOWN = 100


@dataclass(frozen=True)
class FollowersList:
    """A page of the followers who own a public record, and how many others follow."""

    page: Page
    total: int

    @property
    def without_public_profile(self) -> int:
        return max(self.total - self.page.paginator.count, 0)


def followers_list(researcher: Researcher, *, page_number: str | int | None) -> FollowersList:
    """Who follows `researcher`: the public records of the followers who own one (by name,
    with their institution), paged, and the count of all followers; the others are only
    counted. Reads no account row (no email, no username). Three queries: every follow
    counted, the paginator's COUNT, the page."""
    total = Follow.objects.filter(researcher=researcher).count()
    records = (
        Researcher.objects.visible()
        .filter(owner__follows__researcher=researcher)
        .select_related("last_known_institution")
        .order_by("display_name", "pk")
    )
    return FollowersList(
        page=Paginator(records, FOLLOWERS_PER_PAGE).get_page(page_number), total=total
    )


def followed_page(user: User, *, page_number: str | int | None) -> Page:
    """The public records `user` follows (the follow rows, with the record and its
    institution), by name. Two queries: the paginator's COUNT and the page."""
    rows = (
        Follow.objects.filter(visible_q("researcher__"), user=user)
        .select_related("researcher", "researcher__last_known_institution")
        .order_by("researcher__display_name", "researcher_id")
    )
    return Paginator(rows, FOLLOWING_PER_PAGE).get_page(page_number)


def open_followed(user: User, *, limit: int = OPEN_FOLLOWED_SHOWN) -> list[Researcher]:
    """The claimed records `user` follows that are open to collaborate today and let
    their followers see it (Researcher.objects.open_for_followers), by name: one query.
    An unclaimed record is left out: nobody could answer an invitation to it."""
    return list(
        Researcher.objects.open_for_followers()
        .filter(follows__user=user, owner__isnull=False)
        .exclude(owner=user)
        .select_related("last_known_institution")
        .order_by("display_name", "pk")[:limit]
    )


# --- researchers of a topic or an institution (their pages) --------------------------------


def topic_researchers(
    topic: Topic, *, page_number: str | int | None, per_page: int = TOPIC_RESEARCHERS_PER_PAGE
) -> Page:
    """One page of a topic's researchers, ranked by how many of their works carry it.

    Merged duplicates and hidden records are left out (a merged record's works count under
    the survivor). Two queries: the paginator's COUNT and the page.
    """
    rows = (
        ResearcherTopic.objects.filter(visible_q("researcher__"), topic=topic)
        .select_related("researcher", "researcher__last_known_institution")
        .order_by("-works_count", "researcher__display_name", "researcher_id")
    )
    return Paginator(rows, per_page).get_page(page_number)


def institution_researchers(
    institution: Institution,
    *,
    page_number: str | int | None,
    per_page: int = INSTITUTION_RESEARCHERS_PER_PAGE,
) -> Page:
    """One page of an institution's researchers, most works first: those last seen there
    and those whose works name it (the affiliation links kept in ResearcherInstitution).

    Two queries: the paginator's COUNT and the page itself. An invalid or out-of-range
    page number falls back to the first or last page.
    """
    named_here = ResearcherInstitution.objects.filter(institution=institution).values(
        "researcher_id"
    )
    researchers = (
        Researcher.objects.visible()
        .filter(affiliation_hidden=False)
        .filter(Q(last_known_institution=institution) | Q(pk__in=named_here))
        .order_by("-works_count", "display_name", "pk")
    )
    return Paginator(researchers, per_page).get_page(page_number)


# --- page versions of the topic and institution pages (bzpeer/pagecache) ------------------

# The version of a topic or institution page: a digest of exactly the rows it lists and
# their page versions, read by the same query as the record (these pages are lists of
# other records, so they have no version row of their own).
TOPIC_PAGE_DIGEST = """
SELECT md5(concat_ws('|', t::text, c.n,
  (SELECT string_agg(x.rt || '.' || x.v, ',') FROM (
     SELECT rt::text AS rt, coalesce(v.version, 0) AS v
     FROM profiles_researchertopic rt
     JOIN profiles_researcher r ON r.id = rt.researcher_id AND VISIBLE_R
     LEFT JOIN pagecache_contentversion v ON v.kind = 'R' AND v.object_id = r.id
     WHERE rt.topic_id = t.id
     ORDER BY rt.works_count DESC, r.display_name, r.id
     LIMIT %s OFFSET least(%s, greatest((c.n - 1) / %s, 0) * %s)) x),
  (SELECT string_agg(y.id || '.' || y.v, ',') FROM (
     SELECT w.id, coalesce(v.version, 0) AS v
     FROM works_work w JOIN works_work_topics wt ON wt.work_id = w.id
     LEFT JOIN pagecache_contentversion v ON v.kind = 'W' AND v.object_id = w.id
     WHERE wt.topic_id = t.id AND NOT w.is_hidden
     ORDER BY w.publication_year DESC NULLS LAST, w.title, w.id LIMIT %s) y)))
FROM works_topic t,
  LATERAL (SELECT count(*) AS n FROM profiles_researchertopic rt
           JOIN profiles_researcher r ON r.id = rt.researcher_id AND VISIBLE_R
           WHERE rt.topic_id = t.id) c
WHERE t.id = works_topic.id
""".replace("VISIBLE_R", visible_sql("r"))

# The paginator shows the last page for a number past it: the digest clamps the same way.
INSTITUTION_PAGE_DIGEST = """
SELECT md5(concat_ws('|', i::text, c.n,
  (SELECT string_agg(x.id || '.' || x.v, ',') FROM (
     SELECT r.id, coalesce(v.version, 0) AS v
     FROM profiles_researcher r
     LEFT JOIN pagecache_contentversion v ON v.kind = 'R' AND v.object_id = r.id
     WHERE MEMBER_OF_I
     ORDER BY r.works_count DESC, r.display_name, r.id
     LIMIT %s OFFSET least(%s, greatest((c.n - 1) / %s, 0) * %s)) x)))
FROM works_institution i,
  LATERAL (SELECT count(*) AS n FROM profiles_researcher r WHERE MEMBER_OF_I) c
WHERE i.id = works_institution.id
"""
# The same membership as institution_researchers: visible, affiliation shown, last seen
# there or named by the affiliations of their works.
INSTITUTION_PAGE_DIGEST = INSTITUTION_PAGE_DIGEST.replace(
    "MEMBER_OF_I",
    f"{visible_sql('r')} AND NOT r.affiliation_hidden AND (r.last_known_institution_id = i.id"
    " OR r.id IN (SELECT ri.researcher_id FROM profiles_researcherinstitution ri"
    " WHERE ri.institution_id = i.id))",
)


def topic_for_page(pk: int, *, page_number: int = 1) -> Topic:
    """The topic with the version of one page of its list (page_digest, page_epoch): one
    query."""
    per_page = TOPIC_RESEARCHERS_PER_PAGE
    offset = (page_number - 1) * per_page
    topics = Topic.objects.annotate(
        page_digest=RawSQL(
            TOPIC_PAGE_DIGEST, (per_page, offset, per_page, per_page, TOPIC_WORKS_SHOWN)
        ),
        page_epoch=RawSQL(EPOCH_SQL, ()),
    )
    return get_object_or_404(topics, pk=pk)


def institution_for_page(pk: int, *, page_number: int = 1) -> Institution:
    """The institution with the version of one page of its list: one query."""
    per_page = INSTITUTION_RESEARCHERS_PER_PAGE
    offset = (page_number - 1) * per_page
    institutions = Institution.objects.annotate(
        page_digest=RawSQL(INSTITUTION_PAGE_DIGEST, (per_page, offset, per_page, per_page)),
        page_epoch=RawSQL(EPOCH_SQL, ()),
    )
    return get_object_or_404(institutions, pk=pk)


def topics_with_most_researchers(limit: int = 12) -> list[Topic]:
    return list(
        Topic.objects.filter(researchers_count__gt=0).order_by(
            "-researchers_count", "display_name"
        )[:limit]
    )
