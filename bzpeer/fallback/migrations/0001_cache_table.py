from __future__ import annotations

from django.db import migrations

# The schema of Django's database cache (createcachetable), unlogged: it holds only
# short-lived counters, so crash safety and WAL traffic buy nothing.
SQL = """
CREATE UNLOGGED TABLE IF NOT EXISTS bzpeer_cache_fallback (
    cache_key varchar(255) NOT NULL PRIMARY KEY,
    value text NOT NULL,
    expires timestamp with time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS bzpeer_cache_fallback_expires ON bzpeer_cache_fallback (expires);
"""


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations = [
        migrations.RunSQL(SQL, reverse_sql="DROP TABLE IF EXISTS bzpeer_cache_fallback;"),
    ]
