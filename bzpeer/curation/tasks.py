"""The worker's side of `derived.queue_recompute`.

The task names are the ones messages already queued carry (they were first defined in
profiles), so a deployment never strands a message under a name no worker knows.
"""

from __future__ import annotations

from io import StringIO

from celery import shared_task
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

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


# One snapshot import at a time across every worker (a Postgres advisory lock key).
SNAPSHOT_LOCK = 0x0BE57A1E
SNAPSHOT_TIME_LIMIT = 7 * 24 * 3600


# Acked on receipt, not late: a long import must not be redelivered to a second worker
# while it runs; a killed one resumes at its next run (imported parts are recorded).
@shared_task(acks_late=False, time_limit=SNAPSHOT_TIME_LIMIT, soft_time_limit=SNAPSHOT_TIME_LIMIT)
def import_openalex_snapshot() -> str:
    """Import the partitions of OPENALEX_SNAPSHOT_DIR not imported yet (the beat runs it)."""
    root = settings.OPENALEX_SNAPSHOT_DIR
    if not root:
        return "OPENALEX_SNAPSHOT_DIR is not set: nothing to import."
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SNAPSHOT_LOCK])
        (locked,) = cursor.fetchone()
    if not locked:
        return "Another snapshot import is running."
    out, err = StringIO(), StringIO()
    try:
        call_command(
            "import_openalex", root, curator=settings.OPENALEX_CURATOR, stdout=out, stderr=err
        )
    except CommandError as exc:
        return f"{out.getvalue()}\n{err.getvalue()}\n{exc}"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SNAPSHOT_LOCK])
    return out.getvalue()
