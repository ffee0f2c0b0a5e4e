"""Derived data: what is recomputed from the source rows after any change.

Counts (works, topics, followers) and co-author edges are refreshed in the change's own
transaction; trust and graph slices are queued for the worker after it commits. An import,
a curator's correction, a claim and an owner's edit all go through `refresh_derived_data`
or `queue_recompute`, so a change looks the same on every page whichever path made it.
This sits above the domain apps: it needs the "works listed on a profile" rule (claims),
the co-author edges and slices (graph) and the researchers' counts (profiles).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Q
from django.utils import timezone

from bzpeer.search.documents import refresh_search_documents
from bzpeer.utils import chunked
from claims import listing
from claims.models import Claim
from graph.edges import rebuild_coauthor_edges
from graph.models import CoauthorEdge, GraphSlice
from graph.services import build_slice
from profiles.models import Follow, Researcher, ResearcherTopic
from profiles.trust import TrustInputs, compute_trust
from works.models import Authorship, Work

logger = logging.getLogger(__name__)


# --- denormalised counts ---------------------------------------------------------------


def refresh_researcher_counts(*, researcher_ids: Iterable[int]) -> None:
    """Recount works, followers and topics (and the per-topic rows) from the source rows."""
    researcher_table = Researcher._meta.db_table
    authorship_table = Authorship._meta.db_table
    work_table = Work._meta.db_table
    work_topics_table = Work.topics.through._meta.db_table
    topic_table = ResearcherTopic._meta.db_table
    follow_table = Follow._meta.db_table
    # Only the works the profile lists count (claims.listing: not hidden, not "not me").
    listed = listing.listed_sql("a", "w")
    for chunk in chunked(sorted(set(researcher_ids))):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {topic_table} WHERE researcher_id = ANY(%s)", [chunk])
            cursor.execute(
                f"""
                INSERT INTO {topic_table} (researcher_id, topic_id, works_count)
                SELECT a.researcher_id, wt.topic_id, COUNT(DISTINCT a.work_id)
                FROM {authorship_table} a
                JOIN {work_table} w ON w.id = a.work_id
                JOIN {work_topics_table} wt ON wt.work_id = a.work_id
                WHERE a.researcher_id = ANY(%s) AND {listed}
                GROUP BY a.researcher_id, wt.topic_id
                """,
                [chunk],
            )
            cursor.execute(
                f"""
                UPDATE {researcher_table} r SET
                  works_count = (SELECT COUNT(*) FROM {authorship_table} a
                                 JOIN {work_table} w ON w.id = a.work_id
                                 WHERE a.researcher_id = r.id AND {listed}),
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
            .exclude(listing.not_me_reported(OuterRef("researcher_id"), OuterRef("work_id")))
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
        # The owner's approved claim says how the record was claimed (the trust breakdown
        # names it).
        methods = {
            researcher_id: (method, reviewer_id is not None)
            for researcher_id, method, reviewer_id in Claim.objects.filter(
                researcher_id__in=chunk, status=Claim.Status.APPROVED, user=F("researcher__owner")
            ).values_list("researcher_id", "method", "reviewer_id")
        }
        to_update = []
        with transaction.atomic():
            for researcher in Researcher.objects.select_for_update().filter(pk__in=chunk):
                method, reviewed = methods.get(researcher.pk, ("", False))
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
                        claim_method=method if researcher.owner_id else "",
                        claim_reviewed=reviewed,
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


# --- after any change: an import, a curation, a claim ------------------------------------


def refresh_derived_data(*, researcher_ids: Iterable[int]) -> set[int]:
    """Refresh counts, search documents and co-author edges now for the researchers a change
    touched, then queue trust and graph recomputation for them and for every researcher
    whose edges changed. Returns those researchers."""
    touched = set(researcher_ids)
    if not touched:
        return set()
    # Topics they carry before the recount: a topic they leave needs its count refreshed.
    topics_before = set(
        ResearcherTopic.objects.filter(researcher_id__in=touched).values_list("topic_id", flat=True)
    )
    refresh_researcher_counts(researcher_ids=touched)
    refresh_search_documents(researcher_ids=touched, topic_ids=topics_before)
    affected = rebuild_coauthor_edges(researcher_ids=touched) | touched
    queue_recompute(researcher_ids=affected)
    return affected


def queue_recompute(*, researcher_ids: Iterable[int]) -> bool:
    """Queue trust and graph-slice recomputation in the worker after the transaction commits.

    A broker outage must not undo the data change: it is logged, and `recompute` can be
    run again later (the admin's "recompute" action, or the next import). The task module
    is imported when called: it imports this module for what the worker runs."""
    from bzpeer.curation.tasks import recompute_researchers

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
    ids = list(researcher_ids)
    recompute_trust(researcher_ids=ids)
    for researcher_id in GraphSlice.objects.filter(researcher_id__in=ids).values_list(
        "researcher_id", flat=True
    ):
        build_slice(researcher_id=researcher_id)
