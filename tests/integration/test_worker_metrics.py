"""Citation metrics computed by a real Celery worker after a real import, equal to a
direct computation over the works the profile lists."""

from __future__ import annotations

import pytest

from claims.listing import researcher_works
from profiles.metrics import h_index, i10_index
from profiles.models import Researcher
from tests.waiting import wait_until
from tests.works.conftest import OPENALEX_DEMO, demo_records, run_command, write_jsonl

WORKER_TIMEOUT = 60


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_import_has_the_worker_compute_metrics(celery_worker, tmp_path, client):
    works = demo_records(OPENALEX_DEMO / "works.jsonl.gz")[:40]
    assert run_command(write_jsonl(tmp_path / "works.jsonl", works)).error is None
    # The import queued recomputation on commit: only the worker computes the figures.
    named = Researcher.objects.filter(authorships__isnull=False).distinct()

    def computed() -> bool:
        return not named.filter(metrics_computed_at__isnull=True).exists()

    wait_until(computed, timeout=WORKER_TIMEOUT, what="the worker to compute metrics")
    celery_worker.wait_idle(timeout=WORKER_TIMEOUT)
    most_cited = named.order_by("-citations_count").first()
    for researcher in named:
        cited = list(researcher_works(researcher).values_list("cited_by_count", flat=True))
        assert researcher.h_index == h_index(cited)
        assert researcher.i10_index == i10_index(cited)
        assert researcher.citations_count == sum(c for c in cited if c is not None)
        assert researcher.works_with_citations == sum(c is not None for c in cited)
    assert most_cited.citations_count > 0

    html = client.get(most_cited.get_absolute_url()).content.decode()
    assert f'id="stat-citations">{most_cited.citations_count:,}<' in html
    assert "Citations per year," in html
