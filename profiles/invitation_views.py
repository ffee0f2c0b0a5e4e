"""Direct collaboration: write an invitation (with conflicts of interest shown first),
the inbox, reading one invitation, accepting or declining it."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from bzpeer.access import require_owner
from bzpeer.decorators import login_required
from bzpeer.htmx import partial_or_page, partial_or_redirect
from bzpeer.types import AuthenticatedHttpRequest
from claims import queries as claim_queries
from profiles import invitations
from profiles.access import get_researcher_or_404
from profiles.forms import InvitationForm
from profiles.models import Invitation, Researcher


def _get_invitable_researcher(pk: int) -> Researcher:
    """A claimed record, or the survivor of a merged one (404 for an unclaimed record: it
    can never receive anything)."""
    researcher = get_researcher_or_404(pk)
    if researcher.owner_id is None:
        raise Http404("Only a claimed record receives invitations.")
    if not researcher.accepts_invitations:  # the owner turned invitations off
        raise Http404("This researcher does not accept invitations.")
    return researcher


def _form_context(
    request: AuthenticatedHttpRequest, researcher: Researcher, form: InvitationForm
) -> dict:
    return {
        "researcher": researcher,
        "form": form,
        "identity": claim_queries.viewer_state(request.user, researcher),
        "conflicts": invitations.conflicts_of_interest(sender=request.user, researcher=researcher),
    }


def _render_form(
    request: AuthenticatedHttpRequest, context: dict, *, error: str = "", status: int = 200
) -> HttpResponse:
    return partial_or_page(
        request,
        "profiles/_invitation_form.html",
        "profiles/invitation_new.html",
        {**context, "error": error},
        status=status,
    )


@require_safe
@login_required
@vary_on_headers("HX-Request")
def invitation_new(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    researcher = _get_invitable_researcher(pk)
    return _render_form(request, _form_context(request, researcher, InvitationForm()))


@require_POST
@login_required
def invitation_send(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    researcher = _get_invitable_researcher(pk)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _render_form(request, _form_context(request, researcher, form))
    try:
        invitation = invitations.send_invitation(
            sender=request.user,
            researcher=researcher,
            subject=form.cleaned_data["subject"],
            message=form.cleaned_data["message"],
        )
    except invitations.InvitationLimitReached as exc:
        error = str(exc)
        return partial_or_redirect(
            request,
            "profiles/_invitation_form.html",
            lambda: {**_form_context(request, researcher, form), "error": error},
            redirect_to=f"{researcher.get_absolute_url()}#direct-collaboration",
            error=error,
            status=429,
        )
    except invitations.InvitationError as exc:
        return _render_form(request, _form_context(request, researcher, form), error=str(exc))
    return partial_or_redirect(
        request,
        "profiles/_invitation_sent.html",
        {"invitation": invitation},
        redirect_to=reverse("invitation_detail", args=[invitation.pk]),
        message=f"Your invitation to {researcher.display_name} is on its way.",
    )


@require_safe
@login_required
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = {
        "received": list(invitations.received(request.user)[:100]),
        "sent": list(invitations.sent(request.user)[:100]),
    }
    return render(request, "profiles/inbox.html", context)


@require_safe
@login_required
def invitation_detail(request: AuthenticatedHttpRequest, invitation_id: int) -> HttpResponse:
    invitation = invitations.get_invitation_for_user(request.user, invitation_id)
    return render(request, "profiles/invitation_detail.html", {"invitation": invitation})


def _answer(request: AuthenticatedHttpRequest, invitation_id: int, *, accept: bool) -> HttpResponse:
    invitation = invitations.get_invitation_for_user(request.user, invitation_id)
    require_owner(
        invitation.recipient_id, request.user, "Only the recipient answers an invitation."
    )
    error = ""
    try:
        answer = invitations.accept_invitation if accept else invitations.decline_invitation
        invitation = answer(invitation=invitation, user=request.user)
    except invitations.InvitationError as exc:
        error = str(exc)
    if invitation.status == Invitation.Status.ACCEPTED:
        message = "You accepted: you can now see each other's contact email."
    else:
        message = "You declined the invitation."
    return partial_or_redirect(
        request,
        "profiles/_invitation_card.html",
        # Read again with its people for the card (the answer changed its status).
        lambda: {
            "invitation": invitations.get_invitation_for_user(request.user, invitation_id),
            "error": error,
        },
        redirect_to=reverse("invitation_detail", args=[invitation.pk]),
        message=message,
        error=error,
    )


@require_POST
@login_required
def invitation_accept(request: AuthenticatedHttpRequest, invitation_id: int) -> HttpResponse:
    return _answer(request, invitation_id, accept=True)


@require_POST
@login_required
def invitation_decline(request: AuthenticatedHttpRequest, invitation_id: int) -> HttpResponse:
    return _answer(request, invitation_id, accept=False)


@require_POST
@login_required
def invitation_withdraw_email(
    request: AuthenticatedHttpRequest, invitation_id: int
) -> HttpResponse:
    invitation = invitations.get_invitation_for_user(request.user, invitation_id)
    error = ""
    try:
        invitations.withdraw_shared_email(invitation=invitation, user=request.user)
    except invitations.InvitationError as exc:
        error = str(exc)
    return partial_or_redirect(
        request,
        "profiles/_invitation_card.html",
        lambda: {
            "invitation": invitations.get_invitation_for_user(request.user, invitation_id),
            "error": error,
        },
        redirect_to=reverse("invitation_detail", args=[invitation.pk]),
        message="The email addresses shared through this invitation are withdrawn.",
        error=error,
    )
