"""Merging a second record of a work into its survivor (OpenAlex merged its id)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from bzpeer.curation.services import CurationError, merge_works
from claims.models import NotMeReport
from profiles.models import Researcher
from tests.factories import AuthorshipFactory, ResearcherFactory, WorkFactory
from works.models import Authorship, Work

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    """A work imported twice: Ada on both records, Bob only on the old one."""
    ada, bob = ResearcherFactory(display_name="Ada"), ResearcherFactory(display_name="Bob")
    old, survivor = WorkFactory(title="Engines (preprint)"), WorkFactory(title="Engines")
    AuthorshipFactory(work=old, researcher=ada)
    AuthorshipFactory(work=old, researcher=bob, order=1)
    AuthorshipFactory(work=survivor, researcher=ada)
    return old, survivor, ada, bob


def test_authorships_move_or_dedupe_and_counts_follow(pair, curator):
    old, survivor, ada, bob = pair

    merge_works(old=old, survivor=survivor, curator=curator)

    old.refresh_from_db()
    assert old.merged_into_id == survivor.pk
    assert old.is_hidden
    assert not Authorship.objects.filter(work=old).exists()
    assert set(survivor.authorships.values_list("researcher", flat=True)) == {ada.pk, bob.pk}
    assert Researcher.objects.get(pk=ada.pk).works_count == 1  # the same work, once
    assert Researcher.objects.get(pk=bob.pk).works_count == 1


def test_the_survivor_recounts_its_entries_and_team(curator):
    """Ada is on both records, Bob and Cy only on the old one; the survivor also lists an
    affiliation string (an entry without an author)."""
    ada, bob, cy = (ResearcherFactory(display_name=name) for name in ("Ada", "Bob", "Cy"))
    old = WorkFactory(title="Engines (preprint)", authors_count=3, team_size=3)
    survivor = WorkFactory(title="Engines", authors_count=2, team_size=1)
    for order, researcher in enumerate((ada, bob, cy)):
        AuthorshipFactory(work=old, researcher=researcher, order=order)
    AuthorshipFactory(work=survivor, researcher=ada)

    merge_works(old=old, survivor=survivor, curator=curator)

    survivor.refresh_from_db()
    assert survivor.authors_count == 4  # its two entries and the two that moved
    assert survivor.team_size == 3  # Ada, Bob and Cy: distinct resolved authors
    # The co-author edges read the new team size (three authors: still close).
    assert Researcher.objects.get(pk=bob.pk).close_collaborators_count == 2


def test_a_not_me_report_follows_its_authorship(pair, curator):
    old, survivor, _, bob = pair
    NotMeReport.objects.create(researcher=bob, work=old, reason="Not my preprint")

    merge_works(old=old, survivor=survivor, curator=curator)

    assert NotMeReport.objects.get(researcher=bob).work_id == survivor.pk
    assert Researcher.objects.get(pk=bob.pk).works_count == 0  # still reported


def test_the_old_url_redirects_to_the_survivor(client, pair, curator):
    old, survivor, _, _ = pair
    merge_works(old=old, survivor=survivor, curator=curator)

    response = client.get(old.get_absolute_url())

    assert response.status_code == 301
    assert response["Location"] == survivor.get_absolute_url()
    assert client.get(survivor.get_absolute_url()).status_code == 200


def test_chains_collapse_and_a_merged_work_stays_hidden(pair, curator):
    from bzpeer.curation.services import hide_works

    old, survivor, _, _ = pair
    newest = WorkFactory(title="Engines (journal)")
    merge_works(old=old, survivor=survivor, curator=curator)
    merge_works(old=survivor, survivor=newest, curator=curator)

    assert Work.objects.get(pk=old.pk).merged_into_id == newest.pk
    assert hide_works(works=[old], curator=curator, hidden=False) == 0
    assert Work.objects.get(pk=old.pk).is_hidden


def test_refusals(pair, curator, staff):
    old, survivor, _, _ = pair
    with pytest.raises(PermissionDenied):
        merge_works(old=old, survivor=survivor, curator=staff)
    with pytest.raises(CurationError):
        merge_works(old=old, survivor=old, curator=curator)
    merge_works(old=old, survivor=survivor, curator=curator)
    merge_works(old=old, survivor=survivor, curator=curator)  # again: nothing to do
    with pytest.raises(CurationError):
        merge_works(old=survivor, survivor=old, curator=curator)  # into a merged work
