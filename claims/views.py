"""Claiming a record, "My claims" and withdrawing: thin views over claims/services.py."""

from __future__ import annotations

from collections.abc import Callable

from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from bzpeer.curation import owners
from bzpeer.decorators import login_required
from bzpeer.htmx import partial_or_page, partial_or_redirect
from bzpeer.identifiers import parse_orcid
from bzpeer.ratelimit import allow
from bzpeer.types import AuthenticatedHttpRequest
from claims import queries, services
from claims.forms import EvidenceClaimForm
from claims.models import Claim
from profiles.access import get_researcher_or_404
from profiles.models import Researcher

CLAIMS_PER_DAY = 5
RATE_LIMITED_MESSAGE = (
    f"You have tried {CLAIMS_PER_DAY} claims today, the daily limit. Please try again tomorrow."
)


def _orcid_available(request: HttpRequest) -> bool:
    return bool(get_social_adapter().list_apps(request, provider=queries.ORCID_PROVIDER))


def _claim_context(
    request: AuthenticatedHttpRequest,
    researcher: Researcher,
    *,
    form: EvidenceClaimForm | None = None,
) -> dict:
    user = request.user
    orcids = queries.connected_orcids(user)
    record_orcid = parse_orcid(researcher.orcid) or ""
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
def claim_start(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    researcher = get_researcher_or_404(pk)
    return partial_or_page(
        request,
        "claims/_claim_panel.html",
        "claims/claim_start.html",
        _claim_context(request, researcher),
    )


def _submit(
    request: AuthenticatedHttpRequest,
    pk: int,
    file_claim: Callable[[Researcher], Claim],
    *,
    form: EvidenceClaimForm | None = None,
) -> HttpResponse:
    researcher = get_researcher_or_404(pk)
    claim_page = reverse("claim_start", args=[researcher.pk])
    if not allow(
        scope="claim", key=str(request.user.pk), limit=CLAIMS_PER_DAY, window_seconds=86400
    ):
        return partial_or_redirect(
            request,
            "claims/_claim_panel.html",
            lambda: {
                **_claim_context(request, researcher, form=form),
                "error": RATE_LIMITED_MESSAGE,
            },
            redirect_to=claim_page,
            error=RATE_LIMITED_MESSAGE,
            status=429,
        )
    try:
        claim = file_claim(researcher)
    except services.ClaimError as exc:
        error = str(exc)
        return partial_or_redirect(
            request,
            "claims/_claim_panel.html",
            lambda: {**_claim_context(request, researcher, form=form), "error": error},
            redirect_to=claim_page,
            error=error,
        )
    approved = claim.status == Claim.Status.APPROVED
    return partial_or_redirect(
        request,
        "claims/_claim_result.html",
        {"claim": claim},
        redirect_to=researcher.get_absolute_url() if approved else reverse("my_claims"),
        message=_result_message(claim),
    )


def _result_message(claim: Claim) -> str:
    name = claim.researcher.display_name
    if claim.status == Claim.Status.APPROVED:
        return f"You now own the record of {name}."
    if claim.is_dispute:
        return f"The record of {name} already has an owner: curators will review your dispute."
    if claim.method == Claim.Method.EMAIL_DOMAIN:
        return (
            f"Your address is on the institution's domain but does not look like the name "
            f"{name}: a curator reviews your claim."
        )
    return f"Your claim on {name} is waiting for a curator."


@require_POST
@login_required
def claim_orcid(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _submit(request, pk, lambda r: owners.claim_with_orcid(user=request.user, researcher=r))


@require_POST
@login_required
def claim_email(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _submit(request, pk, lambda r: owners.claim_with_email(user=request.user, researcher=r))


@require_POST
@login_required
def claim_evidence(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    form = EvidenceClaimForm(request.POST)
    if not form.is_valid():
        researcher = get_researcher_or_404(pk)
        return partial_or_page(
            request,
            "claims/_claim_panel.html",
            "claims/claim_start.html",
            _claim_context(request, researcher, form=form),
        )
    return _submit(
        request,
        pk,
        lambda r: owners.claim_with_evidence(
            user=request.user,
            researcher=r,
            statement=form.cleaned_data["statement"],
            links=form.cleaned_data["links"],
        ),
        form=form,
    )


@require_safe
@login_required
def my_claims(request: AuthenticatedHttpRequest) -> HttpResponse:
    claims = list(queries.user_claims(request.user))
    return render(request, "claims/my_claims.html", {"claims": claims})


@require_POST
@login_required
def withdraw(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    claim = queries.get_claim_for_user(request.user, claim_id)
    name = claim.researcher.display_name
    error = ""
    try:
        owners.withdraw_claim(claim=claim, user=request.user)
    except services.ClaimError as exc:
        error = str(exc)
    return partial_or_redirect(
        request,
        "claims/_claim_row.html",
        # Read again with its researcher for the row (the withdrawal changed its status).
        lambda: {"claim": queries.get_claim_for_user(request.user, claim_id), "error": error},
        redirect_to=reverse("my_claims"),
        message=f"You withdrew your claim on {name}.",
        error=error,
    )
