"""Direct collaboration: write an invitation (with conflicts of interest shown first),
the inbox, reading one invitation, accepting or declining it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from bzpeer.decorators import login_required
from claims import queries as claim_queries
from profiles import invitations, queries
from profiles.forms import InvitationForm
from profiles.models import Invitation, Researcher


def _get_invitable_researcher(request: HttpRequest, pk: int) -> Researcher:
    """A claimed record (404 for an unclaimed one: it can never receive anything)."""
    researcher = queries.get_researcher(pk)
    if researcher.owner_id is None or researcher.merged_into_id:
        raise Http404("Only a claimed record receives invitations.")
    return researcher


def _form_context(request: HttpRequest, researcher: Researcher, form: InvitationForm) -> dict:
    return {
        "researcher": researcher,
        "form": form,
        "identity": claim_queries.viewer_state(request.user, researcher),
        "conflicts": invitations.conflicts_of_interest(sender=request.user, researcher=researcher),
    }


def _render_form(
    request: HttpRequest, context: dict, *, error: str = "", status: int = 200
) -> HttpResponse:
    context = {**context, "error": error}
    template = "profiles/_invitation_form.html" if request.htmx else "profiles/invitation_new.html"
    return render(request, template, context, status=status)


@require_safe
@login_required
@vary_on_headers("HX-Request")
def invitation_new(request: HttpRequest, pk: int) -> HttpResponse:
    researcher = _get_invitable_researcher(request, pk)
    return _render_form(request, _form_context(request, researcher, InvitationForm()))


@require_POST
@login_required
def invitation_send(request: HttpRequest, pk: int) -> HttpResponse:
    researcher = _get_invitable_researcher(request, pk)
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
        if request.htmx:
            return _render_form(
                request, _form_context(request, researcher, form), error=str(exc), status=429
            )
        messages.error(request, str(exc))
        return redirect(f"{researcher.get_absolute_url()}#direct-collaboration")
    except invitations.InvitationError as exc:
        return _render_form(request, _form_context(request, researcher, form), error=str(exc))
    if request.htmx:
        return render(request, "profiles/_invitation_sent.html", {"invitation": invitation})
    messages.success(request, f"Your invitation to {researcher.display_name} is on its way.")
    return redirect("invitation_detail", invitation_id=invitation.pk)


@require_safe
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    context = {
        "received": list(invitations.received(request.user)[:100]),
        "sent": list(invitations.sent(request.user)[:100]),
    }
    return render(request, "profiles/inbox.html", context)


@require_safe
@login_required
def invitation_detail(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = invitations.get_invitation_for_user(request.user, invitation_id)
    return render(request, "profiles/invitation_detail.html", {"invitation": invitation})


def _answer(request: HttpRequest, invitation_id: int, *, accept: bool) -> HttpResponse:
    invitation = invitations.get_invitation_for_user(request.user, invitation_id)
    if invitation.recipient_id != request.user.pk:
        raise PermissionDenied("Only the recipient answers an invitation.")
    error = ""
    try:
        answer = invitations.accept_invitation if accept else invitations.decline_invitation
        invitation = answer(invitation=invitation, user=request.user)
    except invitations.InvitationError as exc:
        error = str(exc)
    if request.htmx:
        invitation = invitations.get_invitation_for_user(request.user, invitation_id)
        context = {"invitation": invitation, "error": error}
        return render(request, "profiles/_invitation_card.html", context)
    if error:
        messages.error(request, error)
    elif invitation.status == Invitation.Status.ACCEPTED:
        messages.success(request, "You accepted: you can now see each other's contact email.")
    else:
        messages.success(request, "You declined the invitation.")
    return redirect("invitation_detail", invitation_id=invitation.pk)


@require_POST
@login_required
def invitation_accept(request: HttpRequest, invitation_id: int) -> HttpResponse:
    return _answer(request, invitation_id, accept=True)


@require_POST
@login_required
def invitation_decline(request: HttpRequest, invitation_id: int) -> HttpResponse:
    return _answer(request, invitation_id, accept=False)
