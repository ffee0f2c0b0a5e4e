import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

from works.title_search import FILL_SQL, install_sql, uninstall_sql

# Title search moves from an expression index on works_work to a narrow table kept by
# triggers (works.models.WorkTitleSearch). The triggers go in before the fill, in the same
# transaction: no write can fall between the two. The indexes are built after the fill
# (one bulk build each, not a million inserts).


class Migration(migrations.Migration):
    dependencies = [
        ("works", "0009_work_merged_into"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="work", name="work_title_fts"),
        migrations.CreateModel(
            name="WorkTitleSearch",
            fields=[
                (
                    "work",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="works.work",
                    ),
                ),
                ("document", django.contrib.postgres.search.SearchVectorField()),
                ("cited_by_count", models.PositiveIntegerField(null=True)),
                ("type", models.CharField(default="", max_length=64)),
                ("publication_year", models.PositiveSmallIntegerField(null=True)),
            ],
        ),
        migrations.RunSQL(install_sql(), uninstall_sql()),
        migrations.RunSQL(FILL_SQL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="worktitlesearch",
            index=django.contrib.postgres.indexes.GinIndex(
                condition=models.Q(("cited_by_count__gte", 10)),
                fields=["document"],
                gin_pending_list_limit=256,
                name="work_title_search_doc_0",
            ),
        ),
        migrations.AddIndex(
            model_name="worktitlesearch",
            index=django.contrib.postgres.indexes.GinIndex(
                condition=models.Q(("cited_by_count__gte", 1), ("cited_by_count__lt", 10)),
                fields=["document"],
                gin_pending_list_limit=256,
                name="work_title_search_doc_1",
            ),
        ),
        migrations.AddIndex(
            model_name="worktitlesearch",
            index=django.contrib.postgres.indexes.GinIndex(
                condition=models.Q(
                    ("cited_by_count__lt", 1), ("cited_by_count__isnull", True), _connector="OR"
                ),
                fields=["document"],
                gin_pending_list_limit=256,
                name="work_title_search_doc_2",
            ),
        ),
    ]
