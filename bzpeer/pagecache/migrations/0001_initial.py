from __future__ import annotations

from django.db import migrations, models

from bzpeer.pagecache.triggers import install_sql, uninstall_sql

# The epoch names this database (a random value chosen when the table is made): cache keys
# carry it, so a recreated or restored database, whose ids and versions start again, never
# meets the pages cached from another one. A plain table, not a model: flushing the models'
# tables (as transactional tests do) leaves it alone.
EPOCH_SQL = [
    "CREATE TABLE pagecache_epoch (value text NOT NULL);",
    "INSERT INTO pagecache_epoch (value) SELECT md5(random()::text || clock_timestamp()::text);",
    "CREATE SEQUENCE pagecache_version_seq;",
]
EPOCH_REVERSE = ["DROP SEQUENCE pagecache_version_seq;", "DROP TABLE pagecache_epoch;"]


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("works", "0001_initial"),
        ("profiles", "0004_identity_fields"),
        ("claims", "0003_notmereport"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContentVersion",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "kind",
                        "object_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "kind",
                    models.CharField(choices=[("R", "Researcher"), ("W", "Work")], max_length=1),
                ),
                ("object_id", models.BigIntegerField()),
                ("version", models.BigIntegerField()),
                ("changed_at", models.DateTimeField()),
            ],
        ),
        migrations.RunSQL(EPOCH_SQL, EPOCH_REVERSE),
        migrations.RunSQL(install_sql(), uninstall_sql()),
    ]
