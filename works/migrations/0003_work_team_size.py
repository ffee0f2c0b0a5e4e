from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("works", "0002_work_type_choices"),
    ]

    operations = [
        migrations.AddField(
            model_name="work",
            name="team_size",
            field=models.PositiveIntegerField(default=0),
        ),
        # Stored authorships are one per distinct resolved author already; works without
        # any (built by hand) keep their listed count.
        migrations.RunSQL(
            """
            UPDATE works_work w SET team_size = COALESCE(
                (SELECT NULLIF(COUNT(*), 0) FROM works_authorship a WHERE a.work_id = w.id),
                w.authors_count)
            """,
            migrations.RunSQL.noop,
        ),
    ]
