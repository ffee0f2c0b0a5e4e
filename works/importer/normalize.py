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


# Entity-encoded markup nests rarely more than twice (`&amp;lt;b&amp;gt;`); past this many
# rounds of decoding, whatever still looks like a tag loses its `<`.
_DECODE_ROUNDS = 5


def _strip_and_decode(text: str) -> str:
    return html.unescape(nh3.clean(_separate_tags(_escape_stray_lt(text)), tags=set()))


def plain_text(raw: str | None) -> str:
    """Markup-free text: tags stripped (nh3), entities decoded, whitespace collapsed.
    A literal `<` that opens no known tag is kept as text.

    Decoding can make a tag of escaped markup (`&lt;script&gt;`, or `<<b>i>` once `<b>` is
    gone), so stripping and decoding repeat until the text stays the same: no tag
    survives."""
    if not raw:
        return ""
    if "<" not in raw and "&" not in raw and "\x00" not in raw:
        return " ".join(raw.split())  # nothing for the cleaner to do (most titles)
    # Postgres text cannot hold NUL; nothing legitimate uses it.
    text = raw.replace("\x00", "")
    for _ in range(_DECODE_ROUNDS):
        cleaned = _strip_and_decode(text).replace("\x00", "")
        if cleaned == text:
            break
        text = cleaned
    else:
        if _strip_and_decode(text) != text:
            text = text.replace("<", "")
    return " ".join(text.split())


def rebuild_abstract(inverted_index: dict[str, list[int]] | None) -> str:
    """Sort the (position, word) pairs and join them with spaces; None gives ""."""
    if not inverted_index:
        return ""
    # Usually every position from 0 holds exactly one word: place them directly.
    size = sum(map(len, inverted_index.values()))
    slots: list[str | None] = [None] * size
    try:
        for word, positions in inverted_index.items():
            for position in positions:
                if slots[position] is not None or position < 0:
                    raise IndexError(position)
                slots[position] = word
    except IndexError:
        # Gaps or shared positions: words sharing a position keep the (position, word)
        # order a sort of pairs gives.
        pairs = [(p, w) for w, positions in inverted_index.items() for p in positions]
        pairs.sort()
        return " ".join(word for _, word in pairs)
    return " ".join(slots)  # type: ignore[arg-type]  # every slot filled
