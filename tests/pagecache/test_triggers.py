"""The page-cache triggers keep their own planner settings: a bulk statement fired under
a session that turned hash joins off (the derived-data refresh does) still bumps the pages
it changed, with the trigger's transition tables joined by hash."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from bzpeer.pagecache.models import ContentVersion
from tests.factories import ResearcherFactory

pytestmark = pytest.mark.django_db


def test_every_trigger_function_plans_with_hash_and_merge_joins_allowed():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.proname, p.proconfig FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgname LIKE 'pagecache_%%' AND NOT t.tgisinternal"
        )
        functions = dict(cursor.fetchall())
    assert functions
    for name, config in functions.items():
        if name == "pagecache_rotate_epoch":
            continue  # TRUNCATE: no query to plan
        assert {"enable_hashjoin=on", "enable_mergejoin=on"} <= set(config or []), name


def test_an_update_under_hash_joins_turned_off_still_bumps_the_changed_researchers():
    people = ResearcherFactory.create_batch(3)
    before = dict(
        ContentVersion.objects.filter(kind="R", object_id__in=[p.pk for p in people]).values_list(
            "object_id", "version"
        )
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")
        cursor.execute(
            "UPDATE profiles_researcher SET works_count = works_count + 1 WHERE id = ANY(%s)",
            [[people[0].pk, people[1].pk]],
        )
    after = dict(
        ContentVersion.objects.filter(kind="R", object_id__in=[p.pk for p in people]).values_list(
            "object_id", "version"
        )
    )
    assert after[people[0].pk] != before.get(people[0].pk)
    assert after[people[1].pk] != before.get(people[1].pk)
    assert after.get(people[2].pk) == before.get(people[2].pk)
