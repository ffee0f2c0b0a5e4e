"""The audit trail: who, when, what, before and after, for admin edits, bulk actions and
curation services; the public corrections list shows what and when, never who."""

from __future__ import annotations

import pghistory
import pytest
from django.urls import reverse

from bzpeer.audit.models import ResearcherEvent, WorkEvent
from bzpeer.curation.services import hide_works, merge_researchers, split_authorships
from profiles.models import Researcher
from tests.factories import AuthorshipFactory, ResearcherFactory, UserFactory, WorkFactory
from tests.works.test_admin import form_data

pytestmark = pytest.mark.django_db


def test_admin_edit_records_who_before_and_after(curator_client, curator):
    record = ResearcherFactory(display_name="Jon Smyth")
    url = reverse("admin:profiles_researcher_change", args=[record.pk])
    data = form_data(curator_client.get(url))
    data["display_name"] = "John Smith"
    assert curator_client.post(url, data).status_code == 302

    before = ResearcherEvent.objects.get(pgh_obj=record, pgh_label="before")
    after = ResearcherEvent.objects.get(pgh_obj=record, pgh_label="update")
    assert (before.display_name, after.display_name) == ("Jon Smyth", "John Smith")
    context = after.pgh_context.metadata
    assert context["user"] == curator.pk
    assert context["url"] == url
    assert context["curation"] == "edit"
    assert after.pgh_context_id == before.pgh_context_id


def test_events_admin_shows_the_diff(curator_client, curator):
    record = ResearcherFactory(display_name="Jon Smyth")
    with pghistory.context(user=curator.pk):
        Researcher.objects.filter(pk=record.pk).update(display_name="John Smith")
    events = reverse("admin:pghistory_middlewareevents_changelist")
    response = curator_client.get(
        events, {"method": "references", "obj": f"profiles.Researcher:{record.pk}"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Jon Smyth" in html and "John Smith" in html


def test_change_page_links_to_the_history(curator_client):
    record = ResearcherFactory()
    html = curator_client.get(
        reverse("admin:profiles_researcher_change", args=[record.pk])
    ).content.decode()
    assert "History (audit trail)" in html
    assert f"obj=profiles.Researcher:{record.pk}" in html


def test_bulk_update_is_audited_row_by_row(curator):
    records = [ResearcherFactory(summary="") for _ in range(3)]
    with pghistory.context(user=curator.pk, action="bulk fix"):
        Researcher.objects.filter(pk__in=[r.pk for r in records]).update(summary="Fixed")
    updates = ResearcherEvent.objects.filter(pgh_label="update", summary="Fixed")
    assert updates.count() == 3
    assert {e.pgh_context.metadata["user"] for e in updates} == {curator.pk}


def test_bulk_hide_action_is_audited_with_the_curator(curator_client, curator):
    works = [AuthorshipFactory().work for _ in range(3)]
    curator_client.post(
        reverse("admin:works_work_changelist"),
        {"action": "hide_works", "_selected_action": [w.pk for w in works], "index": 0},
    )
    events = WorkEvent.objects.filter(pgh_label="update", is_hidden=True)
    assert {e.pgh_obj_id for e in events} == {w.pk for w in works}
    assert all(e.pgh_context.metadata["user"] == curator.pk for e in events)
    befores = WorkEvent.objects.filter(pgh_label="before")
    assert {e.is_hidden for e in befores} == {False}


def test_counts_and_trust_writes_leave_no_event():
    record = ResearcherFactory()
    Researcher.objects.filter(pk=record.pk).update(works_count=12, trust_score=40)
    assert not ResearcherEvent.objects.filter(pgh_obj=record).exists()


def test_rows_created_outside_a_context_leave_no_event_but_their_edits_do():
    # The importer creates rows outside any context (fast); an import that changes a
    # curated field is still recorded, with no user.
    record = ResearcherFactory(display_name="Imported Name")
    assert not ResearcherEvent.objects.filter(pgh_obj=record).exists()
    Researcher.objects.filter(pk=record.pk).update(display_name="Re-imported Name")
    event = ResearcherEvent.objects.get(pgh_obj=record, pgh_label="update")
    assert event.display_name == "Re-imported Name" and event.pgh_context is None


def test_corrections_list_shows_a_merge_without_the_curator(client, curator):
    survivor = ResearcherFactory(display_name="Grace Hopper")
    duplicate = ResearcherFactory(display_name="G. Hopper")
    merge_researchers(survivor=survivor, duplicates=[duplicate], curator=curator)
    html = client.get(survivor.get_absolute_url()).content.decode()
    assert 'id="corrections"' in html
    assert "Merged duplicate record(s) into this profile: G. Hopper." in html
    assert curator.username not in html and curator.email not in html


def test_corrections_list_shows_hidden_works_and_splits(client, curator):
    author = ResearcherFactory()
    work = AuthorshipFactory(researcher=author, work=WorkFactory(title="A wrong paper")).work
    moved = AuthorshipFactory(researcher=author)
    hide_works(works=[work], curator=curator)
    new = split_authorships(authorships=[moved], new_display_name="Other Person", curator=curator)
    html = client.get(author.get_absolute_url()).content.decode()
    assert "Hid 1 work: A wrong paper." in html
    assert "to Other Person" in html
    assert "to Other Person" in client.get(new.get_absolute_url()).content.decode()


def test_corrections_list_shows_an_admin_edit(client, curator_client):
    record = ResearcherFactory(display_name="Jon Smyth")
    url = reverse("admin:profiles_researcher_change", args=[record.pk])
    data = form_data(curator_client.get(url))
    data["display_name"] = "John Smith"
    curator_client.post(url, data)
    client.logout()
    record.refresh_from_db()
    html = client.get(record.get_absolute_url()).content.decode()
    assert "Corrected the record: display name." in html
    assert "ellen.ripley" not in html


def test_owner_edits_are_not_corrections(client):
    from profiles.services import update_summary

    owner = UserFactory()
    record = ResearcherFactory(owner=owner)
    with pghistory.context(user=owner.pk, url="/owner"):
        update_summary(user=owner, researcher=record, summary="My own words")
    assert 'id="corrections"' not in client.get(record.get_absolute_url()).content.decode()
