from __future__ import annotations

from celery import shared_task

from profiles import services


@shared_task(acks_late=True)
def recompute_researchers(researcher_ids: list[int]) -> None:
    services.recompute_researchers(researcher_ids=researcher_ids)


@shared_task(acks_late=True)
def recompute_trust(researcher_ids: list[int]) -> int:
    return services.recompute_trust(researcher_ids=researcher_ids)


@shared_task(acks_late=True)
def recompute_metrics(researcher_ids: list[int] | None = None) -> int:
    """Citation metrics for these researchers, or for every researcher when None."""
    from profiles.metrics import recompute_metrics as recompute

    return recompute(researcher_ids=researcher_ids)
