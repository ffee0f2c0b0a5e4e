from __future__ import annotations

from celery import shared_task

from profiles import digest


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def send_weekly_digests() -> int:
    """Celery beat runs this weekly; a second run in the same week sends nothing."""
    return digest.send_weekly_digests()
