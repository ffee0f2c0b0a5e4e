from __future__ import annotations

import gzip
import inspect
import json
from datetime import date

import pytest
from django.db import IntegrityError, connection

from bzpeer.curation.importing import import_openalex
from graph.models import CoauthorEdge
from profiles.models import (
    Follow,
    Invitation,
    Researcher,
    ResearcherTopic,
    VerificationLevel,
)
from tests.factories import ResearcherFactory, UserFactory
from tests.works.conftest import (
    DATA,
    DEMO,
    OPENALEX_DEMO,
    SEED,
    demo_record,
    demo_records,
    run_command,
    write_jsonl,
)
from works.importer import read_records
from works.importer import service as importer_service
from works.importer.normalize import (
    arxiv_from_doi,
    arxiv_from_id,
    arxiv_from_url,
    normalize_doi,
    normalize_orcid,
    parse_entity_id,
    plain_text,
    rebuild_abstract,
)
from works.importer.reader import RecordReader
from works.models import Authorship, Institution, Source, Topic, Work

pytestmark = pytest.mark.django_db

DEMO_WORKS = OPENALEX_DEMO / "works.jsonl.gz"
DEMO_AUTHORS = OPENALEX_DEMO / "authors.jsonl.gz"
MEARMAN = "https://openalex.org/A5017898742"
TEVEN = "urn:bzpeer:seed:A1"


def table_snapshot() -> dict[str, list[tuple]]:
    """Every row of every works/profiles table and M2M through table, in pk order."""
    models = [
        Work,
        Work.topics.through,
        Authorship,
        Authorship.institutions.through,
        Institution,
        Source,
        Topic,
        Researcher,
        ResearcherTopic,
        Follow,
        Invitation,
    ]
    return {
        model._meta.db_table: list(model.objects.order_by("pk").values_list()) for model in models
    }


def summary_row(stdout: str, entity: str) -> tuple[int, ...]:
    """(created, updated, unchanged, stubs) from the summary table the command prints."""
    for line in stdout.splitlines():
        cells = line.split()
        if cells and cells[0] == entity and len(cells) == 5:
            return tuple(int(cell) for cell in cells[1:])
    raise AssertionError(f"no {entity} row in:\n{stdout}")


def expected_abstract(record: dict) -> str:
    index = record["abstract_inverted_index"]
    return " ".join(word for _, word in sorted((p, w) for w, ps in index.items() for p in ps))


# --- the shipped data -------------------------------------------------------------------------


def test_seed_profile_imports_with_the_documented_counts(hook_calls):
    result = run_command(SEED)

    assert result.error is None, result.stderr
    assert Work.objects.count() == 7
    assert Researcher.objects.count() == 197
    assert Researcher.objects.filter(is_stub=False).count() == 197
    assert Authorship.objects.count() == 220
    assert Topic.objects.count() == 3
    teven = Researcher.objects.get(source_id=TEVEN)
    assert teven.display_name == "Teven Le Scao"
    assert teven.authorships.count() == 7
    assert Work.objects.get(source_id="urn:bzpeer:seed:W1").authorships.count() == 119
    # The seed's only venue is referenced, never described: it is a stub.
    arxiv = Source.objects.get(source_id="urn:bzpeer:seed:S1")
    assert (arxiv.display_name, arxiv.type, arxiv.is_stub) == (
        "arXiv (Cornell University)",
        "repository",
        True,
    )
    assert hook_calls == [set(Researcher.objects.values_list("pk", flat=True))]


def test_whole_demo_set_imports_every_stored_entity(hook_calls):
    works = demo_records(DEMO_WORKS) + demo_records(SEED / "works.jsonl.gz")
    authors = demo_records(DEMO_AUTHORS) + demo_records(SEED / "authors.jsonl.gz")
    author_ids = {a["id"] for a in authors}
    coauthor_ids = {
        s["author"]["id"] for w in works for s in w["authorships"] if s["author"].get("id")
    }

    result = run_command(DEMO)

    assert result.error is None, result.stderr
    assert Work.objects.count() == len(works) == 163
    assert Researcher.objects.filter(is_stub=False).count() == len(author_ids) == 304
    assert Researcher.objects.filter(is_stub=True).count() == len(coauthor_ids - author_ids)
    assert Institution.objects.filter(is_stub=False).count() == 126
    assert Source.objects.filter(is_stub=False).count() == 45
    assert Topic.objects.filter(kind="topic", is_stub=False).count() == 2 + 3
    assert Topic.objects.filter(kind="concept", is_stub=False).count() == 19
    assert "Skipped (not stored): funder 2, keyword 1, publisher 1." in result.stdout
    assert "0 bad" in result.stdout
    # The one complete profile in the demo set: Joseph Mearman and all 9 of his works.
    mearman = Researcher.objects.get(source_id=MEARMAN)
    assert mearman.authorships.count() == 9
    assert mearman.last_known_institution.display_name == "Bangor University"
    assert mearman.verification_level == VerificationLevel.L1
    assert len(hook_calls) == 1


