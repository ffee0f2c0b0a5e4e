"""Admin for the materialised co-author graph: read-only, the worker rebuilds it."""

from __future__ import annotations

from django.contrib import admin

from bzpeer.admin_toolkit import (
    BaseAdmin,
    BigTableAdmin,
    ReadOnlyAdminMixin,
    pretty_json,
    related_object_filter,
)

from .models import CoauthorEdge, GraphSlice


@admin.register(CoauthorEdge)
class CoauthorEdgeAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("researcher", "coauthor", "shared_works", "last_year", "is_close")
    list_select_related = ("researcher", "coauthor")
    list_filter = ("is_close", related_object_filter("researcher"))
    search_fields = ("researcher__display_name", "coauthor__display_name")
    autocomplete_fields = ("researcher", "coauthor")
    # Delete stays allowed: the admin refuses to delete a researcher when a cascaded
    # model's admin denies delete, and a deleted researcher must take its edges along.


@admin.register(GraphSlice)
class GraphSliceAdmin(ReadOnlyAdminMixin, BaseAdmin):
    list_display = ("researcher", "status", "computed_at", "requested_at", "short_fingerprint")
    list_select_related = ("researcher",)
    list_filter = ("status", related_object_filter("researcher"))
    search_fields = ("researcher__display_name",)
    autocomplete_fields = ("researcher",)
    ordering = ("-pk",)
    # Deleting a slice is allowed: the profile page then queues a fresh build.
    fields = (
        "researcher",
        "status",
        "fingerprint",
        "requested_at",
        "started_at",
        "computed_at",
        "error",
        "payload_pretty",
    )
    readonly_fields = ("payload_pretty",)

    @admin.display(description="fingerprint")
    def short_fingerprint(self, obj: GraphSlice) -> str:
        return obj.fingerprint[:12]

    @admin.display(description="payload")
    def payload_pretty(self, obj: GraphSlice) -> str:
        return pretty_json(obj.payload)
