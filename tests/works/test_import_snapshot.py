"""Importing an OpenAlex snapshot tree: manifests, recorded parts, resume after a kill,
parallel workers, merged ids, and incremental edges against a full rebuild."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from graph.bench.corpus import Corpus, Scale
from graph.bench.snapshot import write_snapshot
from graph.edges import rebuild_all_coauthor_edges
from graph.models import CoauthorEdge
from profiles.models import Researcher, ResearcherTopic
from tests.waiting import wait_until
from tests.works.conftest import DEMO_WORKS_PATH, demo_records, run_command, write_jsonl
from works.models import Authorship, ImportedPart, Institution, TouchedResearcher, Work

CORPUS_WORKS = 1_200


@pytest.fixture(scope="module")
def snapshot_root(tmp_path_factory) -> Path:
    """A small OpenAlex-shaped snapshot (the benchmark generator): works in parts of 200."""
    base = tmp_path_factory.mktemp("snapshot")
    corpus = Corpus(Scale.for_works(CORPUS_WORKS), base)
    corpus.generate()
    write_snapshot(corpus, base / "root", works_per_part=200, others_per_part=300)
    return base / "root"


def values() -> dict[str, object]:
    """What an import leaves, keyed by source ids (row ids differ between runs)."""
    return {
        "works": sorted(
            Work.objects.values_list(
                "source_id", "title", "abstract", "team_size", "venue__source_id"
            )
        ),
        "authorships": sorted(
            Authorship.objects.values_list(
                "work__source_id", "researcher__source_id", "order", "author_position"
            )
        ),
        "institution links": sorted(
            Authorship.institutions.through.objects.values_list(
                "authorship__work__source_id",
                "authorship__researcher__source_id",
                "institution__source_id",
            )
        ),
        "topic links": sorted(
            Work.topics.through.objects.values_list("work__source_id", "topic__source_id")
        ),
        "researchers": sorted(
            Researcher.objects.values_list(
                "source_id",
                "display_name",
                "is_stub",
                "works_count",
                "topics_count",
                "close_collaborators_count",
            )
        ),
        "researcher topics": sorted(
            ResearcherTopic.objects.values_list(
                "researcher__source_id", "topic__source_id", "works_count"
            )
        ),
        "edges": sorted(
            CoauthorEdge.objects.values_list(
                "researcher__source_id",
                "coauthor__source_id",
                "shared_works",
                "smallest_team",
                "is_close",
            )
        ),
        "institutions": Institution.objects.count(),
    }


def wipe() -> None:
    tables = [
        CoauthorEdge,
        ResearcherTopic,
        Authorship.institutions.through,
        Authorship,
        Work.topics.through,
        Work,
        Researcher,
        Institution,
        ImportedPart,
        TouchedResearcher,
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {', '.join(m._meta.db_table for m in tables)}, works_source, works_topic "
            "CASCADE"
        )


def subprocess_env() -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bzpeer.settings"}


# --- manifest and recorded parts ----------------------------------------------------------------


def write_merged_ids(root, entity: str, old, *, into) -> None:
    """An OpenAlex merged-ids list (data/merged_ids/<entity>/<date>.csv.gz) saying that
    `old` was merged into `into` (records with OpenAlex source ids)."""
    folder = root / "data" / "merged_ids" / entity
    folder.mkdir(parents=True)
    key = old.source_id.rsplit("/", 1)[1]
    survivor = into.source_id.rsplit("/", 1)[1]
    (folder / "2025-01-02.csv.gz").write_bytes(
        gzip.compress(f"merge_date,id,merge_into_id\n2025-01-02,{key},{survivor}\n".encode())
    )


@pytest.mark.django_db
def test_a_rerun_skips_every_recorded_part(snapshot_root, hook_calls):
    first = run_command(snapshot_root)
    assert first.error is None, first.stderr
    parts = ImportedPart.objects.count()
    assert parts == len(list(snapshot_root.glob("data/*/updated_date=*/*.gz")))
    assert Work.objects.count() == CORPUS_WORKS

    second = run_command(snapshot_root)

    assert second.error is None, second.stderr
    assert f"Parts: 0 imported, {parts} skipped (imported before) of {parts}." in second.stdout
    assert "Read 0 record(s)" in second.stdout


@pytest.mark.django_db
def test_a_part_that_disagrees_with_its_manifest_is_reported_and_the_rest_imported(
    tmp_path, hook_calls
):
    works = tmp_path / "data" / "works"
    parts = works / "updated_date=2025-02-01"
    parts.mkdir(parents=True)
    records = demo_records(DEMO_WORKS_PATH)
    write_jsonl(parts / "part_000.gz", records[:10], gzipped=True)
    write_jsonl(parts / "part_001.gz", records[10:20], gzipped=True)
    manifest = {
        "entries": [
            {
                "url": "s3://openalex/data/works/updated_date=2025-02-01/part_000.gz",
                "meta": {"record_count": 10},
            },
            {
                "url": "s3://openalex/data/works/updated_date=2025-02-01/part_001.gz",
                "meta": {"record_count": 12},
            },
            {
                "url": "s3://openalex/data/works/updated_date=2025-02-01/part_002.gz",
                "meta": {"record_count": 5},
            },
        ]
    }
    (works / "manifest").write_text(json.dumps(manifest))

    result = run_command(tmp_path)

    assert result.error is not None and "disagree with their manifest" in result.error
    assert "part_001.gz: 10 record(s) read, the manifest says 12" in result.stderr
    assert "works/updated_date=2025-02-01/part_002.gz: listed in the manifest, not on disk" in (
        result.stderr
    )
    assert Work.objects.count() == 20  # both parts' records are in
    assert list(ImportedPart.objects.values_list("path", flat=True)) == [
        "data/works/updated_date=2025-02-01/part_000.gz"
    ]


@pytest.mark.django_db
def test_a_newer_partition_is_imported_alone(tmp_path, hook_calls):
    records = demo_records(DEMO_WORKS_PATH)
    older = tmp_path / "data" / "works" / "updated_date=2025-01-01"
    older.mkdir(parents=True)
    write_jsonl(older / "part_000.gz", records[:5], gzipped=True)
    run_command(tmp_path)
    newer = tmp_path / "data" / "works" / "updated_date=2025-03-01"
    newer.mkdir()
    write_jsonl(newer / "part_000.gz", records[5:8], gzipped=True)

    result = run_command(tmp_path)

    assert "Parts: 1 imported, 1 skipped (imported before) of 2." in result.stdout
    assert "Read 3 record(s) from 1 file(s)" in result.stdout
    assert Work.objects.count() == 8


# --- resume after a kill ------------------------------------------------------------------------


def _kill_when(root: Path, ready, *, batch_size: int = 20) -> None:
    """Run the import in a subprocess and SIGKILL it once `ready()` sees the state wanted."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_openalex", str(root), f"--batch-size={batch_size}"],
        cwd=settings.BASE_DIR,
        env={**subprocess_env(), "PGAPPNAME": KILLED_IMPORT},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def reached() -> bool:
        assert process.poll() is None, "the import finished before the state was reached"
        return bool(ready())

    try:
        wait_until(reached, timeout=120, interval=0.02, what="the state to kill the import at")
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
        _end_backends_of_the_killed_import()