def test_second_run_of_the_demo_set_changes_no_row(hook_calls):
    run_command(DEMO)
    before = table_snapshot()

    second = run_command(DEMO)

    assert second.error is None, second.stderr
    # Same rows, same values, even updated_at: nothing was rewritten.
    assert table_snapshot() == before
    assert "Nothing changed" in second.stdout
    assert summary_row(second.stdout, "work") == (0, 0, 163, 0)
    assert hook_calls[1] == set()


def test_real_refresh_after_import_refreshes_counts_and_edges():
    # No monkeypatch: bzpeer.curation.derived.refresh_derived_data runs for real.
    run_command(SEED)

    teven = Researcher.objects.get(source_id=TEVEN)
    assert teven.works_count == 7
    assert teven.topics_count == 3
    assert ResearcherTopic.objects.filter(researcher=teven).count() == 3
    # W1 (119 authors) is hyper-authored and makes no edges; the other six do.
    coauthors = {
        a["author"]["id"]
        for w in demo_records(SEED / "works.jsonl.gz")
        if len(w["authorships"]) <= 100
        for a in w["authorships"]
    } - {TEVEN}
    assert CoauthorEdge.objects.filter(researcher=teven).count() == len(coauthors) == 88
    assert teven.close_collaborators_count > 0
    before = table_snapshot()
    edges = list(CoauthorEdge.objects.order_by("pk").values_list())

    run_command(SEED)

    assert table_snapshot() == before
    assert list(CoauthorEdge.objects.order_by("pk").values_list()) == edges


# --- fields ---------------------------------------------------------------------------------


def test_abstract_is_rebuilt_from_the_inverted_index(hook_calls):
    run_command(SEED / "works.jsonl.gz")

    w1 = Work.objects.get(source_id="urn:bzpeer:seed:W1")
    record = demo_record(SEED / "works.jsonl.gz", "urn:bzpeer:seed:W1")
    assert w1.abstract.startswith("We introduce the Ministral 3 series")
    assert w1.abstract == expected_abstract(record)
    # W5 keeps its LaTeX exactly as the reference page has it.
    w5 = Work.objects.get(source_id="urn:bzpeer:seed:W5")
    assert w5.abstract == expected_abstract(demo_record(SEED / "works.jsonl.gz", w5.source_id))
    assert "\\textit{Transformers}" in w5.abstract


def test_null_abstract_gives_empty_text_and_markup_is_stripped(hook_calls):
    run_command(DEMO_WORKS)

    assert Work.objects.get(source_id="https://openalex.org/W1494506878").abstract == ""
    lancet = Work.objects.get(source_id="https://openalex.org/W4206677002")
    assert lancet.abstract.startswith("Summary Background Antimicrobial resistance")
    assert "<" not in lancet.abstract


def test_html_in_titles_is_stripped_without_gluing_words(hook_calls):
    run_command(DEMO_WORKS)

    titles = {
        "https://openalex.org/W1951724000": "Fitting Linear Mixed-Effects Models Using lme4",
        "https://openalex.org/W4288079944": "Planck 2018 results",
        "https://openalex.org/W2131350133": "A short history of SHELX",
    }
    for source_id, title in titles.items():
        assert Work.objects.get(source_id=source_id).title == title
    assert not Work.objects.filter(title__contains="<").exists()
    # The real record with `title: null` imports with an empty title.
    assert Work.objects.get(source_id="https://openalex.org/W2911964244").title == ""


