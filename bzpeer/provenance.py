"""Where a record came from: the source's name and the public page of the source record."""

from __future__ import annotations

OPENALEX_PREFIX = "https://openalex.org/"
LOCAL_PREFIX = "urn:bzpeer:"


def source_name(source_id: str) -> str:
    if source_id.startswith(OPENALEX_PREFIX):
        return "OpenAlex"
    if source_id.startswith(LOCAL_PREFIX):
        return "BZPEER (built by hand)"
    return "the source record"


def source_url(source_id: str) -> str:
    """The public page of the source record ("" for a record with no public page)."""
    if source_id.startswith(OPENALEX_PREFIX):
        return source_id
    return ""