# A killed client's Postgres backend lives on until it notices the closed socket, holding
# its locks; the rerun (and the test database's flush afterwards) would wait on them or
# deadlock. End it and wait until it is gone, as a supervisor would.
KILLED_IMPORT = "bzpeer-killed-import"


def _end_backends_of_the_killed_import() -> None:
    def gone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                [KILLED_IMPORT],
            )
            return cursor.fetchone()[0] == 0

    wait_until(gone, timeout=30, interval=0.05, what="the killed import's backend to end")


def _works_parts_done() -> int:
    return ImportedPart.objects.filter(entity="works").count()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["part boundary", "mid-part"])
def test_a_killed_import_resumes_and_matches_an_uninterrupted_one(snapshot_root, where):
    run_command(snapshot_root)
    expected = values()
    wipe()

    if where == "part boundary":
        _kill_when(snapshot_root, lambda: _works_parts_done() >= 2)
    else:
        # Some works of the third part are in, the part itself is not recorded yet.
        _kill_when(snapshot_root, lambda: Work.objects.count() > 2 * 200 + 40)
        assert _works_parts_done() < 3
    assert Work.objects.count() < CORPUS_WORKS
    # What the killed run committed waits in the durable touched set.
    assert TouchedResearcher.objects.exists()

    result = run_command(snapshot_root)

    assert result.error is None, result.stderr
    assert values() == expected
    assert not TouchedResearcher.objects.exists()
    wipe()


# --- parallel workers ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_overlapping_records_give_the_same_result_as_one(snapshot_root, tmp_path):
    # Every works part shares co-authors, institutions and topics with the others; one part
    # is also copied whole under a second name, so both workers write the same records.
    overlapped = tmp_path / "root"
    subprocess.run(["cp", "-r", str(snapshot_root), str(overlapped)], check=True)
    first = sorted(overlapped.glob("data/works/updated_date=*/part_000.gz"))[0]
    (first.parent / "part_900.gz").write_bytes(first.read_bytes())
    run_command(overlapped)
    expected = values()
    wipe()

    result = run_command(overlapped, workers=2)

    assert result.error is None, result.stderr
    assert values() == expected
    wipe()