def test_identifiers_are_normalised_and_kept(hook_calls):
    run_command(SEED, DEMO_WORKS, DEMO_AUTHORS)

    w1 = Work.objects.get(source_id="urn:bzpeer:seed:W1")
    assert (w1.doi, w1.arxiv_id) == ("10.48550/arxiv.2601.08584", "2601.08584")
    assert w1.doi_url == "https://doi.org/10.48550/arxiv.2601.08584"
    assert w1.landing_page_url == "https://arxiv.org/abs/2601.08584"
    assert w1.publication_date == date(2026, 1, 13)
    assert w1.type == "preprint"
    assert w1.venue.source_id == "urn:bzpeer:seed:S1"
    # No DOI, arXiv id from ids.arxiv only.
    w6 = Work.objects.get(source_id="urn:bzpeer:seed:W6")
    assert (w6.doi, w6.arxiv_id) == (None, "1910.06393")
    # arXiv id only in the landing page URL (export.arxiv.org/pdf/...).
    vgg = Work.objects.get(source_id="https://openalex.org/W1686810756")
    assert (vgg.doi, vgg.arxiv_id) == (None, "1409.1556")
    # arXiv id only in another location of a journal article.
    resnet = Work.objects.get(source_id="https://openalex.org/W2194775991")
    assert resnet.arxiv_id == "1512.03385"
    author = Researcher.objects.get(source_id="https://openalex.org/A5000655873")
    assert author.orcid == "0000-0002-5793-3042"
    assert author.alternative_names == ["Houliang Zhou", "Deep Learning", "Machine Learning"]
    assert author.last_known_institution.source_id == "https://openalex.org/I4750791"


def test_work_fields_follow_the_record(hook_calls):
    record = demo_record(DEMO_WORKS, "https://openalex.org/W4322718191")  # LLaMA

    run_command(DEMO_WORKS)

    llama = Work.objects.get(source_id=record["id"])
    assert llama.title == record["title"]
    assert llama.publication_year == record["publication_year"]
    assert llama.cited_by_count == record["cited_by_count"]
    assert llama.referenced_works == record["referenced_works"]
    assert llama.authors_count == len(record["authorships"])
    assert llama.venue.source_id == record["primary_location"]["source"]["id"]
    assert set(llama.topics.values_list("source_id", flat=True)) == {
        t["id"] for t in record["topics"]
    }
    names = list(llama.authorships.order_by("order").values_list("raw_author_name", flat=True))
    assert names == [a["raw_author_name"] for a in record["authorships"]]
    people = set(llama.authorships.values_list("researcher__display_name", flat=True))
    assert {"Thibaut Lavril", "Guillaume Lample"} <= people


def test_same_author_listed_twice_keeps_the_first_authorship(hook_calls):
    record = demo_record(DEMO_WORKS, "https://openalex.org/W3092849554")

    run_command(DEMO_WORKS)

    work = Work.objects.get(source_id=record["id"])
    twice = Authorship.objects.get(
        work=work, researcher__source_id="https://openalex.org/A5101711502"
    )
    assert (twice.order, twice.raw_author_name) == (49, "Samiah Alam")
    assert work.authorships.count() == len(record["authorships"]) - 1
    assert work.authors_count == len(record["authorships"])


def test_placeholder_author_is_skipped(tmp_path, hook_calls):
    record = demo_record(DEMO_WORKS, "https://openalex.org/W4322718191")
    placeholder = {
        "author_position": "middle",
        "author": {"id": "https://openalex.org/A9999999999", "display_name": "Unknown"},
        "institutions": [],
        "raw_author_name": "et al.",
    }
    record["authorships"].insert(2, placeholder)

    result = run_command(write_jsonl(tmp_path / "work.jsonl", [record]))

    assert result.error is None, result.stderr
    assert not Researcher.objects.filter(source_id__endswith="A9999999999").exists()
    work = Work.objects.get(source_id=record["id"])
    assert work.authorships.count() == len(record["authorships"]) - 1
    # Order stays the index in the record's list.
    assert not work.authorships.filter(order=2).exists()


# --- formats ----------------------------------------------------------------------------------


def test_api_result_page_items_are_imported(tmp_path, hook_calls):
    records = demo_records(DEMO_AUTHORS)[:30]
    page = {"meta": {"count": 30, "page": 1, "per_page": 30}, "results": records}
    compact = tmp_path / "page.json"
    compact.write_text(json.dumps(page))
    pretty = tmp_path / "page_pretty.json.gz"
    pretty.write_bytes(gzip.compress(json.dumps(page, indent=2).encode()))

    first = run_command(compact)
    second = run_command(pretty)

    assert first.error is None, first.stderr
    assert Researcher.objects.filter(is_stub=False).count() == 30
    assert summary_row(first.stdout, "author") == (30, 0, 0, 0)
    assert summary_row(second.stdout, "author") == (0, 0, 30, 0)


