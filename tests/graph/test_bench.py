"""The benchmark's corpus at a small size: it loads with COPY into the current models and
has the documented shape (the timings themselves are `make bench`, not a test)."""

from __future__ import annotations

import pytest
from django.test import Client

from bzpeer.curation.derived import recompute_metrics
from claims.listing import researcher_works
from graph.bench import corpus, load, measure, record
from graph.edges import HYPER_AUTHORED, rebuild_all_coauthor_edges
from graph.models import CoauthorEdge, GraphSlice
from graph.services import build_slice
from profiles.metrics import h_index
from profiles.models import Researcher, ResearcherTopic
from works.models import Authorship, Work, WorkTitleSearch

pytestmark = pytest.mark.django_db


def test_small_corpus_loads_and_has_the_documented_shape(tmp_path):
    scale = corpus.Scale.for_works(8_000)
    generator = corpus.Corpus(scale, tmp_path)
    generator.generate()
    for name, rows in (
        ("institutions", generator.institutions()),
        ("venues", generator.venues()),
        ("topics", generator.topics()),
    ):
        (tmp_path / f"{name}.tsv").write_text(
            "".join("\t".join(map(str, row)) + "\n" for row in rows)
        )
    load.truncate_all()
    counts = load.load(tmp_path)
    load.derive_counts()

    assert counts["works"] == Work.objects.count() == 8_000
    # The COPY ran with triggers off: the load fills the title search itself.
    assert WorkTitleSearch.objects.count() == Work.objects.filter(is_hidden=False).count()
    assert counts["authorships"] == Authorship.objects.count() == generator.stats.authorships
    assert 2.5 < generator.stats.authorships / 8_000 < 3.5
    assert Researcher.objects.count() == scale.researchers
    for works in corpus.PLANTED:
        planted = Researcher.objects.get(display_name=f"Planted {works}")
        assert planted.works_count == works
    assert ResearcherTopic.objects.exists()
    assert Work.objects.filter(authors_count__gt=HYPER_AUTHORED).exists()
    # Skewed productivity: most researchers have few works, a few have many.
    median = sorted(Researcher.objects.values_list("works_count", flat=True))[
        scale.researchers // 2
    ]
    assert median <= 3
    # Sequences moved past the loaded ids: the ORM can insert after a COPY.
    Work.objects.create(source_id="urn:bzpeer:test:after-copy")

    stats = rebuild_all_coauthor_edges()
    assert stats.edges == CoauthorEdge.objects.count() > 0
    # Lab co-authorship repeats: some pairs share several works.
    assert CoauthorEdge.objects.filter(shared_works__gte=3).exists()

    planted = measure.researchers_near(200, limit=2)
    assert planted[0].display_name == "Planted 200"
    graph_slice = build_slice(researcher_id=planted[0].pk)
    assert graph_slice.status == GraphSlice.Status.READY
    assert len(graph_slice.payload["nodes"]) > 20

    # The scholarly record's measurements run on the same corpus.
    assert record.fill_counts_by_year() > 0
    assert record.fill_counts_by_year() == 0  # already filled
    full, again = record.metrics_recompute(recompute_metrics)
    assert full.detail.endswith(f"{scale.researchers:,} rows written")
    assert again.detail == "0 rows written"
    big = Researcher.objects.get(display_name="Planted 5000")
    cited = list(researcher_works(big).values_list("cited_by_count", flat=True))
    assert (big.h_index, big.citations_count) == (h_index(cited), sum(c or 0 for c in cited))
    export, peak = record.bibtex_export(Client(), big, 1)
    assert export.detail.startswith("5,000 works")
    assert 0 < peak < 64 * 1024 * 1024  # streamed: far below the size of 5,000 entries x runs


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 21)]
    assert measure.percentile(values, 0.95) == 19.0
    assert measure.percentile([5.0], 0.95) == 5.0