# --- merged ids ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_merged_author_ids_merge_the_records_through_the_curation_service(
    tmp_path, client, admin_user
):
    records = demo_records(DEMO_WORKS_PATH)
    parts = tmp_path / "data" / "works" / "updated_date=2025-01-01"
    parts.mkdir(parents=True)
    write_jsonl(parts / "part_000.gz", records[:30], gzipped=True)
    run_command(tmp_path)
    # Two researchers who never shared a work: OpenAlex says the first is the second.
    people = list(Researcher.objects.filter(works_count__gt=0).order_by("pk"))
    first = people[0]
    first_works = set(first.authorships.values_list("work_id", flat=True))
    second = next(
        p
        for p in people[1:]
        if not first_works & set(p.authorships.values_list("work_id", flat=True))
    )
    expected_works = first.works_count + second.works_count
    write_merged_ids(tmp_path, "authors", first, into=second)

    without = run_command(tmp_path)
    assert "1 author or work list(s) not applied (give --curator)" in without.stdout
    result = run_command(tmp_path, curator=admin_user.username)

    assert result.error is None, result.stderr
    assert "Merged ids: 1 author(s) and 0 work(s) merged from 1 list(s)" in result.stdout
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.merged_into_id == second.pk
    assert second.works_count == expected_works
    response = client.get(first.get_absolute_url())
    assert response.status_code in (301, 302)
    assert response["Location"].endswith(second.get_absolute_url())
    # Applied once: the list is recorded.
    again = run_command(tmp_path, curator=admin_user.username)
    assert "Merged ids: none new." in again.stdout


@pytest.mark.django_db
def test_merged_work_ids_merge_the_works_through_the_curation_service(tmp_path, client, admin_user):
    from django.urls import reverse

    records = demo_records(DEMO_WORKS_PATH)
    parts = tmp_path / "data" / "works" / "updated_date=2025-01-01"
    parts.mkdir(parents=True)
    write_jsonl(parts / "part_000.gz", records[:30], gzipped=True)
    run_command(tmp_path)
    # OpenAlex says the first work is a second record of another one with other authors.
    works = list(Work.objects.filter(authorships__isnull=False).distinct().order_by("pk"))
    old = works[0]
    old_authors = set(old.authorships.exclude(researcher=None).values_list("researcher", flat=True))
    survivor = next(
        w
        for w in works[1:]
        if not old_authors & set(w.authorships.values_list("researcher", flat=True))
    )
    author = Researcher.objects.get(pk=min(old_authors))
    counts_before = author.works_count
    write_merged_ids(tmp_path, "works", old, into=survivor)

    result = run_command(tmp_path, curator=admin_user.username)

    assert result.error is None, result.stderr
    assert "Merged ids: 0 author(s) and 1 work(s) merged from 1 list(s)" in result.stdout
    old.refresh_from_db()
    assert old.merged_into_id == survivor.pk
    assert not old.authorships.exists()
    assert old_authors <= set(survivor.authorships.values_list("researcher", flat=True))
    author.refresh_from_db()
    assert author.works_count == counts_before  # the same work, listed once, as the survivor
    response = client.get(old.get_absolute_url())
    assert response.status_code == 301
    assert response["Location"] == survivor.get_absolute_url()
    # Off the lists: the author's works list and the sitemap name only the survivor.
    profile = client.get(author.get_absolute_url()).content.decode()
    assert survivor.get_absolute_url() in profile
    assert f'href="{old.get_absolute_url()}"' not in profile
    sitemap = client.get(reverse("sitemap_section", args=["works"])).content.decode()
    assert old.get_absolute_url() not in sitemap
    # Applied once: a rerun finds nothing new and changes nothing.
    again = run_command(tmp_path, curator=admin_user.username)
    assert again.error is None, again.stderr
    assert "Merged ids: none new." in again.stdout
    old.refresh_from_db()
    assert old.merged_into_id == survivor.pk
    author.refresh_from_db()
    assert author.works_count == counts_before


# --- incremental edges against a full rebuild -----------------------------------------------------