def test_api_page_bad_item_is_named_by_its_index(tmp_path, hook_calls):
    records = demo_records(DEMO_AUTHORS)[:3]
    records.insert(1, {"display_name": "no id"})
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"meta": {}, "results": records}, indent=1))

    result = run_command(path)

    assert f"{path} results[1]: bad record: missing id" in result.stderr
    assert Researcher.objects.filter(is_stub=False).count() == 3
    assert result.error is not None


def test_gzip_is_detected_by_content_not_name(tmp_path, hook_calls):
    records = demo_records(DEMO_AUTHORS)[:10]
    # Names that lie: gzip content without .gz, plain text with .gz.
    gzipped = write_jsonl(tmp_path / "authors.jsonl", records[:5], gzipped=True)
    plain = write_jsonl(tmp_path / "authors.jsonl.gz", records[5:])

    result = run_command(gzipped, plain)

    assert result.error is None, result.stderr
    assert set(Researcher.objects.values_list("source_id", flat=True)) >= {r["id"] for r in records}


def test_single_entity_file_imports(tmp_path, hook_calls):
    record = demo_record(DEMO_AUTHORS, MEARMAN)
    path = tmp_path / "A5017898742.json"
    path.write_text(json.dumps(record, indent=2))

    result = run_command(path)

    assert result.error is None, result.stderr
    assert Researcher.objects.get(source_id=MEARMAN).display_name == "Joseph Mearman"


def test_older_snapshot_schema_imports(hook_calls):
    result = run_command(DATA / "older_schema.jsonl")

    assert result.error is None, result.stderr
    work = Work.objects.get(source_id="https://openalex.org/W900000002")
    assert work.title == "Gene expression in Escherichia coli under H2O stress"
    assert work.doi == "10.1371/journal.pone.0000001"
    # host_venue, with the old V id mapped to the S id of the same record.
    assert work.venue.source_id == "https://openalex.org/S900000001"
    assert work.venue.display_name == "Older Venue Journal"
    assert work.venue.is_stub is False
    assert work.landing_page_url == "https://journal.example.org/article/1"
    assert work.abstract == "We measured gene expression under stress."
    assert work.type == "journal-article"
    assert work.referenced_works == [
        "https://openalex.org/W900000007",
        "https://openalex.org/W900000008",
    ]
    concepts = {t.source_id: t for t in work.topics.all()}
    assert set(concepts) == {"https://openalex.org/C86803240", "https://openalex.org/C900000006"}
    assert all(t.kind == Topic.Kind.CONCEPT for t in concepts.values())
    gene = concepts["https://openalex.org/C900000006"]
    assert (gene.is_stub, gene.field_name) == (False, "Biology")
    ada = Researcher.objects.get(source_id="https://openalex.org/A900000003")
    assert ada.orcid == "0000-0002-1825-0097"
    assert ada.last_known_institution.ror == "https://ror.org/00ex4mp12"
    assert ada.alternative_names == ["A. Example", "Ada Example"]
    first = work.authorships.get(order=0)
    # The affiliation without an id is not an institution we can link.
    assert list(first.institutions.values_list("display_name", flat=True)) == ["Example University"]
    assert first.raw_author_name == "Ada Example"  # no raw_author_name: the display name


def test_directories_are_searched_for_data_files_only(tmp_path, hook_calls):
    (tmp_path / "README.md").write_text("# not data\n")
    (tmp_path / "provenance.csv").write_text("file,id\n")
    nested = tmp_path / "data" / "authors" / "updated_date=2025-01-01"
    nested.mkdir(parents=True)
    write_jsonl(nested / "part_000.gz", demo_records(DEMO_AUTHORS)[:4], gzipped=True)

    result = run_command(tmp_path)

    assert result.error is None, result.stderr
    assert "from 1 file(s)" in result.stdout
    assert Researcher.objects.count() >= 4


def test_missing_path_fails_before_importing_anything(tmp_path, hook_calls):
    result = run_command(SEED / "works.jsonl.gz", tmp_path / "nope.jsonl")

    assert "nope.jsonl: no such file or directory" in result.error
    assert Work.objects.count() == 0
    assert hook_calls == []


# --- streaming ----------------------------------------------------------------------------------


def test_reader_is_a_generator_that_reads_line_by_line(tmp_path):
    records = demo_records(DEMO_WORKS)
    path = write_jsonl(tmp_path / "works.jsonl", records * 3)
    reader = RecordReader(path)

    stream = reader.records()
    first = next(stream)

    assert inspect.isgenerator(stream)
    assert inspect.isgenerator(read_records(path))
    assert first.location.line == 1
    assert first.value["id"] == records[0]["id"]
    # Only the first buffer of a ~1.5 MB file has been read.
    assert 0 < reader.bytes_read < reader.size / 10
    second = next(stream)
    assert second.location.line == 2
    stream.close()


