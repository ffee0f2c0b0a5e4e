"""Co-author edges and close collaborators, on the seed profile (real author lists) and on
small hand-made teams."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from graph.edges import HYPER_AUTHORED, rebuild_all_coauthor_edges, rebuild_coauthor_edges
from graph.models import CoauthorEdge
from profiles.models import Researcher
from tests.factories import AuthorshipFactory, ResearcherFactory, WorkFactory
from tests.graph.conftest import SEED_SOURCE_ID, seed_works

pytestmark = pytest.mark.django_db


def expected_from_seed() -> tuple[dict[str, int], dict[str, int]]:
    """Per co-author of A1: shared works and the smallest team among them, counting only
    works with at most 100 authors (the rule), straight from the JSON."""
    shared: Counter[str] = Counter()
    smallest: dict[str, int] = {}
    for work in seed_works():
        authors = [a["author"]["id"] for a in work["authorships"]]
        if SEED_SOURCE_ID not in authors or len(authors) > HYPER_AUTHORED:
            continue
        for author in set(authors) - {SEED_SOURCE_ID}:
            shared[author] += 1
            smallest[author] = min(smallest.get(author, len(authors)), len(authors))
    return dict(shared), smallest


def edge_map(researcher: Researcher) -> dict[str, CoauthorEdge]:
    return {
        e.coauthor.source_id: e
        for e in CoauthorEdge.objects.filter(researcher=researcher).select_related("coauthor")
    }


def test_seed_profile_edges_leave_out_the_119_author_work(teven):
    """The seed README counts 196 co-authors and 15 sharing two or more works, over all
    seven works. W1 (Ministral 3) has 119 authors: over the limit of 100, so it makes no
    edge. Without W1 the co-authors are the people on W2..W6 (W7 has Teven alone):
    25 + 40 + 7 + 21 + 2 = 95 authorships, less the 7 repeats among those works
    (Thomas Wang on W2, W3, W4; Colin Raffel on W3, W4; Victor Sanh, Canwen Xu, Thomas Wolf,
    Alexander M. Rush on W3, W5) = 88 co-authors. The eight who shared only W1 and W2
    with him (Lample, Lavril, ...), and Patrick von Platen (W1, W5), keep one shared work."""
    shared, smallest = expected_from_seed()
    assert len(shared) == 88
    edges = edge_map(teven)
    assert {k: e.shared_works for k, e in edges.items()} == shared
    assert {k: e.smallest_team for k, e in edges.items()} == smallest
    names = {e.coauthor.display_name: e for e in edges.values()}
    assert names["Thomas Wang"].shared_works == 3  # W2, W3, W4 (W1 does not count)
    assert names["Thomas Wang"].last_year == 2024  # Mixtral of Experts
    assert names["Guillaume Lample"].shared_works == 1
    # W1's people with no other seed work: 119 less Teven, the eight also on W2, Patrick
    # von Platen (W5) and Thomas Wang. They have no edge at all.
    w1_only = {a["author"]["id"] for a in seed_works()[0]["authorships"]}
    w1_only -= {SEED_SOURCE_ID, *shared}
    assert len(w1_only) == 119 - 1 - 8 - 1 - 1
    assert not CoauthorEdge.objects.filter(coauthor__source_id__in=w1_only).exists()
    assert not CoauthorEdge.objects.filter(researcher__source_id__in=w1_only).exists()


def test_seed_profile_close_collaborators(teven):
    """Close: two or more shared works (Thomas Wang, Colin Raffel, Victor Sanh, Canwen Xu,
    Thomas Wolf, Alexander M. Rush: 6), or one shared work of at most five authors (W6 has
    three: Zachary Kaden and Raphael Olivier: 2). 8 in all, and the same 8 everywhere."""
    shared, smallest = expected_from_seed()
    close = {a for a in shared if shared[a] >= 2 or smallest[a] <= 5}
    assert len(close) == 8
    edges = edge_map(teven)
    assert {k for k, e in edges.items() if e.is_close} == close
    assert sorted(e.coauthor.display_name for e in edges.values() if e.is_close) == [
        "Alexander M. Rush",
        "Canwen Xu",
        "Colin Raffel",
        "Raphael Olivier",
        "Thomas Wang",
        "Thomas Wolf",
        "Victor Sanh",
        "Zachary Kaden",
    ]
    teven.refresh_from_db()
    assert teven.close_collaborators_count == 8


def test_edges_are_symmetric(teven):
    pairs = set(CoauthorEdge.objects.values_list("researcher_id", "coauthor_id", "shared_works"))
    assert pairs == {(c, r, n) for r, c, n in pairs}


def test_hyper_authored_work_makes_no_edges():
    big = WorkFactory(authors_count=HYPER_AUTHORED + 1)
    team = ResearcherFactory.create_batch(3)
    for order, person in enumerate(team):
        AuthorshipFactory(work=big, researcher=person, order=order)
    at_limit = WorkFactory(authors_count=HYPER_AUTHORED)
    for order, person in enumerate(team[:2]):
        AuthorshipFactory(work=at_limit, researcher=person, order=order)
    rebuild_coauthor_edges(researcher_ids=[p.pk for p in team])
    assert set(CoauthorEdge.objects.values_list("researcher_id", "coauthor_id")) == {
        (team[0].pk, team[1].pk),
        (team[1].pk, team[0].pk),
    }
    # A 100-author work is allowed, but one shared work of 100 authors is not close.
    assert not CoauthorEdge.objects.filter(is_close=True).exists()


def test_hidden_work_makes_no_edges():
    work = WorkFactory(authors_count=2, is_hidden=True)
    a, b = ResearcherFactory.create_batch(2)
    AuthorshipFactory(work=work, researcher=a)
    AuthorshipFactory(work=work, researcher=b, order=1)
    rebuild_coauthor_edges(researcher_ids=[a.pk, b.pk])
    assert not CoauthorEdge.objects.exists()


def test_close_rule_small_team_or_two_works():
    lead, small, twice, once = ResearcherFactory.create_batch(4)
    five = WorkFactory(authors_count=5)
    for person in (lead, small):
        AuthorshipFactory(work=five, researcher=person)
    for _ in range(2):
        work = WorkFactory(authors_count=20)
        for person in (lead, twice):
            AuthorshipFactory(work=work, researcher=person)
    six = WorkFactory(authors_count=6)
    for person in (lead, once):
        AuthorshipFactory(work=six, researcher=person)
    rebuild_coauthor_edges(researcher_ids=[lead.pk])
    close = set(
        CoauthorEdge.objects.filter(researcher=lead, is_close=True).values_list(
            "coauthor_id", flat=True
        )
    )
    assert close == {small.pk, twice.pk}
    lead.refresh_from_db()
    assert lead.close_collaborators_count == 2


def snapshot() -> tuple[set, dict]:
    edges = set(
        CoauthorEdge.objects.values_list(
            "researcher_id", "coauthor_id", "shared_works", "last_year", "smallest_team", "is_close"
        )
    )
    counts = dict(Researcher.objects.values_list("id", "close_collaborators_count"))
    return edges, counts


def test_incremental_rebuild_equals_full_rebuild(teven):
    """A second import batch adds a work (a new co-author, one more shared work for an old
    one) and hides one; updating only the touched researchers gives what a full rebuild
    gives."""
    thomas = Researcher.objects.get(display_name="Thomas Wang")
    newcomer = ResearcherFactory(display_name="New Person")
    work = WorkFactory(authors_count=3, publication_year=2025)
    for order, person in enumerate([teven, thomas, newcomer]):
        AuthorshipFactory(work=work, researcher=person, order=order)
    hidden = teven.authorships.get(work__title__startswith="In-training").work
    hidden.is_hidden = True
    hidden.save()
    touched = {teven.pk, thomas.pk, newcomer.pk} | set(
        hidden.authorships.values_list("researcher_id", flat=True)
    )
    # Small chunks: pairs whose two ends fall in different chunks are written correctly.
    from graph import edges as edges_module

    original = edges_module.chunked
    edges_module.chunked = lambda values, size=1000: original(values, size=2)
    try:
        rebuild_coauthor_edges(researcher_ids=touched)
    finally:
        edges_module.chunked = original
    incremental = snapshot()
    rebuild_all_coauthor_edges()
    assert snapshot() == incremental
    teven_edges = edge_map(teven)
    assert teven_edges[thomas.source_id].shared_works == 4
    assert teven_edges[thomas.source_id].last_year == 2025
    assert "Zachary Kaden" not in {e.coauthor.display_name for e in teven_edges.values()}


def test_the_pairs_refresh_of_changed_works_equals_full_rebuild(teven, monkeypatch):
    """What an import does to works, refreshed through their pairs alone
    (refresh_coauthor_edges_of_works), gives what a full rebuild gives: a new work, an
    author leaving a work, a work growing past the hyper-authored limit (its pairs lose
    it), the 119-author work shrinking under it (its pairs gain it), a year moving."""
    works = {a.work.title[:12]: a.work for a in teven.authorships.select_related("work")}
    thomas = Researcher.objects.get(display_name="Thomas Wang")
    newcomer = ResearcherFactory(display_name="New Person")
    new_work = WorkFactory(authors_count=3, publication_year=2025)
    for order, person in enumerate([teven, thomas, newcomer]):
        AuthorshipFactory(work=new_work, researcher=person, order=order)
    changed = [new_work.pk]
    departed = []

    # Zachary Kaden shares one work with Teven: leaving it ends their edge.
    zachary = Researcher.objects.get(display_name="Zachary Kaden")
    left = teven.authorships.get(work__title__startswith="In-training").work
    left.authorships.filter(researcher=zachary).delete()
    left.team_size -= 1
    left.save()
    changed.append(left.pk)
    departed.append((left.pk, zachary.pk))

    grown = next(w for w in works.values() if 20 <= w.team_size <= 40 and w.pk != left.pk)
    for person in ResearcherFactory.create_batch(HYPER_AUTHORED):
        AuthorshipFactory(work=grown, researcher=person)
    grown.team_size = grown.authorships.count()
    grown.save()
    changed.append(grown.pk)

    hyper = next(w for w in works.values() if w.team_size > HYPER_AUTHORED)
    going = list(
        hyper.authorships.exclude(researcher=teven).values_list("researcher_id", flat=True)[:30]
    )
    hyper.authorships.filter(researcher_id__in=going).delete()
    hyper.team_size = hyper.authorships.count()
    assert hyper.team_size <= HYPER_AUTHORED
    hyper.save()
    changed.append(hyper.pk)
    departed += [(hyper.pk, pk) for pk in going]

    moved = next(w for w in works.values() if w.pk not in changed and w.team_size > 1)
    moved.publication_year = 2030
    moved.save()
    changed.append(moved.pk)

    # One work per transaction: pairs met again in a later chunk are written right.
    from graph import edges as edges_module

    monkeypatch.setattr(edges_module, "WORKS_CHUNK", 1)
    written = edges_module.refresh_coauthor_edges_of_works(work_ids=changed, departed=departed)
    incremental = snapshot()
    rebuild_all_coauthor_edges()

    assert snapshot() == incremental
    assert {teven.pk, thomas.pk, newcomer.pk, zachary.pk} <= written
    assert edge_map(teven)[newcomer.source_id].shared_works == 1
    assert zachary.source_id not in edge_map(teven)


def test_management_command_rebuilds_everything(teven):
    before = snapshot()
    CoauthorEdge.objects.all().delete()
    Researcher.objects.update(close_collaborators_count=0)
    out = io.StringIO()
    call_command("rebuild_coauthor_edges", stdout=out)
    assert snapshot() == before
    assert f"Rebuilt {len(before[0])} edge rows" in out.getvalue()


def test_management_command_for_one_researcher(teven):
    before = snapshot()
    CoauthorEdge.objects.filter(researcher=teven).delete()
    out = io.StringIO()
    call_command("rebuild_coauthor_edges", "--researcher", str(teven.pk), stdout=out)
    assert snapshot() == before
    assert "Rebuilt the edges of 89 researcher(s)" in out.getvalue()


def test_close_collaborators_are_the_same_number_everywhere(client, teven, queued_builds):
    """The profile's stat, the trust score's reason and the slice all say 8."""
    import json

    from bzpeer.curation.derived import recompute_trust
    from graph.services import build_slice

    recompute_trust(researcher_ids=[teven.pk])
    teven.refresh_from_db()
    assert "8 close collaborator(s)" in json.dumps(teven.trust_components)
    profile = client.get(teven.get_absolute_url()).content.decode()
    assert "<dt>close collaborators</dt><dd>8</dd>" in profile
    graph_slice = build_slice(researcher_id=teven.pk)
    assert graph_slice.payload["counts"]["close_collaborators"] == 8
    fragment = client.get(
        f"/researchers/{teven.pk}/graph/slice/", headers={"HX-Request": "true"}
    ).content.decode()
    assert "8 close collaborators" in fragment


def test_management_command_can_queue_recomputation(teven, monkeypatch):
    from bzpeer.curation import derived

    queued: list[set[int]] = []
    monkeypatch.setattr(
        derived, "queue_recompute", lambda *, researcher_ids: queued.append(researcher_ids)
    )
    out = io.StringIO()
    call_command("rebuild_coauthor_edges", "--recompute", stdout=out)
    assert len(queued) == 1 and teven.pk in queued[0]
    assert len(queued[0]) == 89  # Teven and his 88 co-authors have edges


def test_a_work_reported_not_me_makes_no_collaborators(teven):
    """W6 (three authors) makes Zachary Kaden and Raphael Olivier close collaborators; once
    Teven reports it as not his, it is off his record: no edges, 6 close collaborators."""
    from claims.models import NotMeReport
    from tests.factories import UserFactory

    w6 = teven.authorships.get(work__title__startswith="In-training").work
    NotMeReport.objects.create(researcher=teven, work=w6, user=UserFactory(), reason="Not me")
    rebuild_coauthor_edges(researcher_ids=[teven.pk])
    names = {e.coauthor.display_name for e in edge_map(teven).values()}
    assert "Zachary Kaden" not in names
    teven.refresh_from_db()
    assert teven.close_collaborators_count == 6
    # The other two authors of W6 still worked together.
    kaden = Researcher.objects.get(display_name="Zachary Kaden")
    assert {e.coauthor.display_name for e in kaden.coauthor_edges.all()} == {"Raphael Olivier"}
    incremental = snapshot()
    rebuild_all_coauthor_edges()
    assert snapshot() == incremental


@pytest.mark.django_db(transaction=True)
def test_two_pairs_refreshes_of_one_change_at_once_count_each_pair_once():
    """The pairs refresh moves close-collaborator counts by what changed in the stored
    edges; two imports refreshing the same new work at once must not both add it. Both
    wait for the refresh lock (held here) and then run one after the other: the second
    finds the edges written and moves nothing."""
    import threading

    from django.db import connection, transaction

    from graph import edges as edges_module
    from tests.waiting import join_all, start_waiting_for_lock

    ada, grace, alan = ResearcherFactory.create_batch(3)
    old = WorkFactory(authors_count=2)
    for person in (ada, grace):
        AuthorshipFactory(work=old, researcher=person)
    rebuild_all_coauthor_edges()
    new = WorkFactory(authors_count=2)
    for person in (ada, alan):
        AuthorshipFactory(work=new, researcher=person)
    failures: list[BaseException] = []

    def refresh() -> None:
        try:
            edges_module.refresh_coauthor_edges_of_works(work_ids=[new.pk])
        except BaseException as exc:  # collected for the assertion
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [edges_module.PAIRS_REFRESH_LOCK])
        start_waiting_for_lock(threads)
    join_all(threads)
    assert failures == []
    counts = dict(Researcher.objects.values_list("id", "close_collaborators_count"))
    assert counts == {ada.pk: 2, grace.pk: 1, alan.pk: 1}
    incremental = snapshot()
    rebuild_all_coauthor_edges()
    assert snapshot() == incremental


def _storage_order(table: str, columns: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} ORDER BY ctid")
        return cursor.fetchall()


def test_the_full_rebuild_stores_edges_in_key_order():
    """A researcher's edges share pages after a full rebuild: the refresh of the next import
    reads them researcher by researcher, and scattered rows cost a page read each."""
    people = ResearcherFactory.create_batch(12)
    for size in (2, 3, 5, 7):
        for start in range(0, len(people), 3):
            work = WorkFactory()
            for order, person in enumerate((people * 2)[start : start + size]):
                AuthorshipFactory(work=work, researcher=person, order=order)

    with transaction.atomic(), connection.cursor() as cursor:
        # Whatever the planner may pick to group the pairs: here it may not sort.
        cursor.execute("SET LOCAL enable_sort = off")
        rebuild_all_coauthor_edges()

    stored = _storage_order(CoauthorEdge._meta.db_table, "researcher_id, coauthor_id")
    assert len(stored) > 50
    assert stored == sorted(stored)
