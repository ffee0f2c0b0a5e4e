"""The public corrections list of a profile asks for the audit contexts that name it
(`metadata -> 'researchers' @> '[pk]'`, profiles/queries.py): a GIN index answers that
without reading every context."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_curators_group"),
        ("pghistory", "0007_auto_20250421_0444"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS audit_context_researchers_gin "
            "ON pghistory_context USING gin ((metadata -> 'researchers'))",
            "DROP INDEX IF EXISTS audit_context_researchers_gin",
        )
    ]