def test_batches_are_committed_separately(tmp_path, monkeypatch, hook_calls):
    sizes: list[int] = []
    real_write = importer_service.write_batch

    def counting(items, outcome):
        sizes.append(len(items))
        real_write(items, outcome)

    monkeypatch.setattr(importer_service, "write_batch", counting)

    run_command(DEMO_AUTHORS, batch_size=40)

    assert sizes == [40, 40, 27]
    assert Researcher.objects.filter(is_stub=False).count() == 107


@pytest.mark.django_db(transaction=True)  # each batch its own transaction, as in production
def test_each_batch_commits_without_waiting_for_the_disk(monkeypatch, hook_calls):
    """A batch's transaction does not wait for its WAL to reach the disk; the setting is
    its own (SET LOCAL): the connection is back to the server's afterwards."""
    seen: list[str] = []
    real_write = importer_service.write_batch

    def watching(items, outcome):
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            seen.append(cursor.fetchone()[0])
        real_write(items, outcome)

    monkeypatch.setattr(importer_service, "write_batch", watching)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        before = cursor.fetchone()[0]

    run_command(DEMO_AUTHORS, batch_size=40)

    assert seen == ["off"] * 3
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == before


# --- bad input ----------------------------------------------------------------------------------


def test_broken_line_is_reported_and_its_neighbours_are_kept(tmp_path, hook_calls):
    lines = gzip.decompress(DEMO_WORKS.read_bytes()).decode().splitlines()
    lines.insert(49, lines[49][:120])  # a record cut off mid-line becomes line 50
    path = tmp_path / "works_with_a_broken_line.jsonl"
    path.write_text("\n".join(lines) + "\n")

    result = run_command(path)

    assert result.error is not None
    assert "1 bad record(s)" in result.error
    assert f"{path}:50: bad record: invalid JSON" in result.stderr
    assert result.stderr.count("bad record") == 1
    # Every good record of the same batch made it.
    assert Work.objects.count() == 156
    assert summary_row(result.stdout, "work")[0] == 156
    assert len(hook_calls) == 1


def test_every_kind_of_bad_record_is_named_with_file_and_line(hook_calls):
    path = DATA / "bad_records.jsonl"

    result = run_command(path)

    assert result.error is not None
    assert "7 bad record(s)" in result.error
    expected = {
        2: "invalid JSON",
        3: "expected a JSON object, got list",
        4: "missing id",
        5: "unknown entity for id 'https://openalex.org/X123'",
        6: "authorships must be a list or null",
        11: "id must be a string",
        12: "publication_year must be an integer or null",
    }
    for line, reason in expected.items():
        assert f"{path}:{line}: bad record: {reason}" in result.stderr
    # Funders and keywords are read past, not errors; the good records are in.
    assert "Skipped (not stored): funder 1, keyword 1." in result.stdout
    work = Work.objects.get(source_id="https://openalex.org/W900000013")
    authorship = work.authorships.get()
    assert authorship.researcher.display_name == "Good Author"
    assert authorship.researcher.is_stub is False
    assert authorship.raw_author_name == "G. Author"
    assert not Work.objects.filter(source_id__in=["https://openalex.org/W900000012"]).exists()


def test_record_the_database_refuses_costs_only_itself(tmp_path, monkeypatch, hook_calls):
    records = demo_records(DEMO_AUTHORS)[:5]
    refused = records[2]["id"]
    real_write = importer_service.write_batch

    def refusing(items, outcome):
        real_write(items, outcome)
        if any(row.source_id == refused for _, row in items):
            raise IntegrityError("refused for the test")

    monkeypatch.setattr(importer_service, "write_batch", refusing)

    result = run_command(write_jsonl(tmp_path / "authors.jsonl", records))

    assert "authors.jsonl:3: bad record: not stored: refused for the test" in (result.stderr)
    assert set(Researcher.objects.values_list("source_id", flat=True)) == {
        r["id"] for r in records if r["id"] != refused
    }


