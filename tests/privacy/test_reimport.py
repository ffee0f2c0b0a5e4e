"""A hidden record stays hidden after its file is imported again: no import writes the
privacy columns, even when the record itself changed at the source."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from bzpeer.curation import services as curation
from claims.models import HideRequest
from profiles.models import Researcher
from works.models import Work

pytestmark = pytest.mark.django_db

SEED = Path(settings.BASE_DIR) / "bzpeer" / "demo_data" / "seed_profile"
TEVEN = "urn:bzpeer:seed:A1"


def import_paths(*paths: Path) -> None:
    call_command("import_openalex", *map(str, paths), stdout=io.StringIO(), stderr=io.StringIO())


def test_reimporting_the_records_file_never_unhides_it(tmp_path, curator):
    import_paths(SEED)
    teven = Researcher.objects.get(source_id=TEVEN)
    for scope in (HideRequest.Scope.PROFILE, HideRequest.Scope.SUMMARY):
        request = HideRequest.objects.create(
            researcher=teven, name="T", email="t@example.org", scope=scope, message="Hide me."
        )
        curation.approve_hide_request(request=request, curator=curator)
    teven.refresh_from_db()
    hidden_at = teven.hidden_at
    assert hidden_at is not None

    # The same file again, then a changed copy of the author record (new summary-like
    # fields and name variants at the source).
    import_paths(SEED / "authors.jsonl.gz")
    with gzip.open(SEED / "authors.jsonl.gz", "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    records[0]["display_name_alternatives"] = ["T. Le Scao"]
    changed = tmp_path / "authors.jsonl"
    changed.write_text("".join(json.dumps(r) + "\n" for r in records))
    import_paths(changed, SEED / "works.jsonl.gz")

    teven.refresh_from_db()
    assert teven.alternative_names == ["T. Le Scao"]  # the import did run
    assert (teven.hidden_at, teven.summary_hidden) == (hidden_at, True)
    assert Client().get(teven.get_absolute_url()).status_code == 410
    # Its works stay public.
    work = Work.objects.filter(authorships__researcher=teven).first()
    assert Client().get(work.get_absolute_url()).status_code == 200
