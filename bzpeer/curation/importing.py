"""An OpenAlex import followed by the refresh of everything derived from what it touched.

The importer (works.importer) only writes records and says which researchers it touched;
this is where the refresh (counts, co-author edges now; trust and graph slices queued)
is attached, so `manage.py import_openalex`, a shell and the tests import the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.db import connection

from bzpeer.curation import derived
from graph.models import CoauthorEdge
from profiles.models import ResearcherSearch, ResearcherTopic
from works.importer import service, touched
from works.importer.service import ImportResult
from works.models import Authorship, Work


def refresh_after_import(read: touched.Pending) -> None:
    # Looked up on the module at call time, so a test may stand in for the refresh. Merged
    # ids go through the curation services, which refresh their own records.
    derived.refresh_after_import(read)


# Read by index-only scans when the next import's refresh reads a researcher's works, a
# pair's shared works or the stored edges: those scans skip the table only on pages the
# visibility map marks all-visible, which only VACUUM sets. After a large import (and a
# full rebuild swapping in new tables) nothing is marked, and with autovacuum off (as on
# some machines) nothing ever would be.
VACUUMED_AFTER_IMPORT = (
    Work,  # its listing index: whether a work is listed, its team and year
    Authorship,
    Authorship.institutions.through,
    Work.topics.through,
    CoauthorEdge,
    ResearcherTopic,
    ResearcherSearch,  # search matches words in its prior index, by index only
)


def vacuum_after_import() -> None:
    """VACUUM (ANALYZE) the tables a large import and its refresh rewrote. Outside a
    transaction only (VACUUM cannot run in one): a no-op inside one."""
    if connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model in VACUUMED_AFTER_IMPORT:
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")


def import_openalex(paths: Iterable[str | Path], **options: Any) -> ImportResult:
    """works.importer.service.import_openalex (same options), then refresh_derived_data."""
    return service.import_openalex(paths, on_finish=refresh_after_import, **options)