def test_duplicate_orcid_stays_on_first_holder_with_a_warning(tmp_path, hook_calls):
    first = demo_record(DEMO_AUTHORS, "https://openalex.org/A5000655873")
    twin = {**first, "id": "https://openalex.org/A900000099", "display_name": "Twin Record"}
    path = write_jsonl(tmp_path / "authors.jsonl", [first, twin])

    result = run_command(path)
    again = run_command(path)

    assert result.error is None, result.stderr
    assert Researcher.objects.get(source_id=first["id"]).orcid == "0000-0002-5793-3042"
    assert Researcher.objects.get(source_id=twin["id"]).orcid is None
    assert f"{path}:2: warning: ORCID 0000-0002-5793-3042 already belongs to {first['id']}" in (
        result.stderr
    )
    assert summary_row(again.stdout, "author") == (0, 0, 2, 0)


def test_duplicate_doi_stays_on_first_work_with_a_warning(tmp_path, hook_calls):
    first = demo_record(DEMO_WORKS, "https://openalex.org/W4322718191")
    later = {**first, "id": "https://openalex.org/W900000098"}
    run_command(write_jsonl(tmp_path / "first.jsonl", [first]))

    result = run_command(write_jsonl(tmp_path / "later.jsonl", [later]))

    assert result.error is None, result.stderr
    assert Work.objects.get(source_id=first["id"]).doi == "10.48550/arxiv.2302.13971"
    assert Work.objects.get(source_id=later["id"]).doi is None
    assert "later.jsonl:1: warning: DOI 10.48550/arxiv.2302.13971 already belongs to" in (
        result.stderr
    )


# --- stubs, claims, merges, re-imports ------------------------------------------------------------


def test_full_record_replaces_a_stub_and_a_stub_never_overwrites_it(hook_calls):
    run_command(DEMO_WORKS)
    stub = Researcher.objects.get(source_id=MEARMAN)
    assert stub.is_stub is True
    assert stub.last_known_institution is None

    run_command(DEMO_AUTHORS)
    full = Researcher.objects.get(source_id=MEARMAN)
    assert (full.pk, full.is_stub) == (stub.pk, False)
    assert full.alternative_names == ["Joseph Mearman", "Joseph W. Mearman", "J. W. Mearman"]
    assert full.last_known_institution.display_name == "Bangor University"

    Researcher.objects.filter(pk=full.pk).update(display_name="Joseph Mearman (full)")
    run_command(DEMO_WORKS)  # its works name him again, dehydrated
    assert Researcher.objects.get(pk=full.pk).display_name == "Joseph Mearman (full)"
    # Institutions work the same way: Bangor was a stub until its own record came.
    bangor = Institution.objects.get(source_id="https://openalex.org/I161548249")
    assert bangor.is_stub is True
    run_command(OPENALEX_DEMO / "institutions.jsonl.gz")
    bangor.refresh_from_db()
    assert bangor.is_stub is False
    assert bangor.homepage_url


def test_claimed_researcher_keeps_level_and_owner_fields(hook_calls):
    record = demo_record(DEMO_AUTHORS, "https://openalex.org/A5000655873")
    owner = UserFactory()
    claimed = ResearcherFactory(
        source_id=record["id"],
        display_name="Old name",
        summary="My own words.",
        owner=owner,
        open_to_collaborate=False,
        verification_level=VerificationLevel.L2,
    )

    run_command(DEMO_AUTHORS)

    claimed.refresh_from_db()
    assert claimed.display_name == "Houliang Zhou"
    assert claimed.verification_level == VerificationLevel.L2
    assert (claimed.summary, claimed.owner, claimed.open_to_collaborate) == (
        "My own words.",
        owner,
        False,
    )


def test_orcid_proved_by_sign_in_is_not_replaced(hook_calls):
    record = demo_record(DEMO_AUTHORS, "https://openalex.org/A5000655873")
    proved = ResearcherFactory(
        source_id=record["id"],
        orcid="0000-0002-1825-0097",
        owner=UserFactory(),
        verification_level=VerificationLevel.L3,
    )

    run_command(DEMO_AUTHORS)

    proved.refresh_from_db()
    assert (proved.orcid, proved.verification_level) == ("0000-0002-1825-0097", 3)


def test_merged_researcher_gets_no_new_authorships(hook_calls):
    record = demo_record(DEMO_WORKS, "https://openalex.org/W4322718191")
    merged_id = record["authorships"][1]["author"]["id"]
    survivor = ResearcherFactory(source_id="urn:bzpeer:test:survivor")
    middle = ResearcherFactory(source_id="urn:bzpeer:test:middle", merged_into=survivor)
    merged = ResearcherFactory(source_id=merged_id, merged_into=middle)

    run_command(DEMO_WORKS)

    work = Work.objects.get(source_id=record["id"])
    assert not merged.authorships.exists()
    assert work.authorships.get(researcher=survivor).order == 1
    assert survivor.pk in hook_calls[0]


