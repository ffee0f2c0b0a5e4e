"""Hide requests: anyone files one from a profile; curators decide in the admin with the
claims' review rules; the requester is emailed; the audit trail keeps the decision and the
profile's public corrections say what changed, never who asked."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse
from pghistory.models import Context

from bzpeer.curation import services as curation
from claims.models import HideRequest
from claims.services import ClaimError
from profiles.models import HiddenBy, Researcher
from tests.claims.helpers import connect_orcid, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem_cache")]

CHANGELIST = reverse("admin:claims_hiderequest_changelist")


def file(client, researcher: Researcher, **data):
    """File as `client`, or anonymously (a client of its own) when None."""
    client = client or Client()
    form = {
        "name": "Ada Lovelace",
        "email": "ada@engines.test",
        "scope": HideRequest.Scope.PROFILE,
        "message": "This record describes me and I do not want a public profile.",
        **data,
    }
    return client.post(reverse("hide_request_new", args=[researcher.pk]), form)


def run_action(client, action: str, rows: list[HideRequest], **form):
    selected = [row.pk for row in rows]
    first = client.post(CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: selected, "index": 0})
    assert first.status_code == 200
    return client.post(
        CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: selected, "apply": "1", **form}
    )


def test_anonymous_visitor_files_a_request_and_is_emailed(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    page = client.get(reverse("hide_request_new", args=[world.ada.pk]))
    assert page.status_code == 200
    assert "Request removal or hiding" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = file(client, world.ada)
    assert response.status_code == 200
    assert "Request received" in response.content.decode()
    request = HideRequest.objects.get()
    assert (request.status, request.scope, request.proof, request.user) == (
        "pending",
        "profile",
        "evidence",
        None,
    )
    assert [m.to for m in mailoutbox] == [["ada@engines.test"]]
    assert "We received your request" in mailoutbox[0].subject
    # Filing hides nothing by itself.
    assert client.get(world.ada.get_absolute_url()).status_code == 200


def test_a_line_break_in_the_records_name_never_reaches_the_mail_subject(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    Researcher.objects.filter(pk=world.ada.pk).update(display_name="Ada\r\nBcc: x@evil.test")
    with django_capture_on_commit_callbacks(execute=True):
        file(client, world.ada)
    [mail] = mailoutbox  # sent, not dropped by a header error
    assert mail.subject == "We received your request about Ada Bcc: x@evil.test"
    assert mail.to == ["ada@engines.test"] and not mail.bcc


def test_a_short_message_is_refused(client, world):
    response = file(client, world.ada, message="hide")
    assert response.status_code == 200
    assert HideRequest.objects.count() == 0


def test_signed_in_with_the_records_orcid_is_proof(client, world):
    Researcher.objects.filter(pk=world.ada.pk).update(orcid="0000-0002-1825-0097")
    ada = make_user("ada@engines.test")
    connect_orcid(ada, "0000-0002-1825-0097")
    client.force_login(ada)
    file(client, world.ada)
    request = HideRequest.objects.get()
    assert request.proof == HideRequest.Proof.ORCID
    assert request.user == ada
    assert "0000-0002-1825-0097" in request.proof_detail


def test_curator_approves_in_the_admin_and_the_profile_is_gone(
    curator_client, world, mailoutbox, django_capture_on_commit_callbacks
):
    file(None, world.ada)
    request = HideRequest.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(curator_client, "approve", [request], reason="Subject asked.")
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "approved"
    assert request.reason == "Subject asked."
    world.ada.refresh_from_db()
    assert world.ada.hidden_at is not None
    assert world.ada.hidden_by == HiddenBy.REQUEST
    assert Client().get(world.ada.get_absolute_url()).status_code == 410
    assert "approved" in mailoutbox[-1].subject
    assert mailoutbox[-1].to == ["ada@engines.test"]
    # The audit trail: a curation context for the record, without the requester.
    context = Context.objects.filter(metadata__curation="hide request").get()
    assert context.metadata["researchers"] == [world.ada.pk]
    assert "ada@engines.test" not in str(context.metadata)


def test_rejection_needs_a_reason_and_tells_the_requester(
    client, curator, world, mailoutbox, django_capture_on_commit_callbacks
):
    file(client, world.ada)
    request = HideRequest.objects.get()
    with pytest.raises(ClaimError):
        curation.reject_hide_request(request=request, curator=curator, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        curation.reject_hide_request(request=request, curator=curator, reason="Not the subject.")
    request.refresh_from_db()
    assert request.status == "rejected"
    assert "rejected" in mailoutbox[-1].subject
    assert "Not the subject." in mailoutbox[-1].body
    assert client.get(world.ada.get_absolute_url()).status_code == 200


def test_only_curators_decide_and_never_their_own_request(client, world, curator):
    from django.core.exceptions import PermissionDenied

    file(client, world.ada)
    request = HideRequest.objects.get()
    nobody = make_user("someone@else.test")
    with pytest.raises(PermissionDenied):
        curation.approve_hide_request(request=request, curator=nobody)
    HideRequest.objects.filter(pk=request.pk).update(user=curator)
    request.refresh_from_db()
    with pytest.raises(PermissionDenied):
        curation.approve_hide_request(request=request, curator=curator)
    HideRequest.objects.filter(pk=request.pk).update(user=None)
    request.refresh_from_db()
    curation.approve_hide_request(request=request, curator=curator)
    with pytest.raises(ClaimError):  # decided once only
        curation.approve_hide_request(request=request, curator=curator)


def test_approved_summary_and_affiliation_requests_hide_those_parts(client, world, curator):
    file(client, world.ada, scope=HideRequest.Scope.SUMMARY)
    file(client, world.ada, scope=HideRequest.Scope.AFFILIATION)
    for request in HideRequest.objects.all():
        curation.approve_hide_request(request=request, curator=curator)
    body = client.get(world.ada.get_absolute_url()).content.decode()
    assert "Writes notes on engines." not in body
    assert "Affiliation not shown" in body
    assert "Analytical Engine Institute" not in body
    institution = client.get(world.institution.get_absolute_url()).content.decode()
    assert "Ada Lovelace" not in institution
    assert "Bob Babbage" in institution
    explorer = client.get(
        reverse("graph_node_neighbours", args=[f"researcher:{world.ada.pk}"])
    ).json()
    assert f"institution:{world.institution.pk}" not in {n["id"] for n in explorer["nodes"]}
    # The public corrections list says what changed, never who asked.
    assert "Hid the summary at the request of the person it describes." in body
    assert "ada@engines.test" not in body


def test_curators_see_the_queue_pending_first(curator_client, curator, world):
    file(None, world.ada)
    file(None, world.bob, name="Bob", email="bob@engines.test")
    first = HideRequest.objects.get(researcher=world.ada)
    curation.reject_hide_request(request=first, curator=curator, reason="No proof.")
    response = curator_client.get(CHANGELIST)
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert [row.researcher for row in rows] == [world.bob, world.ada]


def test_staff_outside_the_curators_cannot_decide(client, world):
    staff = make_user("staff@bzpeer.test")
    staff.is_staff = True
    staff.save()
    file(None, world.ada)
    client.force_login(staff)
    assert client.get(CHANGELIST).status_code == 403
