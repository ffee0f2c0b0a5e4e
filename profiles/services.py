"""Writes on researchers: follows, denormalised counts, trust. Each one a transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, OuterRef, Q
from django.utils import timezone

from bzpeer.types import User
from bzpeer.utils import chunked
from claims.models import NotMeReport
from claims.queries import not_me_reported
from graph.edges import rebuild_coauthor_edges
from graph.models import CoauthorEdge
from profiles.models import Follow, Researcher, ResearcherTopic
from profiles.trust import TrustInputs, compute_trust
from works.models import Authorship, Work

logger = logging.getLogger(__name__)


# --- follows -------------------------------------------------------------------------


def follow_researcher(*, user: User, researcher: Researcher) -> bool:
    """Follow; returns True when a new follow was made. Safe under concurrent requests:
    the unique pair makes the second insert a no-op, and the count moves only with a row."""
    try:
        with transaction.atomic():
            Follow.objects.create(user=user, researcher=researcher)
            Researcher.objects.filter(pk=researcher.pk).update(
                followers_count=F("followers_count") + 1
            )
    except IntegrityError:
        return False
    return True


def unfollow_researcher(*, user: User, researcher: Researcher) -> bool:
    with transaction.atomic():
        deleted, _ = Follow.objects.filter(user=user, researcher=researcher).delete()
        if deleted:
            Researcher.objects.filter(pk=researcher.pk, followers_count__gt=0).update(
                followers_count=F("followers_count") - 1
            )
    return bool(deleted)


# --- denormalised counts ---------------------------------------------------------------


def refresh_researcher_counts(*, researcher_ids: Iterable[int]) -> None:
    """Recount works, followers and topics (and the per-topic rows) from the source rows."""
    researcher_table = Researcher._meta.db_table
    authorship_table = Authorship._meta.db_table
    work_table = Work._meta.db_table
    work_topics_table = Work.topics.through._meta.db_table
    topic_table = ResearcherTopic._meta.db_table
    follow_table = Follow._meta.db_table
    # A work its owner marked "not me" (pending or accepted) is off their record.
    not_me = (
        f"NOT EXISTS (SELECT 1 FROM {NotMeReport._meta.db_table} nm "
        "WHERE nm.researcher_id = a.researcher_id AND nm.work_id = a.work_id "
        "AND nm.status IN ('pending', 'accepted'))"
    )
    for chunk in chunked(sorted(set(researcher_ids))):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {topic_table} WHERE researcher_id = ANY(%s)", [chunk])
            cursor.execute(
                f"""
                INSERT INTO {topic_table} (researcher_id, topic_id, works_count)
                SELECT a.researcher_id, wt.topic_id, COUNT(DISTINCT a.work_id)
                FROM {authorship_table} a
                JOIN {work_table} w ON w.id = a.work_id AND NOT w.is_hidden
                JOIN {work_topics_table} wt ON wt.work_id = a.work_id
                WHERE a.researcher_id = ANY(%s) AND {not_me}
                GROUP BY a.researcher_id, wt.topic_id
                """,
                [chunk],
            )
            cursor.execute(
                f"""
                UPDATE {researcher_table} r SET
                  works_count = (SELECT COUNT(*) FROM {authorship_table} a
                                 JOIN {work_table} w ON w.id = a.work_id AND NOT w.is_hidden
                                 WHERE a.researcher_id = r.id AND {not_me}),
                  topics_count = (SELECT COUNT(*) FROM {topic_table} t
                                  WHERE t.researcher_id = r.id),
                  followers_count = (SELECT COUNT(*) FROM {follow_table} f
                                     WHERE f.researcher_id = r.id)
                WHERE r.id = ANY(%s)
                """,
                [chunk],
            )


# --- trust ----------------------------------------------------------------------------


def recompute_trust(*, researcher_ids: Iterable[int]) -> int:
    """Compute and store trust for these researchers; returns how many changed."""
    changed = 0
    now = timezone.now()
    for chunk in chunked(sorted(set(researcher_ids)), size=500):
        identified = dict(
            Authorship.objects.filter(researcher_id__in=chunk, work__is_hidden=False)
            .filter(~Q(work__doi=None) | ~Q(work__arxiv_id=""))
            .exclude(not_me_reported(OuterRef("researcher_id"), OuterRef("work_id")))
            .values_list("researcher_id")
            .annotate(n=Count("work_id", distinct=True))
        )
        verified = dict(
            CoauthorEdge.objects.filter(
                researcher_id__in=chunk, is_close=True, coauthor__owner__isnull=False
            )
            .values_list("researcher_id")
            .annotate(n=Count("id"))
        )
        to_update = []
        with transaction.atomic():
            for researcher in Researcher.objects.select_for_update().filter(pk__in=chunk):
                result = compute_trust(
                    TrustInputs(
                        verification_level=researcher.verification_level,
                        identified_works=identified.get(researcher.pk, 0),
                        close_collaborators=researcher.close_collaborators_count,
                        verified_close_collaborators=verified.get(researcher.pk, 0),
                        has_affiliation=researcher.last_known_institution_id is not None,
                        has_summary=bool(researcher.summary.strip()),
                        has_topics=researcher.topics_count > 0,
                        has_orcid=bool(researcher.orcid),
                    )
                )
                if (
                    researcher.trust_score,
                    researcher.trust_band,
                    researcher.trust_components,
                ) == (
                    result.score,
                    result.band,
                    result.components,
                ) and researcher.trust_computed_at:
                    continue
                researcher.trust_score = result.score
                researcher.trust_band = result.band
                researcher.trust_components = result.components
                researcher.trust_computed_at = now
                to_update.append(researcher)
            Researcher.objects.bulk_update(
                to_update,
                ["trust_score", "trust_band", "trust_components", "trust_computed_at"],
            )
        changed += len(to_update)
    return changed


# --- after an import or a curation change ----------------------------------------------


def after_import(*, researcher_ids: Iterable[int]) -> set[int]:
    """Refresh counts and co-author edges for the researchers an import touched, then queue
    trust and graph recomputation for them and for every researcher whose edges changed."""
    touched = set(researcher_ids)
    if not touched:
        return set()
    refresh_researcher_counts(researcher_ids=touched)
    affected = rebuild_coauthor_edges(researcher_ids=touched) | touched
    queue_recompute(researcher_ids=affected)
    return affected


def queue_recompute(*, researcher_ids: Iterable[int]) -> bool:
    """Queue trust and graph-slice recomputation in the worker after the transaction commits.

    A broker outage must not undo the data change: it is logged, and `recompute` can be
    run again later (the admin's "recompute" action, or the next import)."""
    from profiles.tasks import recompute_researchers

    ids = sorted(set(researcher_ids))

    def enqueue() -> None:
        for chunk in chunked(ids, size=200):
            try:
                recompute_researchers.delay(chunk)
            except Exception:  # kombu raises several types when the broker is down
                logger.warning("Could not queue recomputation for %d researchers", len(chunk))
                return

    transaction.on_commit(enqueue)
    return True


def recompute_researchers(*, researcher_ids: Iterable[int]) -> None:
    """What the worker runs: trust for all, and a rebuild of the graph slices that exist
    (a slice nobody looked at yet is built when its page asks for it)."""
    from graph.models import GraphSlice
    from graph.services import build_slice

    ids = list(researcher_ids)
    recompute_trust(researcher_ids=ids)
    for researcher_id in GraphSlice.objects.filter(researcher_id__in=ids).values_list(
        "researcher_id", flat=True
    ):
        build_slice(researcher_id=researcher_id)


# --- owner tools (the record's owner edits their own profile) ----------------------------

SUMMARY_MAX_LENGTH = 1000


def update_summary(*, user: User, researcher: Researcher, summary: str) -> Researcher:
    """The owner's one-paragraph bio: plain text (escaped on every page), at most
    SUMMARY_MAX_LENGTH characters. Completeness counts in trust, so trust is recomputed."""
    from django.core.exceptions import PermissionDenied, ValidationError

    summary = " ".join(summary.split())  # one line: no layout smuggled in with newlines
    if len(summary) > SUMMARY_MAX_LENGTH:
        raise ValidationError(f"Keep the summary under {SUMMARY_MAX_LENGTH} characters.")
    with transaction.atomic():
        record = Researcher.objects.select_for_update(of=("self",)).get(pk=researcher.pk)
        if record.owner_id != user.pk:
            raise PermissionDenied("Only the owner edits a profile.")
        record.summary = summary
        record.save(update_fields=["summary", "updated_at"])
        queue_recompute(researcher_ids=[record.pk])
    return record


def set_collaboration(
    *, user: User, researcher: Researcher, open_to_collaborate: bool, kinds: list[str], until=None
) -> Researcher:
    """Open to collaborate or not, on what (co-authoring, reviewing, data/code), until when."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from profiles.models import CollaborationKind

    unknown = set(kinds) - set(CollaborationKind.values)
    if unknown:
        raise ValidationError(f"Unknown kinds of collaboration: {', '.join(sorted(unknown))}")
    if until is not None and until < timezone.localdate():
        raise ValidationError("The end date is in the past.")
    with transaction.atomic():
        record = Researcher.objects.select_for_update(of=("self",)).get(pk=researcher.pk)
        if record.owner_id != user.pk:
            raise PermissionDenied("Only the owner edits a profile.")
        record.open_to_collaborate = open_to_collaborate
        record.collaboration_kinds = [k for k in CollaborationKind.values if k in kinds]
        record.open_until = until if open_to_collaborate else None
        record.save(
            update_fields=["open_to_collaborate", "collaboration_kinds", "open_until", "updated_at"]
        )
    return record