def test_reimport_replaces_authorships_exactly_and_keeps_unchanged_ids(tmp_path, hook_calls):
    record = demo_record(DEMO_WORKS, "https://openalex.org/W4322718191")
    path = tmp_path / "work.jsonl"
    run_command(write_jsonl(path, [record]))
    work = Work.objects.get(source_id=record["id"])
    ids_before = dict(work.authorships.values_list("researcher__source_id", "pk"))
    dropped = record["authorships"].pop(3)["author"]["id"]
    record["authorships"][0]["raw_author_name"] = "H. Touvron"

    result = run_command(write_jsonl(path, [record]))

    ids_after = dict(work.authorships.values_list("researcher__source_id", "pk"))
    assert dropped not in ids_after
    assert set(ids_after) == set(ids_before) - {dropped}
    assert all(ids_after[sid] == ids_before[sid] for sid in ids_after)
    assert work.authorships.get(order=0).raw_author_name == "H. Touvron"
    # The renamed one, plus every later one whose index in the list moved up by one.
    shifted = len(record["authorships"]) - 3
    assert (
        f"authorships created 0, authorships updated {1 + shifted}, authorships removed 1"
        in result.stdout
    )
    assert list(work.authorships.order_by("order").values_list("order", flat=True)) == list(
        range(len(record["authorships"]))
    )
    assert summary_row(result.stdout, "work") == (0, 1, 0, 0)
    # The dropped author's counts must be refreshed too.
    assert Researcher.objects.get(source_id=dropped).pk in hook_calls[1]


# --- pure helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "entity", "source_id"),
    [
        ("https://openalex.org/W123", "work", "https://openalex.org/W123"),
        ("W123", "work", "https://openalex.org/W123"),
        ("https://openalex.org/a5", "author", "https://openalex.org/A5"),
        ("https://openalex.org/V77", "source", "https://openalex.org/S77"),
        ("https://openalex.org/C41008148", "concept", "https://openalex.org/C41008148"),
        ("urn:bzpeer:seed:W1", "work", "urn:bzpeer:seed:W1"),
        ("urn:bzpeer:seed:T3", "topic", "urn:bzpeer:seed:T3"),
        ("https://openalex.org/F4320332161", "funder", "https://openalex.org/F4320332161"),
        ("https://openalex.org/keywords/cardiac-imaging", "keyword", None),
        ("https://openalex.org/subfields/2613", "subfield", None),
    ],
)
def test_entity_is_told_from_the_last_segment_of_the_id(raw, entity, source_id):
    parsed = parse_entity_id(raw)
    assert parsed.entity == entity
    if source_id:
        assert parsed.source_id == source_id


@pytest.mark.parametrize("raw", ["", "https://openalex.org/X1", "urn:bzpeer:seed:Q9", "hello"])
def test_unknown_ids_have_no_entity(raw):
    assert parse_entity_id(raw) is None


def test_identifier_forms():
    assert normalize_doi("https://doi.org/10.48550/arXiv.2601.08584") == (
        "10.48550/arxiv.2601.08584"
    )
    assert normalize_doi("doi:10.1000/XYZ") == "10.1000/xyz"
    assert normalize_doi("not a doi") is None
    assert normalize_orcid("https://orcid.org/0000-0002-1825-009x") == "0000-0002-1825-009X"
    assert normalize_orcid("0000-0002-1825") is None
    assert arxiv_from_id("https://arxiv.org/abs/2601.08584v2") == "2601.08584"
    assert arxiv_from_id("arXiv:hep-th/9901001") == "hep-th/9901001"
    assert arxiv_from_url("http://export.arxiv.org/pdf/1409.1556") == "1409.1556"
    assert arxiv_from_url("https://edarxiv.org/5er8f/") == ""
    assert arxiv_from_doi("10.48550/arxiv.2302.13971") == "2302.13971"


