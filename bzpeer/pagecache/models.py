"""Content versions: one number per public record page, moved by Postgres itself.

A page served from the cache is keyed by the version of the record it shows. The
version is bumped by statement-level triggers (migrations/0001_initial.py) on every
table whose rows a page shows, in the transaction that changes them, so the importer's
bulk SQL, the admin, services, the shell and `QuerySet.update()` all move it without
any of them knowing about the cache. See bzpeer/pagecache/__init__.py for why.
"""

from __future__ import annotations

from django.db import models


class ContentVersion(models.Model):
    """The current version of one record's page (absent: unchanged since the triggers
    were installed, read as version 0)."""

    class Kind(models.TextChoices):
        RESEARCHER = "R", "Researcher"
        WORK = "W", "Work"

    pk = models.CompositePrimaryKey("kind", "object_id")
    kind = models.CharField(max_length=1, choices=Kind.choices)
    object_id = models.BigIntegerField()
    # From one global sequence: a value is never handed out twice, so a key built from it
    # can never name an older rendering.
    version = models.BigIntegerField()
    # Strictly increasing per record, in whole seconds (HTTP dates have no finer unit),
    # so If-Modified-Since never matches a page that changed in the same second.
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind}{self.object_id} v{self.version}"
