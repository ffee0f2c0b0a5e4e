"""Pure helpers: OpenAlex ids and entities, DOI/ORCID/arXiv/ROR forms, plain text."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3

OPENALEX = "https://openalex.org/"
PLACEHOLDER_AUTHOR_KEY = "A9999999999"

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
# Entities we read past on purpose: they are counted, not reported as errors.
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
_FAST_LETTERS = frozenset(STORED_ENTITIES)
_OPENALEX_URL = re.compile(r"^https?://(?:www\.|api\.)?openalex\.org/(.+?)/?$", re.IGNORECASE)


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
    # The common case, a canonical URL of a stored entity, without the general parse.
    if value.startswith(OPENALEX):
        key = value[len(OPENALEX) :]
        letter = key[:1]
        if letter in _FAST_LETTERS and key[1:].isdigit() and key[1:].isascii():
            return EntityId(STORED_ENTITIES[letter], value if letter != "V" else
                            f"{OPENALEX}S{key[1:]}", stored=True)  # fmt: skip
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
        stored_letter = "S" if letter == "V" else letter
        value = f"{OPENALEX}{stored_letter}{key_match.group(2)}"
    return EntityId(STORED_ENTITIES[letter], value, stored=True)


def is_placeholder_author(source_id: str) -> bool:
    # OpenAlex lists unresolved authors under one shared fake id; it is nobody.
    return source_id.endswith(PLACEHOLDER_AUTHOR_KEY)


_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/")


def normalize_doi(raw: str | None) -> str | None:
    """The bare lowercase form, 10.xxxx/...; None when it is not a DOI."""
    if not raw:
        return None
    value = raw.strip().lower()
    for prefix in (*_DOI_PREFIXES, "doi:"):
        if value.startswith(prefix):
            value = value[len(prefix) :].strip()
            break
    if not _DOI.match(value) or len(value) > 255:
        return None
    return value


_ORCID = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")


def normalize_orcid(raw: str | None) -> str | None:
    """0000-0000-0000-000X; None when absent or malformed."""
    if not raw:
        return None
    value = raw.strip()
    value = re.sub(r"^https?://(?:www\.)?orcid\.org/", "", value, flags=re.IGNORECASE).upper()
    return value if _ORCID.match(value) else None


_ROR = re.compile(r"^(?:https?://(?:www\.)?ror\.org/)?(0[a-z0-9]{6}\d{2})/?$", re.IGNORECASE)


def normalize_ror(raw: str | None) -> str:
    """https://ror.org/0xxxxxxNN (ROR's canonical, resolvable form); "" when malformed."""
    if not raw:
        return ""
    match = _ROR.match(raw.strip())
    return f"https://ror.org/{match.group(1).lower()}" if match else ""


_ARXIV_KEY = r"(\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[a-z]{2})?/\d{7})"
_ARXIV_BARE = re.compile(rf"^(?:arxiv:)?{_ARXIV_KEY}(?:v\d+)?$", re.IGNORECASE)
_ARXIV_URL = re.compile(
    rf"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/{_ARXIV_KEY}(?:v\d+)?(?:\.pdf)?/?$",
    re.IGNORECASE,
)
_ARXIV_DOI = re.compile(rf"^10\.48550/arxiv\.{_ARXIV_KEY}(?:v\d+)?$", re.IGNORECASE)


def arxiv_from_id(raw: str | None) -> str:
    """An arXiv id (no version) from `ids.arxiv`: a bare id, "arXiv:..." or an arxiv.org URL."""
    if not raw:
        return ""
    value = raw.strip()
    match = _ARXIV_BARE.match(value) or _ARXIV_URL.match(value)
    return match.group(1) if match else ""


def arxiv_from_url(raw: str | None) -> str:
    if not raw:
        return ""
    match = _ARXIV_URL.match(raw.strip())
    return match.group(1) if match else ""


def arxiv_from_doi(doi: str | None) -> str:
    """arXiv registers DOIs of the form 10.48550/arXiv.<id>."""
    if not doi:
        return ""
    match = _ARXIV_DOI.match(doi)
    return match.group(1) if match else ""


