"""Owner, verification level and ORCID iD change only through the claim rules: every admin
path that could write them (change and add forms, inlines, bulk edit, actions) is tried
with forged values, as a curator and as a superuser; the actions that do change them ask
for a reason, leave a public note and email the owner."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client, RequestFactory
from django.urls import reverse

from claims.models import Claim
from profiles.models import Researcher, VerificationLevel
from tests.claims.helpers import connect_orcid, make_user
from tests.factories import AuthorshipFactory, ResearcherFactory, UserFactory
from tests.works.test_admin import form_data

pytestmark = pytest.mark.django_db

RESEARCHERS = reverse("admin:profiles_researcher_changelist")
GUARDED = ("owner", "verification_level", "orcid")
ORCID = "0000-0002-1825-0097"
OPENALEX_ID = "https://openalex.org/A5000000042"
STATEMENT = "I am a lecturer at this university and wrote these papers."


@pytest.fixture(params=["curator", "superuser"])
def editor(request):
    if request.param == "curator":
        return make_user("curator@bzpeer.test", staff=True)
    user = make_user("root@bzpeer.test")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def editor_client(editor) -> Client:
    client = Client()
    client.force_login(editor)
    return client


@pytest.fixture
def record(editor):
    """An unclaimed record the editor has a pending claim on (the reported case)."""
    from claims import services

    record = ResearcherFactory(
        display_name="Ada Lovelace", source_id="https://openalex.org/A5000000009"
    )
    services.claim_with_evidence(user=editor, researcher=record, statement=STATEMENT)
    return record


def forged(editor) -> dict:
    return {"owner": editor.pk, "verification_level": "3", "orcid": ORCID}


def guarded_state(record: Researcher) -> tuple:
    record.refresh_from_db()
    return (record.owner_id, record.verification_level, record.orcid)


def shown(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- forms ----------------------------------------------------------------------------------


def test_the_change_form_shows_but_never_saves_owner_level_or_orcid(
    editor_client, editor, record, client
):
    url = reverse("admin:profiles_researcher_change", args=[record.pk])
    page = editor_client.get(url)
    assert page.status_code == 200
    assert not set(GUARDED) & set(page.context["adminform"].form.fields)
    before = guarded_state(record)

    data = {**form_data(page), **forged(editor), "summary": "Edited by a curator."}
    response = editor_client.post(url, data)

    assert response.status_code == 302
    assert guarded_state(record) == before == (None, VerificationLevel.L1, None)
    assert record.summary == "Edited by a curator."  # the rest of the form was saved
    html = client.get(record.get_absolute_url()).content.decode()
    assert "Unclaimed author" in html and "Claimed author" not in html
    assert Claim.objects.get(user=editor).status == Claim.Status.PENDING


def test_the_add_form_never_sets_owner_level_or_orcid(editor_client, editor):
    url = reverse("admin:profiles_researcher_add")
    page = editor_client.get(url)
    if not editor.is_superuser:
        assert page.status_code == 403  # curators correct records, they do not make them
        return
    assert not set(GUARDED) & set(page.context["adminform"].form.fields)
    data = {
        **form_data(page),
        **forged(editor),
        "display_name": "Hand Made",
        "source_id": "urn:bzpeer:hand:1",
    }
    response = editor_client.post(url, data)
    assert response.status_code == 302
    made = Researcher.objects.get(source_id="urn:bzpeer:hand:1")
    # The level a record without owner, works or iD has by the rules.
    assert (made.owner_id, made.verification_level, made.orcid) == (
        None,
        VerificationLevel.L0,
        None,
    )


def test_no_admin_form_inline_or_bulk_edit_offers_the_guarded_fields(editor):
    request = RequestFactory().get("/admin/")
    request.user = editor
    record = ResearcherFactory()
    AuthorshipFactory(researcher=record)
    for model, model_admin in admin.site._registry.items():
        for name in GUARDED:
            assert name not in (model_admin.list_editable or ()), (model, name)
        if model is Researcher:
            for obj in (None, record):
                form = model_admin.get_form(request, obj)
                assert not set(GUARDED) & set(form.base_fields), (model, obj)
        # Inlines can depend on the object (INLINE_CAP): an empty form and a saved one.
        for obj in (None, model.objects.order_by("pk").first()):
            for inline in model_admin.get_inline_instances(request, obj):
                if inline.model is Researcher:
                    formset = inline.get_formset(request, obj)
                    assert not set(GUARDED) & set(formset.form.base_fields), (model, inline)


def test_a_forged_bulk_edit_of_the_changelist_changes_nothing(editor_client, editor, record):
    before = guarded_state(record)
    response = editor_client.post(
        RESEARCHERS,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": record.pk,
            **{f"form-0-{name}": value for name, value in forged(editor).items()},
            "_save": "Save",
        },
    )
    assert response.status_code in (200, 302)
    assert guarded_state(record) == before


def test_actions_ignore_forged_fields(editor_client, editor, record):
    before = guarded_state(record)
    other = ResearcherFactory(display_name="A. Lovelace")
    selected = {ACTION_CHECKBOX_NAME: [record.pk], **forged(editor)}
    editor_client.post(RESEARCHERS, {"action": "recompute", "index": 0, **selected})
    assert guarded_state(record) == before
    merge = {
        "action": "merge_duplicates",
        ACTION_CHECKBOX_NAME: [record.pk, other.pk],
        "apply": "1",
        "survivor": record.pk,
        **forged(editor),
    }
    editor_client.post(RESEARCHERS, merge)
    assert guarded_state(record) == before
    assert Researcher.objects.get(pk=other.pk).merged_into_id == record.pk  # the merge ran


def test_no_admin_action_of_any_model_takes_forged_owner_level_or_orcid(
    editor_client, editor, record
):
    """Every action of every admin (deletion aside), on every row of its model, first step
    and confirmation step, with forged values and nothing else: none changes the guarded
    fields (those that may ask for a reason, the state the curator saw, and so on)."""
    AuthorshipFactory(researcher=record)
    request = RequestFactory().get("/admin/")
    request.user = editor
    before = guarded_state(record)
    tried = []
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        pks = list(model.objects.values_list("pk", flat=True)[:20])
        for name in model_admin.get_actions(request):
            if name == "delete_selected" or not pks:
                continue
            data = {"action": name, ACTION_CHECKBOX_NAME: pks, **forged(editor)}
            for step in ({"index": 0}, {"index": 0, "apply": "1", "post": "yes"}):
                response = editor_client.post(url, {**data, **step})
                assert response.status_code < 500, (model, name, step)
            assert guarded_state(record) == before, (model, name)
            tried.append(name)
    assert {"approve", "transfer", "release_records", "change_orcid", "merge_duplicates"} <= set(
        tried
    )


# --- the actions that do change them -----------------------------------------------------------


def change_orcid(client: Client, record: Researcher, **answers):
    data = {"action": "change_orcid", ACTION_CHECKBOX_NAME: [record.pk]}
    page = client.post(RESEARCHERS, {**data, "index": 0})
    assert page.status_code == 200 and page.templates[0].name == "admin/confirm_action.html"
    return client.post(RESEARCHERS, {**data, "apply": "1", **answers})


def test_the_orcid_changes_through_its_action_with_a_reason_and_a_public_note(
    editor_client, client, mailoutbox, django_capture_on_commit_callbacks
):
    owner = make_user("ada@home.test")
    record = ResearcherFactory(display_name="Ada Lovelace", owner=owner, verification_level=2)
    Claim.objects.create(user=owner, researcher=record, method="evidence", status="approved")

    no_reason = change_orcid(editor_client, record, orcid=ORCID, reason="")
    assert no_reason.status_code == 200 and "reason" in no_reason.context["form"].errors
    typo = change_orcid(editor_client, record, orcid="0000-0002-1825-0098", reason="From ORCID")
    assert "check digit" in str(typo.context["form"].errors["orcid"])
    with django_capture_on_commit_callbacks(execute=True):
        done = change_orcid(
            editor_client, record, orcid=f"https://orcid.org/{ORCID}", reason="Her ORCID page."
        )

    assert done.status_code == 302, shown(done)
    record.refresh_from_db()
    assert record.orcid == ORCID  # stored bare, as the importer does
    assert (record.owner, record.verification_level) == (owner, VerificationLevel.L2)
    assert (
        "Corrected the record&#x27;s ORCID iD."
        in client.get(record.get_absolute_url()).content.decode()
    )
    [email] = mailoutbox
    assert email.to == ["ada@home.test"] and "Her ORCID page." in email.body and ORCID in email.body


def test_an_iD_its_owner_proved_by_signing_in_is_not_changed_by_hand(editor_client):
    owner = make_user("ada@home.test")
    record = ResearcherFactory(orcid=ORCID, owner=owner, verification_level=VerificationLevel.L3)
    connect_orcid(owner, ORCID)
    response = change_orcid(editor_client, record, orcid="", reason="Wrong iD.")
    assert any("signed in with ORCID" in m for m in shown(response))
    assert guarded_state(record) == (owner.pk, VerificationLevel.L3, ORCID)


def test_an_iD_another_record_holds_is_refused(editor_client):
    ResearcherFactory(display_name="Holder", orcid=ORCID)
    record = ResearcherFactory()
    response = change_orcid(editor_client, record, orcid=ORCID, reason="Typo.")
    assert any("Holder" in m and "merge" in m for m in shown(response))
    assert guarded_state(record)[2] is None


def test_an_unclaimed_record_gains_l1_with_an_orcid_and_loses_it_without(editor_client):
    record = ResearcherFactory(verification_level=VerificationLevel.L0)
    change_orcid(editor_client, record, orcid=ORCID, reason="Found it.")
    assert guarded_state(record) == (None, VerificationLevel.L1, ORCID)
    change_orcid(editor_client, record, orcid="", reason="Not hers.")
    assert guarded_state(record) == (None, VerificationLevel.L0, None)


def test_releasing_a_record_needs_a_reason_and_tells_the_owner(
    editor_client, mailoutbox, django_capture_on_commit_callbacks
):
    owner = make_user("ada@home.test")
    record = ResearcherFactory(
        owner=owner, verification_level=VerificationLevel.L2, source_id=OPENALEX_ID
    )
    Claim.objects.create(user=owner, researcher=record, method="evidence", status="approved")
    data = {"action": "release_records", ACTION_CHECKBOX_NAME: [record.pk], "apply": "1"}
    again = editor_client.post(RESEARCHERS, {**data, "reason": ""})
    assert again.status_code == 200 and "reason" in again.context["form"].errors
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(RESEARCHERS, {**data, "reason": "A different Ada."})
    assert guarded_state(record) == (None, VerificationLevel.L1, None)
    [email] = mailoutbox
    assert email.to == ["ada@home.test"] and "A different Ada." in email.body


def test_deleting_an_owners_account_releases_the_record_by_the_rules(admin_client):
    owner = make_user("ada@home.test")
    record = ResearcherFactory(
        owner=owner, verification_level=VerificationLevel.L2, source_id=OPENALEX_ID
    )
    Claim.objects.create(user=owner, researcher=record, method="evidence", status="approved")
    url = reverse("admin:auth_user_delete", args=[owner.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not get_user_model().objects.filter(pk=owner.pk).exists()
    # Not an unclaimed record that still says "claimed, verified".
    assert guarded_state(record) == (None, VerificationLevel.L1, None)


def test_staff_outside_the_curators_cannot_change_the_orcid():
    staff = UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_researcher", "change_researcher"])
    )
    client = Client()
    client.force_login(staff)
    record = ResearcherFactory()
    data = {"action": "change_orcid", ACTION_CHECKBOX_NAME: [record.pk], "index": 0}
    client.post(RESEARCHERS, data)
    client.post(RESEARCHERS, {**data, "apply": "1", "orcid": ORCID, "reason": "Mine."})
    assert guarded_state(record)[2] is None
