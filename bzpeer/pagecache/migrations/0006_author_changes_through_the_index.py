from __future__ import annotations

from django.db import migrations

from bzpeer.pagecache.triggers import install_sql

# The researcher trigger finds the records whose name or visibility changed before reading
# their authorships (through the index), so rewriting many records' figures no longer
# reads the whole authorship table twice.


class Migration(migrations.Migration):
    dependencies = [("pagecache", "0005_trigger_planner_settings")]

    operations = [migrations.RunSQL(install_sql(), migrations.RunSQL.noop)]
