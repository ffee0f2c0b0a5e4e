"""Thin Celery wrappers over bzpeer.privacy.services."""

from __future__ import annotations

from celery import shared_task

from bzpeer.privacy import services


@shared_task(name="bzpeer.privacy.tasks.build_data_export", acks_late=True)
def build_data_export(export_id: int) -> str | None:
    export = services.build_data_export(export_id=export_id)
    return export.status if export is not None else None


@shared_task(name="bzpeer.privacy.tasks.apply_retention", acks_late=True)
def apply_retention() -> dict[str, int]:
    return services.apply_retention()
