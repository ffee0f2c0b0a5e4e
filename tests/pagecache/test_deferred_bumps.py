"""Deferred bumps (bzpeer.pagecache.bumps.defer_bumps): a bulk writer's page versions move
once, at the end of its block and inside its transaction, and the version rows are not
locked while the rest of the block runs (what let two importer processes wait on each
other for a whole batch)."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection, transaction

from bzpeer.pagecache.bumps import defer_bumps
from bzpeer.pagecache.models import ContentVersion
from tests.factories import ResearcherFactory
from tests.integration.conftest import test_database_url as database_url_for_tests


def versions(*researchers) -> dict[int, int]:
    return dict(
        ContentVersion.objects.filter(
            kind="R", object_id__in=[r.pk for r in researchers]
        ).values_list("object_id", "version")
    )


def rename(researcher, name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE profiles_researcher SET display_name = %s WHERE id = %s",
            [name, researcher.pk],
        )


@pytest.mark.django_db
def test_the_bumps_of_a_block_are_written_at_its_end_each_record_once():
    ada, bob, cy = ResearcherFactory.create_batch(3)
    before = versions(ada, bob, cy)
    with transaction.atomic():
        with defer_bumps():
            rename(ada, "Ada One")
            rename(ada, "Ada Two")
            rename(bob, "Bob One")
            assert versions(ada, bob, cy) == before  # collected, not written yet
        after = versions(ada, bob, cy)
        assert after[ada.pk] != before.get(ada.pk)
        assert after[bob.pk] != before.get(bob.pk)
        assert after.get(cy.pk) == before.get(cy.pk)
        # After the block the triggers bump at once again.
        rename(cy, "Cy One")
        assert versions(cy)[cy.pk] != before.get(cy.pk)


@pytest.mark.django_db
def test_a_block_that_fails_bumps_nothing_and_the_next_statement_bumps_normally():
    ada = ResearcherFactory()
    before = versions(ada)
    with pytest.raises(ZeroDivisionError), transaction.atomic(), defer_bumps():
        rename(ada, "Ada Rolled Back")
        1 / 0  # noqa: B018
    assert versions(ada) == before
    with transaction.atomic():
        rename(ada, "Ada Kept")
    assert versions(ada)[ada.pk] != before.get(ada.pk)


@pytest.mark.django_db(transaction=True)
def test_defer_bumps_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError), defer_bumps():
        pass


@pytest.mark.django_db(transaction=True)
def test_a_deferred_block_leaves_the_version_rows_free_for_another_writer():
    ada = ResearcherFactory()
    rename(ada, "Ada Committed")  # autocommit: her version row exists and is committed

    def version_row_is_free() -> bool:
        with psycopg.connect(database_url_for_tests(), autocommit=True) as other:
            try:
                other.execute(
                    "SELECT 1 FROM pagecache_contentversion WHERE kind = 'R' "
                    "AND object_id = %s FOR UPDATE NOWAIT",
                    [ada.pk],
                )
            except psycopg.errors.LockNotAvailable:
                return False
            return True

    with transaction.atomic():
        with defer_bumps():
            rename(ada, "Ada Deferred")
            assert version_row_is_free()
        assert not version_row_is_free()  # flushed: now held until the commit
    with transaction.atomic():
        rename(ada, "Ada Direct")
        assert not version_row_is_free()  # the plain trigger holds it from the write on
