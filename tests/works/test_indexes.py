"""The tables an import writes keep no index another one already serves: each is one more
write per imported row (a random-order one for most keys), and at a million works the
import's cost grew with them."""

from __future__ import annotations

import pytest
from django.db import connection

from graph.models import CoauthorEdge
from profiles.models import Researcher, ResearcherInstitution, ResearcherTopic
from works.models import Authorship, Work

IMPORTED_TABLES = [
    Work._meta.db_table,
    Work.topics.through._meta.db_table,
    Authorship._meta.db_table,
    Authorship.institutions.through._meta.db_table,
    Researcher._meta.db_table,
    ResearcherTopic._meta.db_table,
    ResearcherInstitution._meta.db_table,
    CoauthorEdge._meta.db_table,
]


def redundant_indexes(tables: list[str]) -> list[tuple[str, str, str]]:
    """(table, index, the index that covers it): a plain btree index (no included columns,
    predicate or expression) whose key columns and operator classes lead another btree
    index of the same table (without predicate or expression), or equal another one."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.indrelid::regclass::text, a.indexrelid::regclass::text,
                   b.indexrelid::regclass::text
            FROM pg_index a
            JOIN pg_index b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid
            JOIN pg_class ia ON ia.oid = a.indexrelid
            JOIN pg_class ib ON ib.oid = b.indexrelid
            WHERE a.indrelid::regclass::text = ANY(%s)
              AND ia.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')
              AND ib.relam = ia.relam
              AND NOT a.indisunique
              AND a.indnatts = a.indnkeyatts
              AND a.indpred IS NULL AND b.indpred IS NULL
              AND a.indexprs IS NULL AND b.indexprs IS NULL
              AND (b.indkey::text = a.indkey::text OR b.indkey::text LIKE a.indkey::text || ' %%')
              AND (b.indclass::text = a.indclass::text
                   OR b.indclass::text LIKE a.indclass::text || ' %%')
              AND (b.indkey::text <> a.indkey::text OR b.indisunique
                   OR a.indexrelid > b.indexrelid)
            ORDER BY 1, 2
            """,
            [tables],
        )
        return cursor.fetchall()


@pytest.mark.django_db
def test_the_imported_tables_have_no_redundant_index():
    assert redundant_indexes(IMPORTED_TABLES) == []


@pytest.mark.django_db
def test_the_check_finds_an_index_that_another_leads():
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE INDEX probe_researcher_only ON {Authorship._meta.db_table} (researcher_id)"
        )
    assert redundant_indexes([Authorship._meta.db_table]) == [
        (Authorship._meta.db_table, "probe_researcher_only", "authorship_researcher_idx")
    ]


@pytest.mark.django_db
def test_the_references_a_work_lists_carry_no_index():
    """Nothing looks works up by the works they cite: an index of them (some 25 ids a
    work) was most of what writing a work cost at a million works."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = %s::regclass AND a.attname = 'referenced_works'",
            [Work._meta.db_table],
        )
        assert cursor.fetchall() == []
