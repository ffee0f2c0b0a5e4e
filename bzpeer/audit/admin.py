"""The audit events in the admin: pghistory's "Middleware events" page lists every event
with who and which URL (settings.PGHISTORY_ADMIN_MODEL), and each tracked model's change
page links to its history (templates/admin/change_form_object_tools.html). The event
tables are also listed one by one, read-only, for filtering by label."""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from pghistory.admin import EventModelAdmin

# bzpeer/audit/models.py creates these models at run time (pghistory.track).
for event_model in (
    apps.get_model("audit", name)
    for name in (
        "ResearcherEvent",
        "WorkEvent",
        "AuthorshipEvent",
        "InstitutionEvent",
        "SourceEvent",
        "TopicEvent",
        "ClaimEvent",
        "NotMeReportEvent",
        "FollowEvent",
    )
):
    admin.site.register(
        event_model,
        type(
            f"{event_model.__name__}Admin",
            (EventModelAdmin,),
            {
                "list_display": ("pgh_created_at", "pgh_label", "pgh_obj", "pgh_context"),
                "list_select_related": ("pgh_context",),
                "show_full_result_count": False,
                "raw_id_fields": ("pgh_obj", "pgh_context"),
            },
        ),
    )
