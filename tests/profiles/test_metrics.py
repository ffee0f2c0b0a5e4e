from __future__ import annotations

import pytest

from bzpeer.curation.derived import (
    recompute_metrics,
    recompute_researchers,
    refresh_researcher_counts,
)
from claims.listing import researcher_works
from claims.models import NotMeReport
from profiles.metrics import citations_per_year, h_index, i10_index
from profiles.models import Researcher
from tests.factories import AuthorshipFactory, ResearcherFactory, UserFactory, WorkFactory
from tests.works.conftest import OPENALEX_DEMO, SEED, run_command

# --- the definitions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("citations", "expected"),
    [
        ([], 0),
        ([0, 0, 0], 0),
        ([None, None], 0),
        ([7], 1),
        ([0], 0),
        ([3, 3, 3], 3),  # ties at the threshold all count
        ([3, 3, 3, 3], 3),
        ([10, 10, 10, 10], 4),
        ([25, 8, 5, 3, 3], 3),
        ([1, 1, 1, 1, 1], 1),
        ([100, 0, None], 1),
    ],
)
def test_h_index(citations, expected):
    assert h_index(citations) == expected


@pytest.mark.parametrize(
    ("citations", "expected"),
    [([], 0), ([9, 9], 0), ([10], 1), ([10, 11, 9, None, 1000], 3), ([None], 0)],
)
def test_i10_index(citations, expected):
    assert i10_index(citations) == expected


def test_citations_per_year_sums_works_and_skips_missing_counts():
    rows = citations_per_year(
        [
            [{"year": 2023, "cited_by_count": 2}, {"year": 2024, "cited_by_count": 5}],
            None,
            [{"year": 2024, "cited_by_count": 1}, {"year": 2022}],
        ]
    )
    assert rows == {"2023": 2, "2024": 6}


# --- the worker's set-based computation -------------------------------------------------------


def _work(researcher, cited, **kwargs):
    work = WorkFactory(cited_by_count=cited, **kwargs)
    AuthorshipFactory(work=work, researcher=researcher)
    return work


@pytest.mark.django_db
def test_recompute_matches_the_definitions_and_leaves_out_hidden_and_not_me_works():
    researcher = ResearcherFactory()
    _work(researcher, 25, counts_by_year=[{"year": 2024, "cited_by_count": 20}])
    _work(researcher, 12, counts_by_year=[{"year": 2024, "cited_by_count": 2}])
    _work(researcher, 3)
    _work(researcher, None)
    _work(researcher, 500, is_hidden=True)
    reported = _work(researcher, 400, counts_by_year=[{"year": 2020, "cited_by_count": 400}])
    NotMeReport.objects.create(
        researcher=researcher, work=reported, user=UserFactory(), status="pending"
    )
    lonely = ResearcherFactory()

    recompute_metrics(researcher_ids=[researcher.pk, lonely.pk])

    researcher.refresh_from_db()
    assert (researcher.citations_count, researcher.h_index, researcher.i10_index) == (40, 3, 2)
    assert researcher.works_with_citations == 3
    assert researcher.citations_by_year == {"2024": 22}
    assert researcher.metrics_computed_at is not None
    lonely.refresh_from_db()
    assert (lonely.citations_count, lonely.h_index, lonely.works_with_citations) == (0, 0, 0)
    assert lonely.metrics_computed_at is not None


@pytest.mark.django_db
def test_recompute_twice_writes_nothing_the_second_time():
    researcher = ResearcherFactory()
    _work(researcher, 4)
    assert recompute_metrics(researcher_ids=[researcher.pk]) == 1
    assert recompute_metrics(researcher_ids=[researcher.pk]) == 0
    assert recompute_metrics(researcher_ids=None) == 0


@pytest.mark.django_db
def test_metrics_equal_a_direct_computation_on_imported_records():
    run = run_command(OPENALEX_DEMO, SEED)
    assert run.error is None, run.stderr
    ids = list(Researcher.objects.values_list("pk", flat=True))
    refresh_researcher_counts(researcher_ids=ids)
    recompute_metrics(researcher_ids=None)

    checked = 0
    for researcher in Researcher.objects.filter(is_stub=False):
        works = list(researcher_works(researcher).values_list("cited_by_count", "counts_by_year"))
        counts = [cited for cited, _ in works]
        assert researcher.h_index == h_index(counts), researcher
        assert researcher.i10_index == i10_index(counts), researcher
        known = [c for c in counts if c is not None]  # absent is not zero
        assert researcher.citations_count == sum(known), researcher
        assert researcher.works_with_citations == len(known), researcher
        assert researcher.citations_by_year == citations_per_year(y for _, y in works)
        checked += researcher.h_index > 0
    assert checked >= 10  # the demo authors have cited works


@pytest.mark.django_db
def test_worker_service_computes_metrics_with_trust():
    researcher = ResearcherFactory()
    _work(researcher, 30)
    recompute_researchers(researcher_ids=[researcher.pk])
    researcher.refresh_from_db()
    assert (researcher.citations_count, researcher.h_index) == (30, 1)
    assert researcher.trust_computed_at is not None


@pytest.mark.django_db
def test_metrics_task_for_everyone_runs_twice_with_the_same_result():
    from bzpeer.curation.tasks import recompute_metrics as task

    researcher = ResearcherFactory()
    _work(researcher, 11)
    assert task() >= 1
    assert task() == 0
    researcher.refresh_from_db()
    assert (researcher.h_index, researcher.i10_index) == (1, 1)