# Markup found in real OpenAlex titles and abstracts (JATS, HTML, MathML).
_TAG = re.compile(r"<(/?)([A-Za-z][\w.-]*(?::[\w.-]+)?)[^<>]*>")
_BLOCK_TAGS = {
    "p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "title",
    "sec", "section", "abstract", "table", "tr", "td", "th", "label", "caption",
    "list", "list-item", "blockquote",
}  # fmt: skip
_TIGHT_TAGS = {"sub", "sup", "inf"}


def _separate_tags(text: str) -> str:
    """Keep words apart where markup was their only separator.

    Crossref-derived titles lose the spaces around inline markup ("Using<b>lme4</b>",
    "<i>Planck</i>2018 results") and abstracts run headings into text ("</h3>Background").
    Block tags always separate; inline tags separate only where they touch a word; sub/sup
    and MathML never do ("H<sub>2</sub>O" stays "H2O").
    """

    def spaced(match: re.Match[str]) -> str:
        tag, closing, name = match.group(0), match.group(1), match.group(2).lower()
        local = name.rsplit(":", 1)[-1]
        if local in _BLOCK_TAGS:
            return f" {tag} "
        if local in _TIGHT_TAGS or name.startswith("mml:"):
            return tag
        start, end = match.start(), match.end()
        if not closing and start and text[start - 1].isalnum():
            return f" {tag}"
        if closing and end < len(text) and text[end].isalnum():
            return f"{tag} "
        return tag

    return _TAG.sub(spaced, text)


# Element names that real titles and abstracts carry as markup (HTML, JATS, MathML). A `<`
# that opens anything else ("x<y", "ranged from <LOD") is text, not a tag.
_KNOWN_TAGS = {
    "a", "abbr", "b", "big", "blockquote", "body", "br", "center", "cite", "code", "dd",
    "del", "dfn", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6",
    "head", "hr", "html", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q",
    "s", "samp", "script", "small", "span", "strike", "strong", "style", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var", "wbr",
    "abstract", "bold", "break", "caption", "disp-formula", "email", "ext-link", "fig",
    "inf", "inline-formula", "italic", "label", "list", "list-item", "math", "mi", "mn",
    "mo", "mrow", "msub", "msubsup", "msup", "mfrac", "msqrt", "mtext", "monospace",
    "named-content", "overline", "sc", "scp", "sec", "section", "styled-content", "tex-math",
    "title", "underline", "uri", "xref",
}  # fmt: skip
_MARKUP_AT = re.compile(
    r"<(?:!--.*?-->|/?([A-Za-z][\w.-]*)(?::([\w.-]+))?(?:\s[^<>]*)?/?>)", re.DOTALL
)


def _escape_stray_lt(text: str) -> str:
    """Escape every `<` that does not open a known tag or a comment, so the HTML cleaner
    keeps the text after it instead of reading it as the start of a tag."""
    if "<" not in text:
        return text
    parts: list[str] = []
    position = 0
    while (found := text.find("<", position)) != -1:
        parts.append(text[position:found])
        match = _MARKUP_AT.match(text, found)
        if match and (
            match.group(1) is None  # a comment
            or match.group(2) is not None  # a namespaced tag: jats:p, mml:math
            or match.group(1).lower() in _KNOWN_TAGS
        ):
            parts.append(match.group(0))
            position = match.end()
        else:
            parts.append("&lt;")
            position = found + 1
    parts.append(text[position:])
    return "".join(parts)


def plain_text(raw: str | None) -> str:
    """Markup-free text: tags stripped (nh3), entities decoded, whitespace collapsed.
    A literal `<` that opens no known tag is kept as text."""
    if not raw:
        return ""
    cleaned = nh3.clean(_separate_tags(_escape_stray_lt(raw)), tags=set())
    # Postgres text cannot hold NUL; nothing legitimate uses it.
    text = html.unescape(cleaned).replace("\x00", "")
    return " ".join(text.split())


def rebuild_abstract(inverted_index: dict[str, list[int]] | None) -> str:
    """Sort the (position, word) pairs and join them with spaces; None gives ""."""
    if not inverted_index:
        return ""
    placed: dict[int, list[str]] = {}
    for word, positions in inverted_index.items():
        for position in positions:
            placed.setdefault(position, []).append(word)
    # Words sharing a position keep the (position, word) order a sort of pairs would give.
    return " ".join(word for position in sorted(placed) for word in sorted(placed[position]))
