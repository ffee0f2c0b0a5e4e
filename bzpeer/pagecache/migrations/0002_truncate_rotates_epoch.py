from __future__ import annotations

from django.db import migrations

from bzpeer.pagecache.triggers import truncate_sql, truncate_uninstall_sql


class Migration(migrations.Migration):
    dependencies = [("pagecache", "0001_initial")]

    operations = [migrations.RunSQL(truncate_sql(), truncate_uninstall_sql())]
