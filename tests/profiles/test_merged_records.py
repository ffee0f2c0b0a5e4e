"""One merge-chain rule: every view that takes a researcher pk acts on the survivor of a
merged record, through chains, with one cap (profiles.models.merge_survivor_ids)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from bzpeer.access import require_owner
from profiles.access import get_owned_researcher, get_researcher_or_404
from profiles.models import MAX_MERGE_HOPS, Follow, Researcher, merge_survivor_ids
from profiles.queries import follow_merge_chain, get_researcher
from tests.claims.helpers import make_user
from tests.factories import AuthorshipFactory, ResearcherFactory, UserFactory, WorkFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem_cache")]

HX = {"HX-Request": "true"}


def chain(length: int, **survivor_fields) -> list[Researcher]:
    """Records r0 -> r1 -> ... -> r[length] (merged into the next); the last survives."""
    records = [ResearcherFactory(display_name="Survivor Record", **survivor_fields)]
    for i in range(length):
        records.insert(0, ResearcherFactory(display_name=f"Duplicate {i}", merged_into=records[0]))
    return records


# --- the rule ------------------------------------------------------------------------------


def test_survivor_ids_follow_every_chain_in_one_query(django_assert_num_queries):
    first, middle, survivor = chain(2)
    alone = ResearcherFactory()
    with django_assert_num_queries(1):
        survivors = merge_survivor_ids([first.pk, middle.pk, survivor.pk, alone.pk, 10**9])
    assert survivors == {
        first.pk: survivor.pk,
        middle.pk: survivor.pk,
        survivor.pk: survivor.pk,
        alone.pk: alone.pk,
        10**9: 10**9,  # no such record: itself
    }


def test_no_ids_cost_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert merge_survivor_ids([]) == {}


def test_a_chain_longer_than_the_cap_stops_at_the_cap():
    records = chain(MAX_MERGE_HOPS + 2)
    assert merge_survivor_ids([records[0].pk]) == {records[0].pk: records[MAX_MERGE_HOPS].pk}


def test_a_cycle_ends_instead_of_looping():
    a, b = ResearcherFactory(), ResearcherFactory()
    Researcher.objects.filter(pk=a.pk).update(merged_into=b)
    Researcher.objects.filter(pk=b.pk).update(merged_into=a)
    # MAX_MERGE_HOPS hops from a, alternating b, a, b, ...
    expected = a.pk if MAX_MERGE_HOPS % 2 == 0 else b.pk
    assert merge_survivor_ids([a.pk]) == {a.pk: expected}


def test_follow_merge_chain_costs_nothing_for_a_record_not_merged_or_merged_once(
    django_assert_num_queries,
):
    duplicate, survivor = chain(1)
    loaded = get_researcher(duplicate.pk)  # selects merged_into with it
    alone = get_researcher(survivor.pk)
    with django_assert_num_queries(0):
        assert follow_merge_chain(alone) is alone
        assert follow_merge_chain(loaded).pk == survivor.pk


def test_follow_merge_chain_through_a_longer_chain_costs_two_queries(django_assert_num_queries):
    first, _middle, survivor = chain(2)
    loaded = get_researcher(first.pk)
    with django_assert_num_queries(2):
        assert follow_merge_chain(loaded) == survivor
    with django_assert_num_queries(2):
        assert follow_merge_chain(first.pk) == survivor


def test_follow_merge_chain_of_an_unknown_id_raises():
    with pytest.raises(Researcher.DoesNotExist):
        follow_merge_chain(10**9)


# --- access helpers ------------------------------------------------------------------------


def test_get_researcher_or_404_returns_the_survivor():
    first, _middle, survivor = chain(2)
    assert get_researcher_or_404(first.pk) == survivor
    assert get_researcher_or_404(str(survivor.pk)) == survivor


def test_get_owned_researcher_refuses_anyone_but_the_owner():
    owner, other = UserFactory(), UserFactory()
    first, _, survivor = chain(2, owner=owner)
    assert get_owned_researcher(owner, first.pk) == survivor
    with pytest.raises(PermissionDenied):
        get_owned_researcher(other, survivor.pk)
    unowned = ResearcherFactory()
    with pytest.raises(PermissionDenied):
        get_owned_researcher(owner, unowned.pk)


def test_require_owner_refuses_anonymous_and_unowned():
    from django.contrib.auth.models import AnonymousUser

    owner = UserFactory()
    require_owner(owner.pk, owner, "no")
    for owner_id, user in ((owner.pk, AnonymousUser()), (None, owner), (owner.pk + 1, owner)):
        with pytest.raises(PermissionDenied, match="no"):
            require_owner(owner_id, user, "no")


# --- through HTTP: every researcher view follows the same chain ------------------------------


def test_profile_of_a_chained_record_redirects_once_to_the_survivor(client):
    first, _middle, survivor = chain(2)
    response = client.get(f"{first.get_absolute_url()}?page=2")
    assert response.status_code == 301
    assert response["Location"] == f"{survivor.get_absolute_url()}?page=2"


def test_explorer_of_a_chained_record_redirects_to_the_survivor(client):
    first, _middle, survivor = chain(2)
    response = client.get(f"/researchers/{first.pk}/graph/")
    assert response.status_code == 301
    assert response["Location"] == f"/researchers/{survivor.pk}/graph/"


def test_source_link_of_a_merged_record_goes_to_the_survivor(client):
    first, _middle, survivor = chain(2)
    response = client.get(f"/researchers/source/{first.source_id}/")
    assert response.status_code == 302
    assert response["Location"] == survivor.get_absolute_url()


def test_following_a_chained_record_follows_the_survivor(client):
    user = UserFactory()
    client.force_login(user)
    first, _middle, survivor = chain(2)
    response = client.post(f"/researchers/{first.pk}/follow/", headers=HX)
    assert response.status_code == 200
    assert list(Follow.objects.values_list("user", "researcher")) == [(user.pk, survivor.pk)]
    survivor.refresh_from_db()
    assert survivor.followers_count == 1


def test_works_fragment_of_a_merged_record_lists_the_survivors_works(client):
    first, survivor = chain(1)
    AuthorshipFactory(researcher=survivor, work=WorkFactory(title="On Computable Numbers"))
    response = client.get(f"/researchers/{first.pk}/works/", headers=HX)
    assert response.status_code == 200
    assert "On Computable Numbers" in response.content.decode()
    response = client.get(f"/researchers/{first.pk}/works/?sort=oldest")
    assert response.status_code == 302
    assert response["Location"] == f"{survivor.get_absolute_url()}?sort=oldest#published-work"


def test_owner_tools_on_a_merged_record_change_the_owned_survivor(client):
    owner = make_user("owner@uni.test")
    client.force_login(owner)
    first, _middle, survivor = chain(2, owner=owner)
    response = client.post(
        f"/researchers/{first.pk}/owner/summary/", {"summary": "Compilers."}, headers=HX
    )
    assert response.status_code == 200
    survivor.refresh_from_db()
    first.refresh_from_db()
    assert survivor.summary == "Compilers."
    assert first.summary != "Compilers."


def test_owner_tools_refuse_someone_else_with_403(client):
    client.force_login(make_user("stranger@uni.test"))
    _first, survivor = chain(1, owner=make_user("owner@uni.test"))
    response = client.post(f"/researchers/{survivor.pk}/owner/summary/", {"summary": "x"})
    assert response.status_code == 403
    assert Researcher.objects.filter(pk=survivor.pk, summary="x").count() == 0


def test_invitation_form_of_a_merged_record_addresses_the_claimed_survivor(client):
    client.force_login(make_user("grace@navy.test"))
    first, survivor = chain(1, owner=make_user("ada@uni.test"), verification_level=2)
    response = client.get(f"/researchers/{first.pk}/invite/", headers=HX)
    assert response.status_code == 200
    assert f"/researchers/{survivor.pk}/invite/send/" in response.content.decode()


def test_claim_panel_of_a_chained_record_claims_the_survivor(client):
    client.force_login(make_user("ada@uni.test"))
    first, _middle, survivor = chain(2)
    response = client.get(f"/researchers/{first.pk}/claim/", headers=HX)
    assert response.status_code == 200
    assert f"/researchers/{survivor.pk}/claim/" in response.content.decode()
