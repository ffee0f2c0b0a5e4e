"""The "Curators" group: staff who fix the data in the admin, without being superusers.

Permissions are created here by (app label, model, codename), so the group is complete on
a fresh database, before post_migrate would create the default ones. The custom ones
(merge, move authorships, decide claims) are checked by the admin actions and by the
curation services (bzpeer/curation/services.py).
"""

from __future__ import annotations

from django.db import migrations

GROUP = "Curators"

# (app label, model, codename, name)
PERMISSIONS = [
    *[
        (app, model, f"{verb}_{model}", f"Can {verb} {label}")
        for app, model, label in [
            ("profiles", "researcher", "researcher"),
            ("works", "work", "work"),
            ("works", "authorship", "authorship"),
            ("works", "source", "source"),
            ("works", "topic", "topic"),
            ("works", "institution", "institution"),
            ("claims", "claim", "claim"),
            ("claims", "notmereport", "not me report"),
        ]
        for verb in ("view", "change")
    ],
    ("profiles", "follow", "view_follow", "Can view follow"),
    ("profiles", "invitation", "view_invitation", "Can view invitation"),
    ("profiles", "researchertopic", "view_researchertopic", "Can view researcher topic"),
    ("graph", "coauthoredge", "view_coauthoredge", "Can view coauthor edge"),
    ("graph", "graphslice", "view_graphslice", "Can view graph slice"),
    ("pghistory", "events", "view_events", "Can view events"),
    ("pghistory", "middlewareevents", "view_middlewareevents", "Can view middleware events"),
    # Custom permissions: what only curators (and superusers) may do.
    ("profiles", "researcher", "merge_researcher", "Can merge duplicate researchers"),
    ("works", "authorship", "move_authorship", "Can move authorships to another researcher"),
    ("claims", "claim", "decide_claim", "Can decide claims and not-me reports"),
]


def create_curators(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, model, codename, name in PERMISSIONS:
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        group.permissions.add(permission)


def remove_curators(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("graph", "0002_initial"),
    ]

    operations = [migrations.RunPython(create_curators, remove_curators)]
