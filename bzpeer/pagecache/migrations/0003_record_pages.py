from __future__ import annotations

from django.db import migrations

from bzpeer.pagecache.triggers import install_sql

# Works lists now name each work's first authors: renaming a researcher also moves the
# profiles of their co-authors on those works. The other new figures of the record
# (researcher metrics, a work's citations by year, follow digests) live in tables that
# already bump their pages.


class Migration(migrations.Migration):
    dependencies = [
        ("pagecache", "0002_truncate_rotates_epoch"),
        ("profiles", "0005_record_metrics"),
        ("works", "0003_record_metrics"),
    ]

    operations = [migrations.RunSQL(install_sql(), migrations.RunSQL.noop)]
