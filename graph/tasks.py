from __future__ import annotations

from celery import shared_task

from graph import services


@shared_task(acks_late=True)
def build_graph_slice(researcher_id: int) -> str | None:
    graph_slice = services.build_slice(researcher_id=researcher_id)
    return graph_slice.status if graph_slice else None


@shared_task(acks_late=True)
def requeue_stuck_slices() -> int:
    return len(services.requeue_stuck_slices())
