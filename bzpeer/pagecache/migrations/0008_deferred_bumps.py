from __future__ import annotations

from django.db import migrations

from bzpeer.pagecache.triggers import install_sql

# pagecache_bump can collect its bumps for a bulk writer (pagecache.defer_bumps), which
# writes them once before it commits: pagecache_flush_deferred_bumps.


class Migration(migrations.Migration):
    dependencies = [("pagecache", "0007_counts_move_no_pages")]

    operations = [migrations.RunSQL(install_sql(), migrations.RunSQL.noop)]
