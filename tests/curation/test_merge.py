from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from bzpeer.audit.models import AuthorshipEvent, FollowEvent, ResearcherEvent
from bzpeer.curation.services import CurationError, merge_researchers
from claims.models import Claim
from profiles.models import Follow, Invitation, Researcher, VerificationLevel
from tests.factories import AuthorshipFactory, ResearcherFactory, UserFactory, WorkFactory
from works.models import Authorship

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins():
    """One person imported twice: two works in common, one follower in common."""
    survivor = ResearcherFactory(display_name="Grace Hopper")
    duplicate = ResearcherFactory(display_name="G. M. Hopper", orcid="0000-0002-1825-0097")
    shared = [WorkFactory(), WorkFactory()]
    for work in shared:
        AuthorshipFactory(researcher=survivor, work=work)
        AuthorshipFactory(researcher=duplicate, work=work)
    AuthorshipFactory(researcher=survivor)
    AuthorshipFactory(researcher=duplicate)
    AuthorshipFactory(researcher=duplicate)
    both, only_dup = UserFactory(), UserFactory()
    for user in (both,):
        Follow.objects.create(user=user, researcher=survivor)
        Follow.objects.create(user=user, researcher=duplicate)
    Follow.objects.create(user=only_dup, researcher=duplicate)
    return survivor, duplicate


def test_merge_moves_rows_without_losing_or_repeating_any(twins, curator):
    survivor, duplicate = twins
    works = set(Authorship.objects.values_list("work_id", flat=True))
    followers = set(Follow.objects.values_list("user_id", flat=True))
    assert Authorship.objects.count() == 7 and Follow.objects.count() == 3

    merge_researchers(survivor=survivor, duplicates=[duplicate], curator=curator)

    kept = Authorship.objects.filter(researcher=survivor).values_list("work_id", flat=True)
    assert set(kept) == works
    assert Authorship.objects.count() == 5  # the two repeated pairs went, nothing else
    assert not Authorship.objects.filter(researcher=duplicate).exists()
    following = Follow.objects.filter(researcher=survivor).values_list("user_id", flat=True)
    assert set(following) == followers
    assert Follow.objects.count() == 2
    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    assert duplicate.merged_into == survivor
    assert (survivor.works_count, survivor.followers_count) == (5, 2)
    assert (duplicate.works_count, duplicate.followers_count) == (0, 0)
    assert "G. M. Hopper" in survivor.alternative_names
    assert survivor.orcid == "0000-0002-1825-0097" and duplicate.orcid is None


def test_merge_moves_claims_and_invitations_and_ownership(curator):
    owner = UserFactory()
    survivor = ResearcherFactory()
    duplicate = ResearcherFactory(owner=owner, verification_level=VerificationLevel.L2)
    approved = Claim.objects.create(
        user=owner, researcher=duplicate, method="evidence", status="approved"
    )
    pending = Claim.objects.create(user=UserFactory(), researcher=duplicate, method="evidence")
    sender = UserFactory()
    Invitation.objects.create(sender=sender, researcher=duplicate, subject="Hi", message="m")
    Invitation.objects.create(sender=sender, researcher=survivor, subject="Hi", message="m")

    merge_researchers(survivor=survivor, duplicates=[duplicate], curator=curator)

    survivor.refresh_from_db()
    assert survivor.owner == owner and survivor.verification_level == VerificationLevel.L2
    assert Claim.objects.filter(researcher=survivor).count() == 2
    assert Claim.objects.get(pk=approved.pk).status == "approved"
    assert Claim.objects.get(pk=pending.pk).is_dispute
    assert Invitation.objects.filter(researcher=survivor).count() == 2
    assert Invitation.objects.filter(researcher=survivor, status="sent").count() == 1


def test_claimed_record_cannot_go_into_another_owners_record(curator):
    survivor = ResearcherFactory(owner=UserFactory())
    duplicate = ResearcherFactory(owner=UserFactory())
    AuthorshipFactory(researcher=duplicate)
    with pytest.raises(CurationError, match="different owners"):
        merge_researchers(survivor=survivor, duplicates=[duplicate], curator=curator)
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None
    assert Authorship.objects.get().researcher == duplicate


def test_chains_collapse_to_the_survivor(curator):
    survivor, middle, oldest = ResearcherFactory(), ResearcherFactory(), ResearcherFactory()
    merge_researchers(survivor=middle, duplicates=[oldest], curator=curator)
    merge_researchers(survivor=survivor, duplicates=[middle], curator=curator)
    assert Researcher.objects.get(pk=oldest.pk).merged_into_id == survivor.pk
    assert Researcher.objects.get(pk=middle.pk).merged_into_id == survivor.pk


def test_cannot_merge_into_a_merged_record(curator):
    survivor, merged, other = ResearcherFactory(), ResearcherFactory(), ResearcherFactory()
    merge_researchers(survivor=survivor, duplicates=[merged], curator=curator)
    with pytest.raises(CurationError, match="itself merged"):
        merge_researchers(survivor=merged, duplicates=[other], curator=curator)


def test_merged_record_redirects_to_the_survivor(client, twins, curator):
    survivor, duplicate = twins
    merge_researchers(survivor=survivor, duplicates=[duplicate], curator=curator)
    response = client.get(duplicate.get_absolute_url())
    assert response.status_code == 301
    assert response["Location"] == survivor.get_absolute_url()
    assert client.get(response["Location"]).status_code == 200


def test_staff_outside_curators_cannot_merge(staff):
    survivor, duplicate = ResearcherFactory(), ResearcherFactory()
    with pytest.raises(PermissionDenied):
        merge_researchers(survivor=survivor, duplicates=[duplicate], curator=staff)
    assert Researcher.objects.get(pk=duplicate.pk).merged_into is None


def test_merge_leaves_audit_events_with_who_and_before_after(twins, curator):
    survivor, duplicate = twins
    merge_researchers(survivor=survivor, duplicates=[duplicate], curator=curator)
    update = ResearcherEvent.objects.filter(pgh_obj=duplicate, pgh_label="update").last()
    before = ResearcherEvent.objects.filter(pgh_obj=duplicate, pgh_label="before").last()
    assert update.merged_into_id == survivor.pk and before.merged_into_id is None
    assert update.pgh_context.metadata["user"] == curator.pk
    assert update.pgh_context.metadata["curation"] == "merge"
    moved = AuthorshipEvent.objects.filter(pgh_label="update", researcher_id=survivor.pk)
    assert moved.count() == 2  # the duplicate's two works of its own
    assert AuthorshipEvent.objects.filter(pgh_label="delete").count() == 2
    assert FollowEvent.objects.filter(pgh_label="delete").count() == 1
