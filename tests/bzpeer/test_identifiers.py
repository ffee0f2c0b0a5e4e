"""bzpeer.identifiers: every accepted form of each identifier, and what is refused."""

from __future__ import annotations

import pytest

from bzpeer.identifiers import (
    OpenAlexId,
    arxiv_from_doi,
    arxiv_url,
    doi_url,
    normalize_arxiv,
    normalize_doi,
    normalize_orcid,
    normalize_ror,
    openalex_url,
    orcid_checksum_ok,
    orcid_url,
    parse_entity_id,
    parse_openalex_id,
    parse_orcid,
    parse_source_id,
)

# --- ORCID ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "0000-0002-1825-0097",
        "0000000218250097",
        " 0000-0002-1825-0097 ",
        "https://orcid.org/0000-0002-1825-0097",
        "http://orcid.org/0000-0002-1825-0097/",
        "orcid.org/0000-0002-1825-0097",
        "https://www.orcid.org/0000-0002-1825-0097",
        "orcid:0000-0002-1825-0097",
    ],
)
def test_orcid_forms_normalise_to_the_bare_hyphenated_id(value):
    assert normalize_orcid(value) == "0000-0002-1825-0097"


def test_orcid_checksum_x_is_upper_case():
    assert normalize_orcid("https://orcid.org/0000-0002-9079-593x") == "0000-0002-9079-593X"
    assert orcid_checksum_ok("0000-0002-9079-593X")


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        "Ada",
        "0000-0002-1825",
        "0000-0002-1825-00977",
        "https://x.org/0000-0002-1825-0097",
    ],
)
def test_not_an_orcid(value):
    assert parse_orcid(value) is None
    assert normalize_orcid(value) is None


def test_a_wrong_checksum_parses_but_does_not_validate():
    assert parse_orcid("0000-0002-1825-0098") == "0000-0002-1825-0098"
    assert not orcid_checksum_ok("0000-0002-1825-0098")
    assert normalize_orcid("0000-0002-1825-0098") is None


def test_orcid_url():
    assert orcid_url("0000-0002-1825-0097") == "https://orcid.org/0000-0002-1825-0097"
    assert orcid_url("") == ""


# --- OpenAlex ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "W123",
        "w123",
        "https://openalex.org/W123",
        "http://openalex.org/W123/",
        "https://openalex.org/works/W123",
        "openalex.org/W123",
        "https://api.openalex.org/works/W123",
        "api.openalex.org/works/w123",
        "www.openalex.org/W123",
    ],
)
def test_openalex_forms(value):
    parsed = parse_openalex_id(value)
    assert parsed == OpenAlexId("W", "123")
    assert parsed.key == "W123"
    assert parsed.entity == "work"
    assert parsed.url == "https://openalex.org/W123"
    assert openalex_url(value) == "https://openalex.org/W123"


@pytest.mark.parametrize("value", ["", None, "123", "W", "WX12", "https://example.org/W123x"])
def test_not_an_openalex_id(value):
    assert parse_openalex_id(value) is None
    assert openalex_url(value or "") == ""


def test_venue_ids_are_stored_as_sources():
    assert openalex_url("V42") == "https://openalex.org/S42"
    assert parse_entity_id("https://openalex.org/V42").source_id == "https://openalex.org/S42"


def test_entity_ids_skip_funders_and_collections_and_keep_local_ids():
    assert parse_entity_id("F1").stored is False
    assert parse_entity_id("https://openalex.org/keywords/k1").entity == "keyword"
    local = parse_entity_id("urn:bzpeer:test:A7")
    assert (local.entity, local.source_id, local.stored) == ("author", "urn:bzpeer:test:A7", True)
    assert parse_entity_id("X1") is None


def test_source_id_for_the_wanted_entity_only():
    assert parse_source_id("openalex.org/authors/A5", "author") == "https://openalex.org/A5"
    assert parse_source_id("A5", "work") is None
    assert parse_source_id("Ada Lovelace", "author") is None


# --- DOI --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "10.1234/ABC.def",
        "doi:10.1234/abc.DEF",
        "DOI: 10.1234/abc.def",
        "https://doi.org/10.1234/abc.def",
        "http://dx.doi.org/10.1234/abc.def",
        "doi.org/10.1234/abc.def",
    ],
)
def test_doi_forms(value):
    assert normalize_doi(value) == "10.1234/abc.def"


@pytest.mark.parametrize("value", ["", None, "10.12/x", "11.1234/x", "10.1234/", "a title"])
def test_not_a_doi(value):
    assert normalize_doi(value) is None


def test_doi_url():
    assert doi_url("10.1234/abc") == "https://doi.org/10.1234/abc"


# --- arXiv ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2101.00001", "2101.00001"),
        ("2101.00001v3", "2101.00001"),
        ("arXiv:2101.00001", "2101.00001"),
        ("https://arxiv.org/abs/2101.00001v2", "2101.00001"),
        ("https://export.arxiv.org/pdf/2101.00001.pdf", "2101.00001"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("math.AG/0601001v1", "math.AG/0601001"),
    ],
)
def test_arxiv_forms(value, expected):
    assert normalize_arxiv(value) == expected


@pytest.mark.parametrize("value", ["", None, "21.0001", "https://example.org/abs/2101.00001"])
def test_not_an_arxiv_id(value):
    assert normalize_arxiv(value) == ""


def test_arxiv_from_its_doi_and_url():
    assert arxiv_from_doi("10.48550/arXiv.2101.00001") == "2101.00001"
    assert arxiv_from_doi("10.1234/x") == ""
    assert arxiv_url("2101.00001") == "https://arxiv.org/abs/2101.00001"


# --- ROR --------------------------------------------------------------------------------


def test_ror_forms():
    assert normalize_ror("05dxps055") == "https://ror.org/05dxps055"
    assert normalize_ror("https://ror.org/05DXPS055/") == "https://ror.org/05dxps055"
    assert normalize_ror("not a ror") == ""
