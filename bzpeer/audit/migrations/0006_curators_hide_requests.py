"""Curators review hide requests in the admin, with the same rules as claims."""

from __future__ import annotations

from django.db import migrations

GROUP = "Curators"
PERMISSIONS = [
    ("claims", "hiderequest", "view_hiderequest", "Can view hide request"),
    ("claims", "hiderequest", "change_hiderequest", "Can change hide request"),
]


def grant(apps, schema_editor):
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


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(codename__in=[p[2] for p in PERMISSIONS])
        )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_privacy"),
        ("claims", "0004_hide_requests"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
