from __future__ import annotations

from django.apps import AppConfig


class CurationConfig(AppConfig):
    # An app only for its management command (import_openalex) and its worker tasks.
    name = "bzpeer.curation"
    label = "curation"
    verbose_name = "Curation"
