"""Pure helpers for the importer: plain text from markup, abstracts, and the identifier
forms of bzpeer.identifiers under the names the importer uses."""

from __future__ import annotations

import html
import re

import nh3

from bzpeer.identifiers import (  # noqa: F401  (re-exported for the importer)
    OPENALEX,
    SKIPPED_COLLECTIONS,
    SKIPPED_LETTERS,
    STORED_ENTITIES,
    EntityId,
    arxiv_from_doi,
    arxiv_from_url,
    normalize_arxiv,
    normalize_doi,
    normalize_ror,
    parse_entity_id,
    parse_orcid,
)

PLACEHOLDER_AUTHOR_KEY = "A9999999999"


def is_placeholder_author(source_id: str) -> bool:
    # OpenAlex lists unresolved authors under one shared fake id; it is nobody.
    return source_id.endswith(PLACEHOLDER_AUTHOR_KEY)


# The importer keeps an ORCID iD whose checksum fails as OpenAlex gives it (the format is
# checked): it only ever links a record to that iD, and a claim still needs an ORCID sign-in.
normalize_orcid = parse_orcid
arxiv_from_id = normalize_arxiv


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


def plain_text(raw: str | None) -> str:
    """Markup-free text: tags stripped (nh3), entities decoded, whitespace collapsed."""
    if not raw:
        return ""
    cleaned = nh3.clean(_separate_tags(raw), tags=set())
    # Postgres text cannot hold NUL; nothing legitimate uses it.
    text = html.unescape(cleaned).replace("\x00", "")
    return " ".join(text.split())


def rebuild_abstract(inverted_index: dict[str, list[int]] | None) -> str:
    """Sort the (position, word) pairs and join them with spaces; None gives ""."""
    if not inverted_index:
        return ""
    pairs = sorted(
        (position, word) for word, positions in inverted_index.items() for position in positions
    )
    return " ".join(word for _, word in pairs)
