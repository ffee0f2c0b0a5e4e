from __future__ import annotations

from django.db import migrations

from bzpeer.pagecache.triggers import install_sql

# The trigger functions plan with hash and merge joins allowed, whatever the firing
# statement's session turned off (CREATE OR REPLACE: the same functions, new settings).


class Migration(migrations.Migration):
    dependencies = [("pagecache", "0004_author_visibility_moves_pages")]

    operations = [migrations.RunSQL(install_sql(), migrations.RunSQL.noop)]
