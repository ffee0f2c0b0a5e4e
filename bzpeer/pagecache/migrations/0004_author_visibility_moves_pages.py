from __future__ import annotations

from django.db import migrations

from bzpeer.pagecache.triggers import install_sql

# A researcher hidden, shown again or merged now also moves the work pages that name them
# (an author is linked while their record is public), as a new name did: a cached work
# page never keeps a link to a record that answers 410.


class Migration(migrations.Migration):
    dependencies = [
        ("pagecache", "0003_record_pages"),
        ("profiles", "0008_merge_0007_merge_search_0007_researcher_privacy"),
    ]

    operations = [migrations.RunSQL(install_sql(), migrations.RunSQL.noop)]
