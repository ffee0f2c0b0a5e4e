from __future__ import annotations

from django.db import migrations

from bzpeer.pagecache.triggers import install_sql

# Institution and topic triggers ignore their researcher counts (no cached page shows
# them): the counts refresh after an import no longer bumps every work page naming them.


class Migration(migrations.Migration):
    dependencies = [("pagecache", "0006_author_changes_through_the_index")]

    operations = [migrations.RunSQL(install_sql(), migrations.RunSQL.noop)]
