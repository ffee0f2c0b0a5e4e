"""Input edges and fidelity problems found on real OpenAlex records, each fixed in the importer."""

from __future__ import annotations

import copy
import gzip
import json

import pytest
from django.db import connection

from bzpeer.curation.importing import import_openalex
from graph.models import CoauthorEdge
from profiles.models import Researcher
from tests.works.conftest import DEMO, DEMO_WORKS_PATH, demo_record, run_command, write_jsonl
from works.importer import service as importer_service
from works.importer.normalize import plain_text
from works.models import Authorship, TouchedResearcher, TouchedWork, Work

pytestmark = pytest.mark.django_db

LLAMA = "https://openalex.org/W4322718191"


def _inverted(text: str) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for position, word in enumerate(text.split()):
        index.setdefault(word, []).append(position)
    return index


# --- text -------------------------------------------------------------------------------------


def test_literal_less_than_in_text_is_kept():
    assert plain_text("values x<y and more") == "values x<y and more"
    assert plain_text("ranged from <LOD to 12 ng/g") == "ranged from <LOD to 12 ng/g"
    assert plain_text("p<0.05 <i>in vivo</i> H<sub>2</sub>O") == "p<0.05 in vivo H2O"
    # Known markup is still stripped, namespaced or not.
    assert plain_text("<jats:p>Rates<jats:sup>2</jats:sup></jats:p>") == "Rates2"


def test_abstract_with_a_literal_less_than_keeps_everything_after_it(tmp_path, hook_calls):
    record = demo_record(DEMO_WORKS_PATH, LLAMA)
    text = "Concentrations ranged from <LOD to 12 ng/g and values x<y held in every sample ."
    record["abstract_inverted_index"] = _inverted(text)

    result = run_command(write_jsonl(tmp_path / "work.jsonl", [record]))

    assert result.error is None, result.stderr
    assert Work.objects.get(source_id=LLAMA).abstract == text


# --- team size ----------------------------------------------------------------------------------


def _work_with_unresolved_entries() -> dict:
    """LLaMA's record with entries OpenAlex parsed from affiliation strings and reference
    lists (no author), the placeholder author, and one person listed twice."""
    record = demo_record(DEMO_WORKS_PATH, LLAMA)
    resolved = record["authorships"][:4]
    junk = [
        {"author": {}, "institutions": [], "raw_author_name": f"Department of Things {i}"}
        for i in range(50)
    ]
    placeholder = {
        "author": {"id": "https://openalex.org/A9999999999", "display_name": "Unknown"},
        "institutions": [],
        "raw_author_name": "et al.",
    }
    record["authorships"] = [*resolved, *junk, placeholder, copy.deepcopy(resolved[1])]
    return record


def test_team_size_counts_distinct_resolved_authors_and_keeps_the_entry_count(tmp_path, hook_calls):
    record = _work_with_unresolved_entries()

    result = run_command(write_jsonl(tmp_path / "work.jsonl", [record]))

    assert result.error is None, result.stderr
    work = Work.objects.get(source_id=LLAMA)
    assert work.authors_count == 56  # every entry the record lists
    assert work.team_size == 4
    assert work.authorships.count() == 4


def test_close_collaborators_follow_the_resolved_team(tmp_path):
    # No monkeypatch: the real refresh builds the edges.
    record = _work_with_unresolved_entries()

    run_command(write_jsonl(tmp_path / "work.jsonl", [record]))

    first = Researcher.objects.get(source_id=record["authorships"][0]["author"]["id"])
    edges = CoauthorEdge.objects.filter(researcher=first)
    assert edges.count() == 3
    # One shared work with a team of 4 (not 56): each of them is a close collaborator.
    assert all(edge.is_close and edge.smallest_team == 4 for edge in edges)
    first.refresh_from_db()
    assert first.close_collaborators_count == 3


# --- input edges ------------------------------------------------------------------------------


def test_merged_id_lists_in_a_snapshot_folder_are_not_read_as_json(tmp_path, hook_calls):
    part = tmp_path / "data" / "works" / "updated_date=2025-01-01" / "part_000.gz"
    part.parent.mkdir(parents=True)
    write_jsonl(part, [demo_record(DEMO_WORKS_PATH, LLAMA)], gzipped=True)
    merged = tmp_path / "data" / "merged_ids" / "authors" / "2025-01-02.csv.gz"
    merged.parent.mkdir(parents=True)
    merged.write_bytes(gzip.compress(b"merge_date,id,merge_into_id\n"))

    result = run_command(tmp_path)

    assert result.error is None, result.stderr
    assert "from 1 file(s): 0 bad" in result.stdout
    assert Work.objects.filter(source_id=LLAMA).exists()


def test_a_folder_without_data_files_is_an_error(tmp_path, hook_calls):
    (tmp_path / "README.md").write_text("nothing to import\n")

    result = run_command(tmp_path)

    assert result.error is not None
    assert "no data files found" in result.error
    assert hook_calls == []


