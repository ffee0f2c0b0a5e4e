from __future__ import annotations

from celery import shared_task

from profiles import services


@shared_task(acks_late=True)
def recompute_researchers(researcher_ids: list[int]) -> None:
    services.recompute_researchers(researcher_ids=researcher_ids)


@shared_task(acks_late=True)
def recompute_trust(researcher_ids: list[int]) -> int:
    return services.recompute_trust(researcher_ids=researcher_ids)
