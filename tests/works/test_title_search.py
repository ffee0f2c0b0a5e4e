"""The title search table follows works_work: every writer (ORM, plain UPDATE, the importer,
curation), in the writing transaction."""

from __future__ import annotations

import copy

import pytest
from django.db import connection

from bzpeer.curation.services import hide_works, merge_works
from bzpeer.search.params import Filters, SearchInput
from bzpeer.search.queries import search_works
from tests.factories import WorkFactory
from tests.works.conftest import DEMO_WORKS_PATH, demo_record, run_command
from tests.works.conftest import write_jsonl as write
from works import title_search
from works.models import Work, WorkTitleSearch

pytestmark = pytest.mark.django_db

LLAMA = "https://openalex.org/W4322718191"


@pytest.fixture
def curator(django_user_model):
    return django_user_model.objects.create_superuser(username="curator", email="c@example.org")


def mismatches() -> list[tuple]:
    """Works whose row is missing, stale or should not exist (a hidden work), and rows of
    no work: empty when the table is current."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT w.id, s.work_id FROM works_work w
            FULL JOIN {WorkTitleSearch._meta.db_table} s ON s.work_id = w.id
            WHERE w.id IS NULL
               OR (w.is_hidden AND s.work_id IS NOT NULL)
               OR (NOT w.is_hidden AND (
                   s.work_id IS NULL
                   OR s.document IS DISTINCT FROM
                      to_tsvector('bzpeer_english', COALESCE(w.title, ''))
                   OR (s.cited_by_count, s.type, s.publication_year)
                      IS DISTINCT FROM (w.cited_by_count, w.type, w.publication_year)))
            """
        )
        return cursor.fetchall()


def row_version(work: Work) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT xmin::text::bigint FROM {WorkTitleSearch._meta.db_table} WHERE work_id = %s",
            [work.pk],
        )
        return cursor.fetchone()[0]


def found(query: str) -> list[int]:
    return [w.pk for w in search_works(SearchInput(query=query, filters=Filters())).ranked.items]


def test_orm_writes_keep_the_row_current():
    work = WorkFactory(title="Graph kernels for clinical notes", cited_by_count=3)
    assert WorkTitleSearch.objects.filter(work=work).exists()
    assert found("clinical graph") == [work.pk]

    work.title = "Sparse attention in proteins"
    work.cited_by_count = 40
    work.save()
    assert found("clinical graph") == [] and found("protein") == [work.pk]

    Work.objects.filter(pk=work.pk).update(is_hidden=True)  # a plain UPDATE
    assert not WorkTitleSearch.objects.filter(work=work).exists()
    assert found("protein") == []

    Work.objects.filter(pk=work.pk).update(is_hidden=False)
    assert found("protein") == [work.pk]

    work.delete()
    assert not WorkTitleSearch.objects.exists()
    assert mismatches() == []


def test_a_change_of_other_columns_rewrites_no_row():
    work = WorkFactory(title="Graph kernels")
    before = row_version(work)

    Work.objects.filter(pk=work.pk).update(abstract="Longer now.", authors_count=7)

    assert row_version(work) == before


def test_bulk_statements_keep_every_row_current():
    works = WorkFactory.create_batch(5, title="Aerosol blockchain")
    Work.objects.bulk_create(
        [Work(source_id=f"urn:bzpeer:test:bulk{i}", title=f"Proof network {i}") for i in range(3)]
    )
    Work.objects.filter(pk__in=[w.pk for w in works[:2]]).update(title="Proof of work")
    Work.objects.filter(pk=works[2].pk).update(is_hidden=True)
    Work.objects.filter(pk=works[3].pk).delete()

    assert mismatches() == []
    assert WorkTitleSearch.objects.count() == 6


def test_the_importer_keeps_the_rows_current(tmp_path, hook_calls):
    record = copy.deepcopy(demo_record(DEMO_WORKS_PATH, LLAMA))
    record["updated_date"] = "2025-01-01T00:00:00"
    run_command(DEMO_WORKS_PATH)
    assert mismatches() == []
    assert WorkTitleSearch.objects.count() == Work.objects.filter(is_hidden=False).count() > 100
    llama = Work.objects.get(source_id=LLAMA)
    assert llama.pk in found("llama open")

    newer = dict(record, updated_date="2026-06-01T00:00:00", title="Camelid gazetteer")
    result = run_command(write(tmp_path / "newer.jsonl", [newer]))  # INSERT ... ON CONFLICT

    assert result.error is None, result.stderr
    assert mismatches() == []
    assert found("camelid gazetteer") == [llama.pk]
    assert llama.pk not in found("llama open")


def test_hiding_and_merging_through_curation_take_works_out(curator):
    kept, hidden, merged = WorkFactory.create_batch(3, title="Proof network")

    hide_works(works=[hidden], curator=curator)
    merge_works(old=merged, survivor=kept, curator=curator)

    assert found("proof network") == [kept.pk]
    assert mismatches() == []
    hide_works(works=[hidden], curator=curator, hidden=False)
    assert sorted(found("proof network")) == sorted([kept.pk, hidden.pk])


def test_fill_writes_what_the_triggers_would_have():
    works = WorkFactory.create_batch(3, title="Graph clinical")
    with connection.cursor() as cursor:
        # A load with triggers off (the benchmark corpus): no row written.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(f"DELETE FROM {WorkTitleSearch._meta.db_table}")
        cursor.execute("UPDATE works_work SET is_hidden = true WHERE id = %s", [works[0].pk])
        cursor.execute("SET session_replication_role = DEFAULT")
    assert mismatches() != []

    title_search.fill()

    assert mismatches() == []
    assert WorkTitleSearch.objects.count() == 2


def test_candidates_are_read_from_the_most_cited_tier_first():
    rare = WorkFactory(title="Graph clinical", cited_by_count=1)
    unknown = WorkFactory(title="Graph clinical", cited_by_count=None)
    cited = [WorkFactory(title="Graph clinical", cited_by_count=n) for n in (50, 500)]
    query = SearchInput(query="graph clinical", filters=Filters())

    # A cap of one reads two (one more than the cap tells that there are more): both
    # from the first tier (ten citations or more), written last; ranked by citations.
    first = search_works(query, candidates=1).ranked
    assert [w.pk for w in first.items] == [cited[1].pk, cited[0].pk]
    assert first.total == 2
    # A larger cap goes on to the next tiers.
    every = search_works(query, candidates=10).ranked
    assert [w.pk for w in every.items] == [cited[1].pk, cited[0].pk, rare.pk, unknown.pk]
    assert every.total == 4
