from __future__ import annotations

from django.db import migrations

# The session engine (bzpeer/sessions.py) reads a session and its user in one statement:
# the session row names its user in a column of its own, written whenever it is saved.
# A session saved before has none (its user is read by a second query until its next
# save). The index serves ending every session of an account (privacy.services).


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0001_initial"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            [
                "ALTER TABLE django_session ADD COLUMN user_id bigint",
                "CREATE INDEX django_session_user_id ON django_session (user_id)"
                " WHERE user_id IS NOT NULL",
            ],
            [
                "DROP INDEX django_session_user_id",
                "ALTER TABLE django_session DROP COLUMN user_id",
            ],
        )
    ]
