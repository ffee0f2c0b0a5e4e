"""Claiming a record, "My claims" and withdrawing: thin views over claims/services.py."""

from __future__ import annotations

from collections.abc import Callable

from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from bzpeer.decorators import login_required
from bzpeer.ratelimit import allow
from claims import queries, services
from claims.forms import EvidenceClaimForm
from claims.models import Claim
from profiles import queries as profile_queries
from profiles.models import Researcher

CLAIMS_PER_DAY = 5
RATE_LIMITED_MESSAGE = (
    f"You have tried {CLAIMS_PER_DAY} claims today, the daily limit. Please try again tomorrow."
)


def _get_researcher(pk: int) -> Researcher:
    """The record to claim (a merged record's survivor); 404 when there is none."""
    researcher = profile_queries.get_researcher(pk)
    return profile_queries.merge_survivor(researcher) or researcher


def _orcid_available(request: HttpRequest) -> bool:
    return bool(get_social_adapter().list_apps(request, provider=queries.ORCID_PROVIDER))


def _claim_context(
    request: HttpRequest, researcher: Researcher, *, form: EvidenceClaimForm | None = None
) -> dict:
    user = request.user
    orcids = queries.connected_orcids(user)
    record_orcid = queries.normalise_orcid(researcher.orcid) if researcher.orcid else ""
    return {
        "researcher": researcher,
        "identity": queries.viewer_state(user, researcher),
        "connected_orcids": orcids,
        "record_orcid": record_orcid,
        "orcid_matches": bool(record_orcid) and record_orcid in orcids,
        "orcid_available": _orcid_available(request),
        "institution_domain": queries.institution_domain(researcher),
        "matching_emails": queries.matching_verified_emails(user, researcher),
        "form": form or EvidenceClaimForm(),
    }


@require_safe
@login_required
@vary_on_headers("HX-Request")
def claim_start(request: HttpRequest, pk: int) -> HttpResponse:
    researcher = _get_researcher(pk)
    template = "claims/_claim_panel.html" if request.htmx else "claims/claim_start.html"
    return render(request, template, _claim_context(request, researcher))


def _submit(
    request: HttpRequest,
    pk: int,
    file_claim: Callable[[Researcher], Claim],
    *,
    form: EvidenceClaimForm | None = None,
) -> HttpResponse:
    researcher = _get_researcher(pk)
    claim_page = reverse("claim_start", args=[researcher.pk])
    if not allow(
        scope="claim", key=str(request.user.pk), limit=CLAIMS_PER_DAY, window_seconds=86400
    ):
        if request.htmx:
            context = {**_claim_context(request, researcher, form=form)}
            context["error"] = RATE_LIMITED_MESSAGE
            return render(request, "claims/_claim_panel.html", context, status=429)
        messages.error(request, RATE_LIMITED_MESSAGE)
        return redirect(claim_page)
    try:
        claim = file_claim(researcher)
    except services.ClaimError as exc:
        if request.htmx:
            context = {**_claim_context(request, researcher, form=form), "error": str(exc)}
            return render(request, "claims/_claim_panel.html", context)
        messages.error(request, str(exc))
        return redirect(claim_page)
    if request.htmx:
        return render(request, "claims/_claim_result.html", {"claim": claim})
    messages.success(request, _result_message(claim))
    if claim.status == Claim.Status.APPROVED:
        return redirect(researcher.get_absolute_url())
    return redirect("my_claims")


def _result_message(claim: Claim) -> str:
    name = claim.researcher.display_name
    if claim.status == Claim.Status.APPROVED:
        return f"You now own the record of {name}."
    if claim.is_dispute:
        return f"The record of {name} already has an owner: curators will review your dispute."
    return f"Your claim on {name} is waiting for a curator."


@require_POST
@login_required
def claim_orcid(request: HttpRequest, pk: int) -> HttpResponse:
    return _submit(
        request, pk, lambda r: services.claim_with_orcid(user=request.user, researcher=r)
    )


@require_POST
@login_required
def claim_email(request: HttpRequest, pk: int) -> HttpResponse:
    return _submit(
        request, pk, lambda r: services.claim_with_email(user=request.user, researcher=r)
    )


@require_POST
@login_required
def claim_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    form = EvidenceClaimForm(request.POST)
    if not form.is_valid():
        researcher = _get_researcher(pk)
        context = _claim_context(request, researcher, form=form)
        template = "claims/_claim_panel.html" if request.htmx else "claims/claim_start.html"
        return render(request, template, context)
    return _submit(
        request,
        pk,
        lambda r: services.claim_with_evidence(
            user=request.user,
            researcher=r,
            statement=form.cleaned_data["statement"],
            links=form.cleaned_data["links"],
        ),
        form=form,
    )


@require_safe
@login_required
def my_claims(request: HttpRequest) -> HttpResponse:
    claims = list(queries.user_claims(request.user))
    return render(request, "claims/my_claims.html", {"claims": claims})


@require_POST
@login_required
def withdraw(request: HttpRequest, claim_id: int) -> HttpResponse:
    claim = queries.get_claim_for_user(request.user, claim_id)
    error = ""
    try:
        claim = services.withdraw_claim(claim=claim, user=request.user)
    except services.ClaimError as exc:
        error = str(exc)
    if request.htmx:
        claim = queries.get_claim_for_user(request.user, claim_id)
        return render(request, "claims/_claim_row.html", {"claim": claim, "error": error})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"You withdrew your claim on {claim.researcher.display_name}.")
    return redirect("my_claims")
