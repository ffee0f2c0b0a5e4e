"""The audit context a curation change runs in (django-pghistory).

Every event row written while the context is open points at one context row, whose
metadata says who (`user`), what kind of curation (`curation`), which profiles it corrects
(`researchers`) and a public sentence per change (`notes`). The public "corrections" list
of a profile reads those rows (profiles/queries.py); it never shows `user`.

Inside a request the middleware has already opened a context: the metadata is added to it
(researchers and notes accumulate, so one bulk action is one entry with all its notes).
"""

from __future__ import annotations

from collections.abc import Iterable

import pghistory
from pghistory import runtime

from bzpeer.types import AnyUser

# A hyper-authored work lists thousands of authors; the context travels with every SQL
# statement of the change, so it names at most this many profiles.
MAX_RESEARCHERS = 500


def current_metadata() -> dict:
    tracker = getattr(runtime._tracker, "value", None)
    return dict(tracker.metadata) if tracker is not None else {}


def curation_context(
    *, action: str, curator: AnyUser | None, researcher_ids: Iterable[int | None], note: str
) -> pghistory.context:
    """Open (with `with`) or extend the audit context of a curation change."""
    current = current_metadata()
    ids = {pk for pk in researcher_ids if pk} | set(current.get("researchers", []))
    notes = [*current.get("notes", []), note] if note else current.get("notes", [])
    metadata = {
        "curation": action,
        "researchers": sorted(ids)[:MAX_RESEARCHERS],
        "notes": notes,
    }
    if curator is not None and getattr(curator, "pk", None):
        metadata["user"] = curator.pk
    return pghistory.context(**metadata)
