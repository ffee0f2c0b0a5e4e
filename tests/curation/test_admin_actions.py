"""The curation actions through the admin, as curator, plain staff and superuser."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.urls import reverse

from claims.models import Claim
from profiles.models import Follow, Researcher
from tests.factories import AuthorshipFactory, ResearcherFactory, UserFactory, WorkFactory
from works.models import Authorship, Work

pytestmark = pytest.mark.django_db

RESEARCHERS = reverse("admin:profiles_researcher_changelist")
AUTHORSHIPS = reverse("admin:works_authorship_changelist")
WORKS = reverse("admin:works_work_changelist")
CLAIMS = reverse("admin:claims_claim_changelist")


def actions_offered(client, url: str) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["action_form"]
    return {name for name, _ in form.fields["action"].choices} if form else set()


def post_action(client, url: str, action: str, rows, **form):
    data = {"action": action, ACTION_CHECKBOX_NAME: [r.pk for r in rows], "index": 0, **form}
    return client.post(url, data)


@pytest.fixture
def pair():
    survivor = ResearcherFactory(display_name="Ada Lovelace")
    duplicate = ResearcherFactory(display_name="A. Lovelace")
    AuthorshipFactory(researcher=survivor)
    AuthorshipFactory(researcher=duplicate)
    Follow.objects.create(user=UserFactory(), researcher=duplicate)
    return survivor, duplicate


def test_curators_group_holds_exactly_the_curation_permissions():
    codenames = set(
        Group.objects.get(name="Curators").permissions.values_list(
            "content_type__app_label", "codename"
        )
    )
    assert {
        ("profiles", "merge_researcher"),
        ("works", "move_authorship"),
        ("claims", "decide_claim"),
        ("profiles", "change_researcher"),
        ("works", "change_work"),
        ("claims", "view_claim"),
        ("pghistory", "view_middlewareevents"),
    } <= codenames
    # Curators fix records; they never delete them or manage accounts.
    assert not any(code.startswith("delete_") for _, code in codenames)
    assert not any(app == "auth" for app, _ in codenames)


def test_curator_sees_the_curation_actions(curator_client):
    assert {"merge_duplicates", "recompute"} <= actions_offered(curator_client, RESEARCHERS)
    assert "move_authorships" in actions_offered(curator_client, AUTHORSHIPS)
    assert {"hide_works", "show_works"} <= actions_offered(curator_client, WORKS)
    assert {"approve", "reject"} <= actions_offered(curator_client, CLAIMS)


def test_staff_outside_the_group_sees_no_admin_pages(staff_client):
    # No model permission at all: the changelists are refused.
    assert staff_client.get(RESEARCHERS).status_code == 403
    assert staff_client.get(CLAIMS).status_code == 403


def test_staff_with_change_permissions_still_cannot_merge_or_decide(staff_client, staff, pair):
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_researcher", "change_researcher", "view_claim", "change_claim"]
        )
    )
    assert "merge_duplicates" not in actions_offered(staff_client, RESEARCHERS)
    assert not {"approve", "reject"} & actions_offered(staff_client, CLAIMS)
    survivor, duplicate = pair
    response = post_action(
        staff_client, RESEARCHERS, "merge_duplicates", pair, apply="1", survivor=survivor.pk
    )
    assert response.status_code == 302  # the admin answers "no action selected"
    assert Researcher.objects.get(pk=duplicate.pk).merged_into is None
    claim = Claim.objects.create(user=UserFactory(), researcher=survivor, method="evidence")
    post_action(staff_client, CLAIMS, "approve", [claim], apply="1", reason="ok")
    assert Claim.objects.get(pk=claim.pk).status == "pending"


def test_merge_action_asks_for_the_survivor_then_merges(curator_client, pair):
    survivor, duplicate = pair
    page = post_action(curator_client, RESEARCHERS, "merge_duplicates", pair)
    assert page.status_code == 200
    assert page.templates[0].name == "admin/confirm_action.html"
    assert b"A. Lovelace" in page.content and b"Ada Lovelace" in page.content
    post_action(
        curator_client, RESEARCHERS, "merge_duplicates", pair, apply="1", survivor=survivor.pk
    )
    duplicate.refresh_from_db()
    survivor.refresh_from_db()
    assert duplicate.merged_into == survivor
    assert (survivor.works_count, survivor.followers_count) == (2, 1)


def test_superuser_can_merge(admin_client, pair):
    survivor, duplicate = pair
    post_action(
        admin_client, RESEARCHERS, "merge_duplicates", pair, apply="1", survivor=duplicate.pk
    )
    assert Researcher.objects.get(pk=survivor.pk).merged_into_id == duplicate.pk


def test_merge_refusal_is_reported(curator_client):
    owned = [ResearcherFactory(owner=UserFactory()), ResearcherFactory(owner=UserFactory())]
    response = post_action(
        curator_client, RESEARCHERS, "merge_duplicates", owned, apply="1", survivor=owned[0].pk
    )
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("different owners" in m for m in messages)
    assert not Researcher.objects.filter(merged_into__isnull=False).exists()


def test_split_moves_selected_authorships_to_a_new_record(curator_client):
    mixed = ResearcherFactory(display_name="J. Smith")
    theirs = [AuthorshipFactory(researcher=mixed) for _ in range(3)]
    other_persons = [AuthorshipFactory(researcher=mixed) for _ in range(2)]
    page = post_action(curator_client, AUTHORSHIPS, "move_authorships", other_persons)
    assert page.templates[0].name == "admin/confirm_action.html"
    post_action(
        curator_client,
        AUTHORSHIPS,
        "move_authorships",
        other_persons,
        apply="1",
        new_display_name="Jane Smith",
    )
    new = Researcher.objects.get(display_name="Jane Smith")
    assert set(new.authorships.all()) == set(other_persons)
    assert set(mixed.authorships.all()) == set(theirs)
    assert Authorship.objects.count() == 5
    mixed.refresh_from_db()
    new.refresh_from_db()
    assert (mixed.works_count, new.works_count) == (3, 2)


def test_split_to_an_existing_record_drops_a_repeated_pair(curator_client):
    source, target = ResearcherFactory(), ResearcherFactory()
    work = WorkFactory()
    moved = AuthorshipFactory(researcher=source, work=work)
    AuthorshipFactory(researcher=target, work=work)
    other = AuthorshipFactory(researcher=source)
    post_action(
        curator_client,
        AUTHORSHIPS,
        "move_authorships",
        [moved, other],
        apply="1",
        target=target.pk,
    )
    assert set(target.authorships.values_list("work_id", flat=True)) == {work.pk, other.work_id}
    assert not source.authorships.exists()
    assert Authorship.objects.count() == 2


def test_staff_without_move_permission_cannot_split(staff_client, staff):
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_authorship", "change_authorship"])
    )
    authorship = AuthorshipFactory()
    assert "move_authorships" not in actions_offered(staff_client, AUTHORSHIPS)
    post_action(
        staff_client,
        AUTHORSHIPS,
        "move_authorships",
        [authorship],
        apply="1",
        new_display_name="Someone",
    )
    assert not Researcher.objects.filter(display_name="Someone").exists()


def test_hide_action_hides_and_recounts(curator_client):
    author = ResearcherFactory()
    works = [AuthorshipFactory(researcher=author).work for _ in range(3)]
    post_action(curator_client, WORKS, "hide_works", works[:2])
    assert set(Work.objects.filter(is_hidden=True)) == set(works[:2])
    author.refresh_from_db()
    assert author.works_count == 1


def test_reassign_through_the_authorship_form(curator_client):
    from tests.works.test_admin import form_data

    wrong, right = ResearcherFactory(), ResearcherFactory()
    authorship = AuthorshipFactory(researcher=wrong)
    url = reverse("admin:works_authorship_change", args=[authorship.pk])
    data = form_data(curator_client.get(url))
    data["researcher"] = right.pk
    assert curator_client.post(url, data).status_code == 302
    authorship.refresh_from_db()
    assert authorship.researcher == right
    right.refresh_from_db()
    assert right.works_count == 1


def test_claim_page_shows_record_and_dispute_side_by_side(curator_client):
    owner = UserFactory(username="owner")
    record = ResearcherFactory(display_name="Disputed Person", owner=owner)
    Claim.objects.create(user=owner, researcher=record, method="orcid", status="approved")
    dispute = Claim.objects.create(
        user=UserFactory(username="challenger"),
        researcher=record,
        method="evidence",
        evidence="I wrote these papers at my lab",
        is_dispute=True,
    )
    html = curator_client.get(reverse("admin:claims_claim_change", args=[dispute.pk])).content
    html = html.decode()
    assert "Disputed Person" in html and "I wrote these papers at my lab" in html
    assert "owner" in html and "Approved" in html  # the owner's claim beside it


def test_claims_queue_points_at_pending_not_me_reports(curator_client):
    from claims.models import NotMeReport

    authorship = AuthorshipFactory()
    NotMeReport.objects.create(
        researcher=authorship.researcher, work=authorship.work, user=UserFactory(), reason="x"
    )
    html = curator_client.get(CLAIMS).content.decode()
    assert "waiting for a decision: 1" in html


def test_curator_approves_a_claim_and_the_claimant_is_emailed(curator_client, mailoutbox):
    claim = Claim.objects.create(
        user=UserFactory(), researcher=ResearcherFactory(), method="evidence"
    )
    from django.test import TestCase

    page = post_action(curator_client, CLAIMS, "approve", [claim])
    seen = page.context["form"]["seen"].value()
    with TestCase.captureOnCommitCallbacks(execute=True):
        post_action(
            curator_client, CLAIMS, "approve", [claim], apply="1", reason="Checked", seen=seen
        )
    claim.refresh_from_db()
    assert claim.status == "approved"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [claim.user.email]


def test_researchers_filter_by_institution(curator_client):
    from tests.factories import InstitutionFactory

    place = InstitutionFactory()
    there = ResearcherFactory(last_known_institution=place)
    ResearcherFactory()
    response = curator_client.get(RESEARCHERS, {"last_known_institution": place.pk})
    assert list(response.context["cl"].result_list) == [there]


def test_accepted_not_me_report_is_a_public_correction(client, curator_client):
    from claims.models import NotMeReport

    owner = UserFactory()
    record = ResearcherFactory(owner=owner)
    authorship = AuthorshipFactory(researcher=record, work=WorkFactory(title="Not my paper"))
    report = NotMeReport.objects.create(
        researcher=record, work=authorship.work, user=owner, reason="Another person"
    )
    url = reverse("admin:claims_notmereport_changelist")
    post_action(curator_client, url, "accept", [report], apply="1")
    assert not Authorship.objects.filter(pk=authorship.pk).exists()
    html = client.get(record.get_absolute_url()).content.decode()
    assert "Removed a work its owner reported as not theirs: Not my paper." in html


def test_release_action_asks_why_then_releases_the_owned_record(curator_client):
    owner = UserFactory()
    record = ResearcherFactory(display_name="Owned Person", owner=owner)
    page = post_action(curator_client, RESEARCHERS, "release_records", [record])
    assert page.templates[0].name == "admin/confirm_action.html"
    assert b"Owned Person" in page.content
    post_action(
        curator_client, RESEARCHERS, "release_records", [record], apply="1", reason="Not her."
    )
    record.refresh_from_db()
    assert record.owner is None
