"""An OpenAlex import followed by the refresh of everything derived from what it touched.

The importer (works.importer) only writes records and says which researchers it touched;
this is where the refresh (counts, co-author edges now; trust and graph slices queued)
is attached, so `manage.py import_openalex`, a shell and the tests import the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bzpeer.curation import derived
from works.importer import service
from works.importer.service import ImportResult


def refresh_after_import(researcher_ids: set[int]) -> None:
    # Looked up on the module at call time, so a test may stand in for the refresh. The
    # importer hides, shows and merges no researcher itself (merged ids go through the
    # curation services, which refresh their own records).
    derived.refresh_derived_data(researcher_ids=researcher_ids, visibility_unchanged=True)


def import_openalex(paths: Iterable[str | Path], **options: Any) -> ImportResult:
    """works.importer.service.import_openalex (same options), then refresh_derived_data."""
    return service.import_openalex(paths, on_finish=refresh_after_import, **options)
