from __future__ import annotations

from celery import shared_task

from profiles import services


@shared_task(acks_late=True)
def recompute_researchers(researcher_ids: list[int]) -> None:
    services.recompute_researchers(researcher_ids=researcher_ids)


@shared_task(acks_late=True)
def recompute_trust(researcher_ids: list[int]) -> int:
    return services.recompute_trust(researcher_ids=researcher_ids)


# Every researcher at once is one long statement (minutes on a million works).
@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def recompute_metrics(researcher_ids: list[int] | None = None) -> int:
    """Citation metrics for these researchers, or for every researcher when None."""
    from profiles.metrics import recompute_metrics as recompute

    return recompute(researcher_ids=researcher_ids)


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def send_weekly_digests() -> int:
    """Celery beat runs this weekly; a second run in the same week sends nothing."""
    from profiles.digest import send_weekly_digests as send

    return send()
