"""Materialised co-author edges and the per-researcher research graph slice."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class CoauthorEdge(models.Model):
    """One direction of a co-author pair (both directions are stored for simple reads)."""

    # No index of its own: the unique (researcher, coauthor) pair leads with it.
    researcher = models.ForeignKey(
        "profiles.Researcher",
        on_delete=models.CASCADE,
        related_name="coauthor_edges",
        db_index=False,
    )
    coauthor = models.ForeignKey("profiles.Researcher", on_delete=models.CASCADE, related_name="+")
    shared_works = models.PositiveIntegerField()
    last_year = models.PositiveSmallIntegerField(null=True, blank=True)
    # Smallest author list among the shared works: one shared work with <= 5 authors is close.
    smallest_team = models.PositiveIntegerField()
    is_close = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["researcher", "coauthor"], name="edge_unique_pair"),
            models.CheckConstraint(
                condition=~Q(researcher=models.F("coauthor")), name="edge_no_self"
            ),
        ]
        indexes = [
            models.Index(fields=["researcher", "-shared_works", "-last_year"], name="edge_rank_idx")
        ]

    def __str__(self) -> str:
        return f"{self.researcher_id} - {self.coauthor_id} ({self.shared_works})"


class GraphSlice(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    researcher = models.OneToOneField(
        "profiles.Researcher", on_delete=models.CASCADE, related_name="graph_slice"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    payload = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True, default="")
    requested_at = models.DateTimeField(null=True, blank=True)
    # When a worker last took the build (status BUILDING): a build older than a task may
    # run lost its worker.
    started_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"slice of {self.researcher_id} ({self.status})"
