"""Scholarly identifiers: ORCID iD, OpenAlex id, DOI, arXiv id, ROR id.

One place parses, normalises, validates and formats each of them, for the importer, the
claims rules, the admin's search boxes and the site's search. Pure functions: no database,
no settings. Each `normalize_*` returns the form the database stores (and compares), or
None / "" when the value is not such an identifier; each `*_url` gives the resolvable link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- ORCID iD -------------------------------------------------------------------------------

ORCID_BASE = "https://orcid.org/"

_ORCID = re.compile(
    r"^(?:(?:https?://)?(?:www\.|sandbox\.)?orcid\.org/|orcid:\s*)?"
    r"(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])/?$",
    re.IGNORECASE,
)


def parse_orcid(value: str | None) -> str | None:
    """The stored form `0000-0002-1825-0097` (hyphenated, capital X) from that form, the
    digits without hyphens, `orcid:...` or an orcid.org URL; the checksum is not checked.

    For comparing iDs read from elsewhere (an ORCID sign-in, an OpenAlex record, a search
    box): a mistyped iD then simply matches nothing."""
    if not value:
        return None
    match = _ORCID.match(value.strip())
    return "-".join(match.groups()).upper() if match else None


def orcid_checksum_ok(orcid: str) -> bool:
    """ISO 7064 MOD 11-2 over the 15 digits, as ORCID computes the last character."""
    digits = orcid.replace("-", "").upper()
    if len(digits) != 16 or not (digits[:15].isascii() and digits[:15].isdigit()):
        return False
    total = 0
    for char in digits[:15]:
        total = (total + int(char)) * 2
    result = (12 - total % 11) % 11
    return digits[15] == ("X" if result == 10 else str(result))


def normalize_orcid(value: str | None) -> str | None:
    """`parse_orcid`, and None unless the checksum holds: for an iD a person types in."""
    orcid = parse_orcid(value)
    return orcid if orcid and orcid_checksum_ok(orcid) else None


def orcid_url(orcid: str) -> str:
    return f"{ORCID_BASE}{orcid}" if orcid else ""


# --- OpenAlex id ----------------------------------------------------------------------------

OPENALEX = "https://openalex.org/"

# Letter of an id's last segment -> the entity we store it as. V was OpenAlex's letter for
# venues before they became sources (same number), so old snapshots still carry it.
STORED_ENTITIES = {
    "W": "work",
    "A": "author",
    "I": "institution",
    "S": "source",
    "V": "source",
    "T": "topic",
    "C": "concept",
}
# Entities the importer reads past on purpose: counted, not reported as errors.
SKIPPED_LETTERS = {"F": "funder", "P": "publisher"}
SKIPPED_COLLECTIONS = {
    "keywords": "keyword",
    "subfields": "subfield",
    "fields": "field",
    "domains": "domain",
    "sdgs": "sdg",
    "countries": "country",
    "continents": "continent",
    "languages": "language",
    "licenses": "license",
    "institution-types": "institution type",
    "source-types": "source type",
    "work-types": "work type",
    "awards": "award",
}

_SHORT_KEY = re.compile(r"^([A-Za-z])(\d+)$")
_OPENALEX_URL = re.compile(r"^https?://(?:www\.|api\.)?openalex\.org/(.+?)/?$", re.IGNORECASE)
_OPENALEX_HOSTS = ("openalex.org/", "api.openalex.org/", "www.openalex.org/")


@dataclass(frozen=True, slots=True)
class OpenAlexId:
    """An OpenAlex key: the entity letter (upper case) and the number, e.g. W, 123."""

    letter: str
    number: str

    @property
    def key(self) -> str:
        return f"{self.letter}{self.number}"

    @property
    def entity(self) -> str | None:
        return STORED_ENTITIES.get(self.letter) or SKIPPED_LETTERS.get(self.letter)

    @property
    def url(self) -> str:
        """The canonical URL, as stored in `source_id` (venues V... are stored as S...)."""
        return openalex_url(self)


def _with_scheme(value: str) -> str:
    return f"https://{value}" if value.lower().startswith(_OPENALEX_HOSTS) else value


def parse_openalex_id(value: str | None) -> OpenAlexId | None:
    """`W123`, `w123`, `https://openalex.org/W123`, `openalex.org/works/W123`,
    `https://api.openalex.org/authors/A5` -> OpenAlexId; anything else -> None."""
    if not value:
        return None
    text = _with_scheme(value.strip())
    match = _OPENALEX_URL.match(text)
    key = match.group(1).split("/")[-1] if match else text
    key_match = _SHORT_KEY.match(key)
    if not key_match:
        return None
    return OpenAlexId(key_match.group(1).upper(), key_match.group(2))


def openalex_url(value: OpenAlexId | str) -> str:
    """`https://openalex.org/W123` for an OpenAlexId or any form parse_openalex_id reads;
    "" when it is not one."""
    parsed = value if isinstance(value, OpenAlexId) else parse_openalex_id(value)
    if parsed is None:
        return ""
    letter = "S" if parsed.letter == "V" else parsed.letter
    return f"{OPENALEX}{letter}{parsed.number}"


@dataclass(frozen=True, slots=True)
class EntityId:
    """An id read from a record: which entity it names and the id we store (source_id)."""

    entity: str  # "work", "author", ... or a skipped entity's name
    source_id: str
    stored: bool


def parse_entity_id(raw: str) -> EntityId | None:
    """Tell the entity from the letter of the id's last segment; None when unknown.

    OpenAlex URLs (and bare keys like "W123") are canonicalised to https://openalex.org/W123
    so the same record always lands on the same row; local ids (urn:bzpeer:...) are kept as
    they are and read by the last ':'/'/' segment.
    """
    value = raw.strip()
    if not value:
        return None
    match = _OPENALEX_URL.match(value)
    if match:
        segments = match.group(1).split("/")
        canonical = True
    elif _SHORT_KEY.match(value):
        segments = [value]
        canonical = True
    else:
        segments = re.split(r"[/:]", value)
        canonical = False
    key = segments[-1]
    if len(segments) >= 2 and segments[-2].lower() in SKIPPED_COLLECTIONS:
        return EntityId(SKIPPED_COLLECTIONS[segments[-2].lower()], value, stored=False)
    key_match = _SHORT_KEY.match(key)
    if not key_match:
        return None
    letter = key_match.group(1).upper()
    if letter in SKIPPED_LETTERS:
        return EntityId(SKIPPED_LETTERS[letter], value, stored=False)
    if letter not in STORED_ENTITIES:
        return None
    if canonical:
        value = openalex_url(OpenAlexId(letter, key_match.group(2)))
    return EntityId(STORED_ENTITIES[letter], value, stored=True)


def parse_source_id(term: str, *entities: str) -> str | None:
    """The stored source id when `term` names a record of one of `entities` ("author",
    "work", ...): a key (`A123`), an OpenAlex URL with or without its scheme or collection
    (`openalex.org/authors/A123`), or a local `urn:bzpeer:...:A123` id; else None."""
    term = _with_scheme(term.strip())
    parsed = parse_entity_id(term) if term else None
    if parsed and parsed.stored and parsed.entity in entities:
        return parsed.source_id
    return None


# --- DOI ------------------------------------------------------------------------------------

DOI_BASE = "https://doi.org/"

_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_DOI_PREFIXES = (
    "https://doi.org/",
    "http://doi.org/",
    "https://dx.doi.org/",
    "http://dx.doi.org/",
    "doi.org/",
    "dx.doi.org/",
    "doi:",
)


def normalize_doi(value: str | None) -> str | None:
    """The bare lowercase form `10.xxxx/...` from that form, `doi:...` or a doi.org URL;
    None when it is not a DOI (DOIs are case-insensitive, so lowercase is the key)."""
    if not value:
        return None
    text = value.strip().lower()
    for prefix in _DOI_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
            break
    if not _DOI.match(text) or len(text) > 255:
        return None
    return text


def doi_url(doi: str) -> str:
    return f"{DOI_BASE}{doi}" if doi else ""


# --- arXiv ----------------------------------------------------------------------------------

ARXIV_BASE = "https://arxiv.org/abs/"

_ARXIV_KEY = r"(\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[a-z]{2})?/\d{7})"
_ARXIV_BARE = re.compile(rf"^(?:arxiv:)?\s*{_ARXIV_KEY}(?:v\d+)?$", re.IGNORECASE)
_ARXIV_URL = re.compile(
    rf"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/{_ARXIV_KEY}(?:v\d+)?(?:\.pdf)?/?$",
    re.IGNORECASE,
)
_ARXIV_DOI = re.compile(rf"^10\.48550/arxiv\.{_ARXIV_KEY}(?:v\d+)?$", re.IGNORECASE)


def normalize_arxiv(value: str | None) -> str:
    """The id without its version (`2101.00001`, `hep-th/9901001`) from that form,
    `arXiv:...`, a versioned id or an arxiv.org abs/pdf URL; "" when it is not one."""
    if not value:
        return ""
    text = value.strip()
    match = _ARXIV_BARE.match(text) or _ARXIV_URL.match(text)
    return match.group(1) if match else ""


def arxiv_from_url(value: str | None) -> str:
    """Only an arxiv.org URL (a landing page), not a bare id."""
    if not value:
        return ""
    match = _ARXIV_URL.match(value.strip())
    return match.group(1) if match else ""


def arxiv_from_doi(doi: str | None) -> str:
    """arXiv registers DOIs of the form 10.48550/arXiv.<id>."""
    if not doi:
        return ""
    match = _ARXIV_DOI.match(doi)
    return match.group(1) if match else ""


def arxiv_url(arxiv_id: str) -> str:
    return f"{ARXIV_BASE}{arxiv_id}" if arxiv_id else ""


# --- ROR ------------------------------------------------------------------------------------

_ROR = re.compile(r"^(?:https?://(?:www\.)?ror\.org/)?(0[a-z0-9]{6}\d{2})/?$", re.IGNORECASE)


def normalize_ror(value: str | None) -> str:
    """https://ror.org/0xxxxxxNN (ROR's canonical, resolvable form); "" when malformed."""
    if not value:
        return ""
    match = _ROR.match(value.strip())
    return f"https://ror.org/{match.group(1).lower()}" if match else ""