@pytest.mark.django_db
def test_incremental_edges_after_imports_equal_a_full_rebuild_on_real_records(tmp_path):
    records = demo_records(DEMO_WORKS_PATH)
    run_command(write_jsonl(tmp_path / "a.jsonl", records[:80]))
    run_command(write_jsonl(tmp_path / "b.jsonl", records[60:]))
    changed = records[70]
    changed["authorships"] = changed["authorships"][: max(1, len(changed["authorships"]) // 2)]
    changed["updated_date"] = "2099-01-01T00:00:00"
    run_command(write_jsonl(tmp_path / "c.jsonl", [changed]))
    incremental = values()

    rebuild_all_coauthor_edges()

    assert values() == incremental
    assert CoauthorEdge.objects.count() > 1000


# --- the beat task ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_beat_task_imports_new_partitions_of_the_configured_snapshot(
    tmp_path, settings, hook_calls
):
    from bzpeer.curation.tasks import import_openalex_snapshot

    settings.OPENALEX_SNAPSHOT_DIR = ""
    assert "not set" in import_openalex_snapshot()
    parts = tmp_path / "data" / "works" / "updated_date=2025-01-01"
    parts.mkdir(parents=True)
    write_jsonl(parts / "part_000.gz", demo_records(DEMO_WORKS_PATH)[:5], gzipped=True)
    settings.OPENALEX_SNAPSHOT_DIR = str(tmp_path)

    first = import_openalex_snapshot()
    second = import_openalex_snapshot()

    assert "Parts: 1 imported" in first
    assert "Parts: 0 imported, 1 skipped" in second
    assert Work.objects.count() == 5


@pytest.mark.django_db
def test_a_long_import_analyses_the_tables_between_parts(snapshot_root, hook_calls, monkeypatch):
    """Not only at its end: with autovacuum off the planner would otherwise plan every batch
    from the statistics of the tables before the import."""
    from works.importer import service

    total_parts = len(list(snapshot_root.glob("data/*/updated_date=*/*.gz")))
    seen: list[tuple[int, float]] = []
    analyse = service.analyze_changed_tables

    def analyse_and_look() -> None:
        analyse()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Work._meta.db_table]
            )
            seen.append((ImportedPart.objects.count(), cursor.fetchone()[0]))

    monkeypatch.setattr(service, "ANALYZE_AFTER_RECORDS", 300)
    monkeypatch.setattr(service, "analyze_changed_tables", analyse_and_look)

    assert run_command(snapshot_root).error is None

    during = [(parts, works) for parts, works in seen if parts < total_parts]
    assert len(during) >= 2
    # An analysis between two works parts counted the works imported so far.
    assert any(0 < works < CORPUS_WORKS for _, works in during)


def test_the_tables_are_analysed_each_time_the_import_grows_by_half(monkeypatch):
    from works.importer import service

    calls: list[int] = []
    growth = service.AnalyzeAsTablesGrow()
    monkeypatch.setattr(service, "ANALYZE_AFTER_RECORDS", 10)
    monkeypatch.setattr(service, "analyze_changed_tables", lambda: calls.append(growth.imported))

    done = [growth.add(n) for n in (5, 5, 4, 6, 10, 10, 5)]

    assert done == [False, True, False, True, True, False, True]
    assert calls == [10, 20, 30, 45]


def test_the_end_of_an_import_analyses_only_what_came_since_the_last_analysis(monkeypatch):
    from works.importer import service

    calls: list[int] = []
    monkeypatch.setattr(service, "ANALYZE_AFTER_RECORDS", 10)
    monkeypatch.setattr(service, "analyze_changed_tables", lambda: calls.append(1))
    analysed_last = service.AnalyzeAsTablesGrow()
    analysed_last.add(10)
    more_since = service.AnalyzeAsTablesGrow()
    more_since.add(10)
    more_since.add(3)
    too_small = service.AnalyzeAsTablesGrow()
    too_small.add(9)

    assert [analysed_last.finish(), more_since.finish(), too_small.finish()] == [
        False,
        True,
        False,
    ]
    assert len(calls) == 3  # two during the imports, one at the end of `more_since`


@pytest.mark.django_db
def test_an_import_whose_last_file_was_analysed_is_not_analysed_again(
    tmp_path, hook_calls, monkeypatch
):
    from works.importer import service

    calls: list[int] = []
    monkeypatch.setattr(service, "ANALYZE_AFTER_RECORDS", 20)
    monkeypatch.setattr(
        service, "analyze_changed_tables", lambda: calls.append(Work.objects.count())
    )
    records = demo_records(DEMO_WORKS_PATH)

    result = run_command(
        write_jsonl(tmp_path / "a.jsonl", records[:20]),
        write_jsonl(tmp_path / "b.jsonl", records[20:40]),
    )

    # Analysed after each file (20 records, then 20 more: as many again); the second
    # analysis was the end's, not followed by a third with nothing new to see.
    assert result.error is None
    assert calls == [20, 40]
