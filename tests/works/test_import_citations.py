"""The importer keeps the citation figures of works and authors (absent is not zero)."""

from __future__ import annotations

import pytest

from profiles.models import Researcher
from tests.works.conftest import DATA, OPENALEX_DEMO, SEED, demo_records, run_command, write_jsonl
from works.importer.records import BadRecord, parse_record
from works.models import Work

pytestmark = pytest.mark.django_db


def test_current_schema_counts_and_summary_stats_are_kept():
    assert run_command(OPENALEX_DEMO).error is None
    for record in demo_records(OPENALEX_DEMO / "works.jsonl.gz")[:20]:
        work = Work.objects.get(source_id=record["id"])
        assert work.cited_by_count == record["cited_by_count"]
        expected = sorted(
            (
                {"year": row["year"], "cited_by_count": row["cited_by_count"]}
                for row in record["counts_by_year"]
            ),
            key=lambda row: row["year"],
        )
        assert work.counts_by_year == expected
        assert work.imported_at is not None and work.first_imported_at is not None
    for record in demo_records(OPENALEX_DEMO / "authors.jsonl.gz")[:20]:
        author = Researcher.objects.get(source_id=record["id"])
        assert author.source_cited_by_count == record["cited_by_count"]
        assert author.source_summary_stats == {
            key: record["summary_stats"][key]
            for key in ("h_index", "i10_index", "2yr_mean_citedness")
            if record["summary_stats"].get(key) is not None
        }
        years = [row["year"] for row in author.source_counts_by_year]
        assert years == sorted(row["year"] for row in record["counts_by_year"])
        assert author.imported_at is not None


def test_absent_figures_stay_absent_and_empty_lists_stay_empty():
    assert run_command(SEED, DATA / "older_schema.jsonl").error is None
    seed_work = Work.objects.get(source_id="urn:bzpeer:seed:W1")
    assert (seed_work.cited_by_count, seed_work.counts_by_year) == (None, None)
    seed_author = Researcher.objects.get(source_id="urn:bzpeer:seed:A1")
    assert seed_author.source_summary_stats is None
    assert seed_author.source_counts_by_year is None
    older = Work.objects.get(source_id="https://openalex.org/W900000002")
    assert (older.cited_by_count, older.counts_by_year) == (3, [])
    older_author = Researcher.objects.get(source_id="https://openalex.org/A900000003")
    assert older_author.source_cited_by_count == 3
    assert older_author.source_summary_stats is None


def test_reimport_keeps_the_first_import_time(tmp_path):
    record = demo_records(OPENALEX_DEMO / "works.jsonl.gz")[0]
    path = write_jsonl(tmp_path / "w.jsonl", [record])
    run_command(path)
    first = Work.objects.get(source_id=record["id"])
    changed = {**record, "cited_by_count": record["cited_by_count"] + 1}
    run_command(write_jsonl(tmp_path / "w2.jsonl", [changed]))
    again = Work.objects.get(source_id=record["id"])
    assert again.first_imported_at == first.first_imported_at
    assert again.imported_at > first.imported_at
    assert again.cited_by_count == record["cited_by_count"] + 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("counts_by_year", {"year": 2020}, "counts_by_year must be a list"),
        ("counts_by_year", [{"cited_by_count": 3}], "counts_by_year[0].year must be a year"),
        ("counts_by_year", [{"year": 2020, "cited_by_count": "3"}], "cited_by_count must be"),
        ("summary_stats", {"h_index": "high"}, "summary_stats.h_index must be a number"),
        ("summary_stats", {"h_index": 2.5}, "summary_stats.h_index must be a whole number"),
    ],
)
def test_malformed_figures_make_a_bad_record(field, value, message):
    record = {"id": "https://openalex.org/A1", "display_name": "X", field: value}
    with pytest.raises(BadRecord, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_record(record)