def test_plain_text_strips_markup_and_decodes_entities():
    assert plain_text("<i>Planck</i>2018 results") == "Planck 2018 results"
    assert plain_text("H<sub>2</sub>O &amp; CO<sub>2</sub>") == "H2O & CO2"
    assert plain_text("<jats:p>Rates &lt;2-fold</jats:p><script>x()</script>") == ("Rates <2-fold")
    assert plain_text(None) == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("&lt;script&gt;alert(1)&lt;/script&gt; ok", "ok"),
        ("&lt;img src=x onerror=alert(1)&gt;Text", "Text"),
        ("&lt;i&gt;Planck&lt;/i&gt; 2018", "Planck 2018"),
        ("&amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt;", "bold"),
        ("<<b>i>x</i>", "x"),
        ("&lt;!-- c --&gt;kept", "kept"),
        ("a &lt; b and c &gt; d", "a < b and c > d"),
        ("Rates &lt;2-fold, AT&amp;T", "Rates <2-fold, AT&T"),
        ("&#60;jats:p&#62;Body&#60;/jats:p&#62;", "Body"),
    ],
)
def test_no_tag_survives_entity_decoding(raw, expected):
    text = plain_text(raw)
    assert text == expected
    assert plain_text(text) == text  # already plain: nothing left to strip or decode


def test_rebuild_abstract_sorts_positions_and_keeps_repeats():
    assert rebuild_abstract({"b": [1, 3], "a": [0], "c": [2]}) == "a b c b"
    assert rebuild_abstract(None) == ""


def test_service_can_be_called_without_the_command(hook_calls):
    messages: list[str] = []

    result = import_openalex([SEED / "topics.jsonl.gz"], report=messages.append)

    assert (result.bad, messages) == (0, [])
    assert result.stats.entities["topic"].created == 3
    assert hook_calls == [set()]


def test_full_author_takes_its_orcid_from_a_stub_that_only_repeated_it(tmp_path, hook_calls):
    author = demo_record(DEMO_AUTHORS, "https://openalex.org/A5000655873")
    work = demo_record(DEMO_WORKS, "https://openalex.org/W4322718191")
    stand_in = "https://openalex.org/A900000097"
    work["authorships"][0]["author"] = {
        "id": stand_in,
        "display_name": "Houliang Zhou",
        "orcid": author["orcid"],
    }
    run_command(write_jsonl(tmp_path / "work.jsonl", [work]))
    assert Researcher.objects.get(source_id=stand_in).orcid == "0000-0002-5793-3042"

    result = run_command(write_jsonl(tmp_path / "author.jsonl", [author]))

    assert Researcher.objects.get(source_id=author["id"]).orcid == "0000-0002-5793-3042"
    assert Researcher.objects.get(source_id=stand_in).orcid is None
    assert "author.jsonl:1: warning: ORCID 0000-0002-5793-3042 moved to this record" in (
        result.stderr
    )


def test_api_page_cut_off_keeps_the_items_before_the_break(tmp_path, hook_calls):
    records = demo_records(DEMO_AUTHORS)[:6]
    text = json.dumps({"meta": {"count": 6}, "results": records})
    cut = text.index(json.dumps(records[4])) + 50  # inside item 4
    path = tmp_path / "page.json.gz"
    path.write_bytes(gzip.compress(text[:cut].encode()))

    result = run_command(path)

    assert f"{path} results[4]: bad record: invalid JSON" in result.stderr
    assert Researcher.objects.filter(is_stub=False).count() == 4
    assert result.error is not None


def test_truncated_gzip_keeps_the_lines_read_before_the_break(tmp_path, hook_calls):
    data = DEMO_AUTHORS.read_bytes()
    path = tmp_path / "authors.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])

    result = run_command(path)

    assert "bad record: cannot read the file" in result.stderr
    imported = Researcher.objects.filter(is_stub=False).count()
    assert 0 < imported < 107
    assert result.error is not None


def test_interrupted_import_still_hands_committed_work_to_the_hook(monkeypatch, hook_calls):
    from django.db import OperationalError

    real_write = importer_service.write_batch
    batches: list[int] = []

    def failing(items, outcome):
        batches.append(len(items))
        if len(batches) == 2:
            raise OperationalError("connection lost")
        real_write(items, outcome)

    monkeypatch.setattr(importer_service, "write_batch", failing)

    with pytest.raises(OperationalError):
        import_openalex([DEMO_AUTHORS], batch_size=50)

    committed = set(Researcher.objects.values_list("pk", flat=True))
    assert len(committed) == 50
    assert hook_calls == [committed]


def test_refresh_all_hands_over_every_named_researcher(hook_calls):
    run_command(SEED)

    result = run_command(SEED, refresh_all=True)

    assert summary_row(result.stdout, "author") == (0, 0, 197, 0)
    assert hook_calls[1] == set(Researcher.objects.values_list("pk", flat=True))
