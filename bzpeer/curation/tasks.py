"""The worker's side of `derived.queue_recompute`.

The task names are the ones messages already queued carry (they were first defined in
profiles), so a deployment never strands a message under a name no worker knows.
"""

from __future__ import annotations

from celery import shared_task

from bzpeer.curation import derived


@shared_task(name="profiles.tasks.recompute_researchers", acks_late=True)
def recompute_researchers(researcher_ids: list[int]) -> None:
    derived.recompute_researchers(researcher_ids=researcher_ids)


@shared_task(name="profiles.tasks.recompute_trust", acks_late=True)
def recompute_trust(researcher_ids: list[int]) -> int:
    return derived.recompute_trust(researcher_ids=researcher_ids)


# Every researcher at once is one long statement (minutes on a million works).
@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def recompute_metrics(researcher_ids: list[int] | None = None) -> int:
    """Citation metrics for these researchers, or for every researcher when None."""
    return derived.recompute_metrics(researcher_ids=researcher_ids)
