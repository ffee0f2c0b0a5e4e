"""Owner tools on one's own profile: summary, collaboration settings, "not me", release.

Every write is a POST with CSRF. HTMX gets the identity panel back (with the parts of
the page it changed, out of band); a plain form post is redirected to the profile.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect

from bzpeer.curation import owners
from bzpeer.decorators import login_required
from bzpeer.htmx import partial_or_redirect
from bzpeer.ratelimit import allow
from bzpeer.types import AuthenticatedHttpRequest
from claims import listing
from claims import queries as claim_queries
from claims import services as claim_services
from claims.forms import NotMeForm
from profiles import queries, services
from profiles.access import get_owned_researcher
from profiles.forms import SUMMARY_DRAFT_KEY, CollaborationForm, SummaryForm, VisibilityForm
from profiles.models import Researcher
from works.models import Work

NOT_ME_PER_DAY = 30
OWNER_WORKS_PER_PAGE = 20


def _identity_response(
    request: AuthenticatedHttpRequest,
    pk: int,
    *,
    notice: str = "",
    error: str = "",
    status: int = 200,
    summary_draft: str | None = None,
) -> HttpResponse:
    if summary_draft is not None and not request.htmx:
        request.session[SUMMARY_DRAFT_KEY] = summary_draft
    # Read again: the write may have changed the record.
    researcher = queries.get_researcher(pk)
    return partial_or_redirect(
        request,
        "profiles/_identity_swap.html",
        lambda: {
            "researcher": researcher,
            "identity": claim_queries.viewer_state(request.user, researcher),
            "top_topics": queries.top_topics(researcher),
            "summary_max_length": services.SUMMARY_MAX_LENGTH,
            "summary_draft": summary_draft,
            "notice": notice,
            "error": error,
        },
        redirect_to=f"{researcher.get_absolute_url()}#identity",
        message=notice,
        error=error,
        status=status,
    )


def _first_error(form: Form) -> str:
    for errors in form.errors.values():
        return str(errors[0])
    return "Please check the form."


@require_POST
@login_required
def owner_summary(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    researcher = get_owned_researcher(request.user, pk)
    form = SummaryForm(request.POST)
    typed = request.POST.get("summary", "")
    if not form.is_valid():
        return _identity_response(
            request, researcher.pk, error=_first_error(form), summary_draft=typed
        )
    try:
        owners.update_summary(
            user=request.user, researcher=researcher, summary=form.cleaned_data["summary"]
        )
    except ValidationError as exc:
        return _identity_response(
            request, researcher.pk, error=exc.messages[0], summary_draft=typed
        )
    return _identity_response(request, researcher.pk, notice="Summary saved.")


@require_POST
@login_required
def owner_collaboration(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    researcher = get_owned_researcher(request.user, pk)
    form = CollaborationForm(request.POST)
    if not form.is_valid():
        return _identity_response(request, researcher.pk, error=_first_error(form))
    data = form.cleaned_data
    try:
        services.set_collaboration(
            user=request.user,
            researcher=researcher,
            open_to_collaborate=data["open_to_collaborate"],
            kinds=data["kinds"],
            until=data["open_until"],
        )
    except ValidationError as exc:
        return _identity_response(request, researcher.pk, error=exc.messages[0])
    notice = (
        "You are open to collaborate."
        if data["open_to_collaborate"]
        else "You are no longer open to collaborate."
    )
    return _identity_response(request, researcher.pk, notice=notice)


@require_POST
@login_required
def owner_visibility(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    researcher = get_owned_researcher(request.user, pk)
    form = VisibilityForm(request.POST)
    if not form.is_valid():
        return _identity_response(request, researcher.pk, error=_first_error(form))
    try:
        owners.set_visibility(user=request.user, researcher=researcher, **form.cleaned_data)
    except ValidationError as exc:
        return _identity_response(request, researcher.pk, error=exc.messages[0])
    return _identity_response(request, researcher.pk, notice="Visibility settings saved.")


@require_POST
@login_required
def owner_hide(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The owner hides their record at once: the profile answers 410 from now on, so the
    owner lands on their account page."""
    researcher = get_owned_researcher(request.user, pk)
    owners.set_record_hidden(user=request.user, researcher=researcher, hidden=True)
    message = f"The profile of {researcher.display_name} is hidden."
    messages.success(request, message)
    if request.htmx:
        return HttpResponseClientRedirect(reverse("account_privacy"))
    return redirect("account_privacy")


@require_POST
@login_required
def owner_unhide(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    researcher = get_owned_researcher(request.user, pk)
    try:
        owners.set_record_hidden(user=request.user, researcher=researcher, hidden=False)
    except claim_services.ClaimError as exc:
        messages.error(request, str(exc))
        return redirect("account_privacy")
    messages.success(request, f"The profile of {researcher.display_name} is shown again.")
    return redirect(researcher.get_absolute_url())


@require_POST
@login_required
def owner_release(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    researcher = get_owned_researcher(request.user, pk)
    owners.release_record(user=request.user, researcher=researcher)
    return _identity_response(
        request, researcher.pk, notice=f"You released the record of {researcher.display_name}."
    )


def _owner_works_context(request: AuthenticatedHttpRequest, researcher: Researcher) -> dict:
    page = listing.works_page(
        researcher, sort=listing.DEFAULT_WORK_SORT, page_number=request.GET.get("page")
    )
    return {
        "researcher": researcher,
        "works": page,
        "reports": list(claim_queries.not_me_reports_for(researcher)[:50]),
        "form": NotMeForm(),
    }


@require_safe
@login_required
def owner_works(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    researcher = get_owned_researcher(request.user, pk)
    return render(request, "profiles/owner_works.html", _owner_works_context(request, researcher))


@require_POST
@login_required
def owner_not_me(request: AuthenticatedHttpRequest, pk: int, work_id: int) -> HttpResponse:
    researcher = get_owned_researcher(request.user, pk)
    work = get_object_or_404(Work, pk=work_id)
    form = NotMeForm(request.POST)
    error = ""
    status = 200
    if not allow(
        scope="not_me", key=str(request.user.pk), limit=NOT_ME_PER_DAY, window_seconds=86400
    ):
        error = f"You have reported {NOT_ME_PER_DAY} works today, the daily limit."
        status = 429
    elif not form.is_valid():
        error = _first_error(form)
    else:
        try:
            owners.report_not_me(
                user=request.user,
                researcher=researcher,
                work=work,
                reason=form.cleaned_data["reason"],
            )
        except claim_services.ClaimError as exc:
            error = str(exc)
    return partial_or_redirect(
        request,
        "profiles/_not_me_row.html",
        {
            "researcher": researcher,
            "work": work,
            "error": error,
            "form": form,
            "reported": not error,
        },
        redirect_to=reverse("owner_works", args=[researcher.pk]),
        message=f"“{work.title}” is off your profile until a curator decides.",
        error=error,
        status=status,
    )
