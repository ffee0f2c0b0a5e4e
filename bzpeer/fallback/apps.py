from __future__ import annotations

from django.apps import AppConfig


class FallbackConfig(AppConfig):
    """The Postgres table that keeps rate-limit counts while Redis is down (bzpeer/cache.py)."""

    name = "bzpeer.fallback"
    label = "fallback"
    default_auto_field = "django.db.models.BigAutoField"
