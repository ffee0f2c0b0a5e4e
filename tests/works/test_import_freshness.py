"""OpenAlex's updated_date decides which copy of a record is kept; a newer copy's lists
(authors, topics, institutions) replace the stored ones exactly."""

from __future__ import annotations

import copy

import pytest

from graph.models import CoauthorEdge
from profiles.models import Researcher, ResearcherTopic
from tests.works.conftest import DEMO_WORKS_PATH, OPENALEX_DEMO, demo_record, run_command
from tests.works.conftest import write_jsonl as write
from works.models import Authorship, Work

pytestmark = pytest.mark.django_db

LLAMA = "https://openalex.org/W4322718191"
OLD, NEW = "2025-01-01T00:00:00", "2025-06-01T12:00:00.123456"
# An institution none of the demo records names.
META = {
    "id": "https://openalex.org/I4210114444",
    "display_name": "Meta (United States)",
    "country_code": "US",
    "type": "company",
}


def llama(updated: str, **changes) -> dict:
    record = copy.deepcopy(demo_record(DEMO_WORKS_PATH, LLAMA))
    record["updated_date"] = updated
    record.update(changes)
    return record


def authors_of(source_id: str) -> list[str]:
    return list(
        Authorship.objects.filter(work__source_id=source_id)
        .order_by("order")
        .values_list("researcher__source_id", flat=True)
    )


def test_a_newer_copy_replaces_the_stored_one(tmp_path, hook_calls):
    run_command(write(tmp_path / "a.jsonl", [llama(OLD)]))

    result = run_command(write(tmp_path / "b.jsonl", [llama(NEW, title="LLaMA, revised")]))

    assert result.error is None, result.stderr
    work = Work.objects.get(source_id=LLAMA)
    assert work.title == "LLaMA, revised"
    assert work.openalex_updated.isoformat() == "2025-06-01T12:00:00.123456+00:00"


def test_an_older_copy_changes_nothing(tmp_path, hook_calls):
    newer = llama(NEW)
    run_command(write(tmp_path / "new.jsonl", [newer]))
    before = authors_of(LLAMA)
    older = llama(OLD, title="An old title")
    older["authorships"] = older["authorships"][:2]
    older["topics"] = []

    result = run_command(write(tmp_path / "old.jsonl", [older]))

    assert result.error is None, result.stderr
    work = Work.objects.get(source_id=LLAMA)
    assert work.title == newer["title"]
    assert authors_of(LLAMA) == before
    assert work.topics.count() == len(newer["topics"])
    assert "Older copies ignored (a newer updated_date is stored): 1." in result.stdout
    assert hook_calls[1] == set()


def test_the_same_date_twice_is_idempotent(tmp_path, hook_calls):
    path = write(tmp_path / "a.jsonl", [llama(NEW)])
    run_command(path)
    rows = list(Work.objects.values_list())

    result = run_command(path)

    assert "Nothing changed" in result.stdout
    assert list(Work.objects.values_list()) == rows
    assert "Older copies" not in result.stdout


def test_an_older_author_record_is_ignored(tmp_path, hook_calls):
    record = demo_record(OPENALEX_DEMO / "authors.jsonl.gz", "https://openalex.org/A5000655873")
    run_command(write(tmp_path / "new.jsonl", [{**record, "updated_date": NEW}]))

    result = run_command(
        write(tmp_path / "old.jsonl", [{**record, "updated_date": OLD, "display_name": "Old"}])
    )

    assert "Older copies ignored" in result.stdout
    assert Researcher.objects.get(source_id=record["id"]).display_name == record["display_name"]


def test_a_newer_copy_that_drops_an_author_drops_the_authorship_and_the_edges(tmp_path):
    # The real refresh runs: the dropped author loses the co-author edges of this work.
    record = llama(OLD)
    run_command(write(tmp_path / "a.jsonl", [record]))
    dropped = record["authorships"][-1]["author"]["id"]
    assert CoauthorEdge.objects.filter(researcher__source_id=dropped).exists()
    newer = llama(NEW)
    newer["authorships"] = newer["authorships"][:-1]

    result = run_command(write(tmp_path / "b.jsonl", [newer]))

    assert result.error is None, result.stderr
    assert dropped not in authors_of(LLAMA)
    assert "authorships removed 1" in result.stdout
    assert not CoauthorEdge.objects.filter(researcher__source_id=dropped).exists()
    assert not CoauthorEdge.objects.filter(coauthor__source_id=dropped).exists()
    work = Work.objects.get(source_id=LLAMA)
    assert work.team_size == len(newer["authorships"])


