"""An exact identifier typed into the search field goes straight to its record.

The forms are recognised by the shared identifier helpers (never parsed here); this
module only looks the normalised value up.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from bzpeer.identifiers import (
    normalize_arxiv,
    normalize_doi,
    normalize_orcid,
    normalize_ror,
    parse_openalex_id,
)
from profiles.models import Researcher
from works.models import Institution, Topic, Work

Record = Researcher | Work | Institution | Topic


@dataclass(frozen=True)
class Identified:
    """What the query names: its kind and label, and the record when it exists."""

    kind: str  # "ORCID iD", "DOI", "arXiv id", "OpenAlex id", "ROR id"
    value: str
    record: Record | None


def _openalex_record(entity: str, source_id: str) -> Record | None:
    if entity == "author":
        return Researcher.objects.filter(source_id=source_id, hidden_at__isnull=True).first()
    if entity == "work":
        return Work.objects.filter(source_id=source_id, is_hidden=False).first()
    if entity == "institution":
        return Institution.objects.filter(source_id=source_id).first()
    if entity in {"topic", "concept"}:
        return Topic.objects.filter(source_id=source_id).first()
    return None


def identify(query: str) -> Identified | None:
    """The record an exact identifier names (one query), or None when the query is not an
    identifier. A well-formed identifier with no record comes back with record=None, and
    so does one naming a hidden researcher or work: an identifier never reveals them."""
    text = query.strip()
    if not text or " " in text:
        return None
    if orcid := normalize_orcid(text):
        # The current record before a merged duplicate (which would redirect to it).
        record = (
            Researcher.objects.filter(orcid=orcid, hidden_at__isnull=True)
            .order_by("merged_into_id", "pk")
            .first()
        )
        return Identified("ORCID iD", orcid, record)
    if doi := normalize_doi(text):
        return Identified("DOI", doi, Work.objects.filter(doi=doi, is_hidden=False).first())
    if arxiv := normalize_arxiv(text):
        work = Work.objects.filter(arxiv_id=arxiv, is_hidden=False).first()
        return Identified("arXiv id", arxiv, work)
    if (openalex := parse_openalex_id(text)) and openalex.entity:
        if openalex.entity in {"author", "work", "institution", "topic", "concept"}:
            return Identified(
                "OpenAlex id", openalex.url, _openalex_record(openalex.entity, openalex.url)
            )
        return None
    if ror := normalize_ror(text):
        # Stored as the ror.org URL (OpenAlex) or, on hand-built records, the bare id.
        bare = ror.rsplit("/", 1)[-1]
        institution = Institution.objects.filter(Q(ror__iexact=ror) | Q(ror__iexact=bare)).first()
        return Identified("ROR id", ror, institution)
    return None
