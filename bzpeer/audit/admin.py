"""The audit events in the admin: pghistory's "Middleware events" page lists every event
with who and which URL (settings.PGHISTORY_ADMIN_MODEL), and each tracked model's change
page links to its history (templates/admin/change_form_object_tools.html). The event
tables are also listed one by one, read-only, for filtering by label."""

from __future__ import annotations

from django.contrib import admin
from pghistory.admin import EventModelAdmin

from . import models

for event_model in (
    models.ResearcherEvent,
    models.WorkEvent,
    models.AuthorshipEvent,
    models.InstitutionEvent,
    models.SourceEvent,
    models.TopicEvent,
    models.ClaimEvent,
    models.NotMeReportEvent,
    models.FollowEvent,
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
