"""Admin for claims and "not me" reports: the curators' review queues."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest

from works.admin import BaseAdmin, pretty_json, related_object_filter

from .models import Claim, NotMeReport


class ReviewQueueAdmin(BaseAdmin):
    """Pending rows first, then the oldest first: what a curator should decide next."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The rank is an annotation, so it is added before ordering: ModelAdmin.get_queryset
        # orders first, and ModelAdmin.ordering may not name an annotation.
        queryset = self.model._default_manager.annotate(
            review_rank=Case(
                When(status="pending", then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        return queryset.order_by(*self.get_ordering(request))

    def get_ordering(self, request: HttpRequest) -> tuple:
        return ("review_rank", "created_at")


@admin.register(Claim)
class ClaimAdmin(ReviewQueueAdmin):
    list_display = (
        "researcher",
        "user",
        "method",
        "status",
        "is_dispute",
        "created_at",
        "reviewer",
        "decided_at",
    )
    list_select_related = ("researcher", "user", "reviewer")
    list_filter = ("status", "method", "is_dispute", related_object_filter("researcher"))
    search_fields = ("researcher__display_name", "=user__username", "=user__email")
    search_help_text = "Researcher name, or the claimant's exact username or email."
    autocomplete_fields = ("user", "researcher", "reviewer")
    readonly_fields = ("created_at", "evidence_links_pretty")
    fieldsets = (
        (None, {"fields": ("researcher", "user", "method", "is_dispute", "created_at")}),
        ("Evidence", {"fields": ("evidence", "evidence_links", "evidence_links_pretty")}),
        ("Decision", {"fields": ("status", "reviewer", "decided_at", "reason")}),
    )

    @admin.display(description="evidence links (as stored)")
    def evidence_links_pretty(self, obj: Claim) -> str:
        return pretty_json(obj.evidence_links)


@admin.register(NotMeReport)
class NotMeReportAdmin(ReviewQueueAdmin):
    list_display = ("researcher", "work", "user", "status", "created_at", "reviewer", "decided_at")
    list_select_related = ("researcher", "work", "user", "reviewer")
    list_filter = ("status", related_object_filter("researcher"))
    search_fields = ("researcher__display_name", "=user__username")
    search_help_text = "Researcher name, or the reporter's exact username."
    autocomplete_fields = ("researcher", "work", "user", "reviewer")
    readonly_fields = ("created_at",)
