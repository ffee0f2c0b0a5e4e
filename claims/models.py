"""Claims that link a user to a public author record."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


# The statuses live beside the models, not inside them, so the constraints in Meta can name
# them (a class body does not see the enclosing class's names).
class ClaimStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class NotMeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Claim(models.Model):
    class Method(models.TextChoices):
        ORCID = "orcid", "Authenticated ORCID iD"
        EMAIL_DOMAIN = "email_domain", "Institutional email"
        EVIDENCE = "evidence", "Evidence reviewed by a curator"

    Status = ClaimStatus

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="claims"
    )
    researcher = models.ForeignKey(
        "profiles.Researcher", on_delete=models.CASCADE, related_name="claims"
    )
    method = models.CharField(max_length=16, choices=Method.choices)
    evidence = models.TextField(blank=True, default="")
    evidence_links = models.JSONField(default=list, blank=True)
    is_dispute = models.BooleanField(
        default=False, help_text="Filed against a record that already had an owner."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claims_reviewed",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "researcher"],
                condition=Q(status=ClaimStatus.PENDING),
                name="claim_one_pending_per_user_and_record",
            ),
            models.UniqueConstraint(
                fields=["researcher"],
                condition=Q(status=ClaimStatus.APPROVED),
                name="claim_one_approved_per_record",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        # Admin titles, confirmations and history read this; the admin lists select the
        # related rows, so naming them costs no query there.
        return f"Claim by {self.user} to {self.researcher} ({self.get_status_display()})"


class NotMeReport(models.Model):
    """An owner says a work on their record is not theirs. While pending (and once
    accepted) the work is off their profile; the reason stays for curators."""

    Status = NotMeStatus

    researcher = models.ForeignKey(
        "profiles.Researcher", on_delete=models.CASCADE, related_name="not_me_reports"
    )
    work = models.ForeignKey("works.Work", on_delete=models.CASCADE, related_name="not_me_reports")
    # NULL once the reporter deleted their account: a decided report keeps hiding the work.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="not_me_reports",
    )
    reason = models.TextField(max_length=2000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="not_me_reports_reviewed",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["researcher", "work"],
                condition=Q(status__in=[NotMeStatus.PENDING, NotMeStatus.ACCEPTED]),
                name="not_me_one_open_report_per_work",
            )
        ]
        indexes = [
            # The profile's works list asks "is there an open report for this work here?"
            models.Index(fields=["researcher", "work", "status"], name="not_me_lookup_idx"),
            models.Index(fields=["status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.researcher} is not an author of “{self.work}” ({self.get_status_display()})"


class HideStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class HideRequest(models.Model):
    """Someone (often the record's subject, who may have no account) asks curators to hide
    a record, a part of it, or to correct it. Reviewed like an evidence claim."""

    Status = HideStatus

    class Scope(models.TextChoices):
        PROFILE = "profile", "Hide the whole profile"
        SUMMARY = "summary", "Hide the summary"
        AFFILIATION = "affiliation", "Hide the affiliation"
        CORRECTION = "correction", "Correct something"

    class Proof(models.TextChoices):
        ORCID = "orcid", "Signed in with the record's ORCID iD"
        EMAIL_DOMAIN = "email_domain", "Confirmed email on the institution's domain"
        EVIDENCE = "evidence", "Evidence for a curator"

    researcher = models.ForeignKey(
        "profiles.Researcher", on_delete=models.CASCADE, related_name="hide_requests"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hide_requests",
    )
    # Personal data of the requester: erased by the retention task once decided long ago.
    name = models.CharField(max_length=200)
    email = models.EmailField()
    scope = models.CharField(max_length=16, choices=Scope.choices)
    proof = models.CharField(max_length=16, choices=Proof.choices, default=Proof.EVIDENCE)
    proof_detail = models.CharField(max_length=300, blank=True, default="")
    message = models.TextField(max_length=5000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hide_requests_reviewed",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["researcher", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()}: {self.researcher} ({self.get_status_display()})"
