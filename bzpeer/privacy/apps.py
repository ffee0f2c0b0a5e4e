from __future__ import annotations

from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "bzpeer.privacy"
    label = "privacy"
    verbose_name = "Privacy: account data and deletion"