def test_an_api_page_whose_results_is_not_a_list_is_named_as_such(tmp_path, hook_calls):
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"meta": {"count": 1}, "results": {"id": LLAMA}}))

    result = run_command(path)

    assert "bad record: an API page whose `results` is not a list (got dict)" in result.stderr
    assert "missing id" not in result.stderr


def test_a_record_over_the_size_limit_is_reported_and_its_neighbours_kept(tmp_path, hook_calls):
    small = demo_record(DEMO_WORKS_PATH, LLAMA)
    big = demo_record(DEMO_WORKS_PATH, "https://openalex.org/W1494506878")
    big["abstract_inverted_index"] = {f"w{i}": [i] for i in range(20_000)}
    path = write_jsonl(tmp_path / "works.jsonl", [big, small])
    limit = 100_000
    assert len(json.dumps(big)) > limit > len(json.dumps(small))

    result = run_command(path, max_record_bytes=limit)

    assert "works.jsonl:1: bad record: record too large:" in result.stderr
    assert "the limit is 100,000" in result.stderr
    assert list(Work.objects.values_list("source_id", flat=True)) == [LLAMA]


def test_the_query_log_does_not_grow_with_the_import_under_debug(settings, hook_calls):
    settings.DEBUG = True
    connection.queries_log.clear()

    import_openalex([DEMO / "openalex_demo"], batch_size=20)

    assert Work.objects.count() > 100
    # One batch's queries at most (about 30), not the whole run's.
    assert len(connection.queries_log) < 60


# --- durable touched set ------------------------------------------------------------------------


def test_touched_researchers_survive_a_refresh_that_never_ran(tmp_path, monkeypatch):
    """A run killed before its refresh leaves the touched set in the database; the next run
    (even one that changes nothing) hands it to the refresh."""
    record = demo_record(DEMO_WORKS_PATH, LLAMA)
    path = write_jsonl(tmp_path / "work.jsonl", [record])

    def killed(read):
        raise KeyboardInterrupt

    monkeypatch.setattr("bzpeer.curation.derived.refresh_after_import", killed)
    with pytest.raises(KeyboardInterrupt):
        import_openalex([path])
    authors = set(Authorship.objects.filter(work__source_id=LLAMA).values_list("researcher_id"))
    authors = {pk for (pk,) in authors}
    assert set(TouchedResearcher.objects.values_list("researcher_id", flat=True)) == authors
    monkeypatch.undo()

    result = import_openalex([path])

    assert result.researcher_ids == authors
    assert not TouchedResearcher.objects.exists()
    assert not TouchedWork.objects.exists()
    assert CoauthorEdge.objects.filter(researcher_id__in=authors).exists()


def touched_rows() -> tuple[dict[int, bool], dict[int, list[int]]]:
    return (
        dict(TouchedResearcher.objects.values_list("researcher_id", "recount")),
        dict(TouchedWork.objects.values_list("work_id", "departed_ids")),
    )


def test_what_a_changed_work_queues_for_its_refresh(tmp_path):
    """A newer copy that changes only the title queues the work's authors (trust, metrics,
    slices) without recounting them, and the work for its co-author pairs; one that drops
    an author recounts that author alone and names them as gone from the work."""
    record = demo_record(DEMO_WORKS_PATH, LLAMA)
    importer_service.import_openalex([write_jsonl(tmp_path / "a.jsonl", [record])])
    work = Work.objects.get(source_id=LLAMA)
    authors = set(work.authorships.values_list("researcher_id", flat=True))
    assert touched_rows() == (dict.fromkeys(authors, True), {work.pk: []})
    TouchedResearcher.objects.all().delete()
    TouchedWork.objects.all().delete()

    retitled = {**record, "title": f"{record['title']} (revised)"}
    retitled["updated_date"] = "2099-01-01T00:00:00"
    importer_service.import_openalex([write_jsonl(tmp_path / "b.jsonl", [retitled])])
    assert touched_rows() == (dict.fromkeys(authors, False), {work.pk: []})
    TouchedResearcher.objects.all().delete()
    TouchedWork.objects.all().delete()

    dropped = {**retitled, "authorships": retitled["authorships"][:-1]}
    dropped["updated_date"] = "2099-02-01T00:00:00"
    importer_service.import_openalex([write_jsonl(tmp_path / "c.jsonl", [dropped])])
    (gone,) = authors - set(work.authorships.values_list("researcher_id", flat=True))
    researchers, works = touched_rows()
    assert researchers == {pk: pk == gone for pk in authors}
    assert works == {work.pk: [gone]}


def test_a_large_import_analyses_the_tables_it_changed(monkeypatch, hook_calls):
    monkeypatch.setattr(importer_service, "ANALYZE_AFTER_RECORDS", 100)

    import_openalex([DEMO / "openalex_demo"])

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN "
            "('works_work', 'works_authorship', 'profiles_researcher')"
        )
        estimates = dict(cursor.fetchall())
    assert estimates == {
        "works_work": Work.objects.count(),
        "works_authorship": Authorship.objects.count(),
        "profiles_researcher": Researcher.objects.count(),
    }