def test_a_newer_copy_changes_topics_and_institutions(tmp_path, hook_calls):
    record = llama(OLD)
    run_command(write(tmp_path / "a.jsonl", [record]))
    newer = llama(NEW)
    newer["topics"] = newer["topics"][:1]
    first = newer["authorships"][0]
    first["institutions"] = [META]

    result = run_command(write(tmp_path / "b.jsonl", [newer]))

    assert result.error is None, result.stderr
    work = Work.objects.get(source_id=LLAMA)
    assert list(work.topics.values_list("source_id", flat=True)) == [newer["topics"][0]["id"]]
    authorship = work.authorships.get(researcher__source_id=first["author"]["id"])
    assert list(authorship.institutions.values_list("source_id", flat=True)) == [
        "https://openalex.org/I4210114444"
    ]


def test_a_newer_copy_that_drops_a_topic_recounts_its_authors_topics(tmp_path):
    # No hook: the refresh after the import runs for real.
    record = llama(OLD)
    run_command(write(tmp_path / "a.jsonl", [record]))
    author = Researcher.objects.get(source_id=record["authorships"][0]["author"]["id"])
    kept, *dropped = [topic["id"] for topic in record["topics"]]
    assert dropped
    assert set(
        ResearcherTopic.objects.filter(researcher=author).values_list("topic__source_id", flat=True)
    ) == {kept, *dropped}
    newer = llama(NEW)
    newer["topics"] = newer["topics"][:1]

    result = run_command(write(tmp_path / "b.jsonl", [newer]))

    assert result.error is None, result.stderr
    assert set(
        ResearcherTopic.objects.filter(researcher=author).values_list("topic__source_id", flat=True)
    ) == {kept}
    author.refresh_from_db()
    assert author.topics_count == 1


def test_a_newer_copy_is_compared_in_the_database_and_only_its_changes_are_counted(tmp_path):
    record = llama(OLD)
    run_command(write(tmp_path / "a.jsonl", [record]))
    stored_links = Authorship.institutions.through.objects.filter(
        authorship__work__source_id=LLAMA
    ).count()
    newer = llama(NEW)
    dropped = newer["authorships"].pop()
    first = newer["authorships"][0]
    kept_links = {i["id"] for i in first["institutions"] if i.get("id")}
    first["institutions"] = []

    result = run_command(write(tmp_path / "b.jsonl", [newer]))
    again = run_command(write(tmp_path / "c.jsonl", [newer]))

    assert result.error is None, result.stderr
    assert "authorships removed 1" in result.stdout
    assert "authorships created 0" in result.stdout
    # The first author's links are removed; the dropped author's links go with their
    # authorship (not counted as links removed).
    assert f"authorship institution links removed {len(kept_links)}" in result.stdout
    dropped_links = len({i["id"] for i in dropped["institutions"] if i.get("id")})
    assert (
        Authorship.institutions.through.objects.filter(authorship__work__source_id=LLAMA).count()
        == stored_links - len(kept_links) - dropped_links
    )
    assert dropped["author"]["id"] not in authors_of(LLAMA)
    # The same copy again: Postgres finds nothing distinct, nothing is written.
    assert again.error is None, again.stderr
    assert "Nothing changed" in again.stdout
    assert Work.objects.get(source_id=LLAMA).title == newer["title"]


def test_a_newer_copy_moves_institution_and_topic_counts_as_a_recount_would(tmp_path):
    """An import moves institutions' and topics' researcher counts by the membership and
    per-topic rows it added and removed, not by recounting them: the result is what a
    full recount gives. (No hook: the refresh after the import runs for real.)"""
    from bzpeer.search.documents import refresh_all_search_documents
    from works.models import Institution, Topic

    def counts() -> tuple[dict, dict]:
        return (
            dict(Institution.objects.values_list("source_id", "researchers_count")),
            dict(Topic.objects.values_list("source_id", "researchers_count")),
        )

    record = llama(OLD)
    run_command(write(tmp_path / "a.jsonl", [record]))
    kept, *dropped = [topic["id"] for topic in record["topics"]]
    institutions_before, topics_before = counts()
    newer = llama(NEW)
    newer["topics"] = newer["topics"][:1]
    newer["authorships"].pop()
    newer["authorships"][0]["institutions"] = [META]

    result = run_command(write(tmp_path / "b.jsonl", [newer]))

    assert result.error is None, result.stderr
    institutions, topics = counts()
    assert institutions[META["id"]] >= 1
    assert all(topics[topic] < topics_before[topic] for topic in dropped)
    assert institutions != institutions_before
    refresh_all_search_documents()
    assert counts() == (institutions, topics)
