"""The "Request removal or hiding" form on every profile: open to anyone, signed in or
not (the person a record describes often has no account)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from bzpeer.http import client_ip
from bzpeer.ratelimit import allow
from claims import hiding
from claims.forms import HideRequestForm
from claims.services import ClaimError
from profiles.access import get_researcher_or_404

RATE_LIMITED_MESSAGE = "Too many requests from here today. Please try again tomorrow."


def _client_key(request: HttpRequest) -> str:
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"ip:{client_ip(request)}"


@require_http_methods(["GET", "HEAD", "POST"])
def hide_request_new(request: HttpRequest, pk: int) -> HttpResponse:
    researcher = get_researcher_or_404(pk)
    user = request.user
    initial = {"email": user.email, "name": user.get_full_name()} if user.is_authenticated else {}
    form = HideRequestForm(request.POST or None, initial=initial)
    proof, proof_detail = hiding.detect_proof(user, researcher)
    context = {"researcher": researcher, "form": form, "proof_detail": proof_detail}
    if request.method == "POST" and form.is_valid():
        if not allow(
            scope="hide-request",
            key=_client_key(request),
            limit=hiding.REQUESTS_PER_DAY,
            window_seconds=86400,
        ):
            return render(
                request,
                "claims/hide_request.html",
                {**context, "error": RATE_LIMITED_MESSAGE},
                status=429,
            )
        try:
            hide_request = hiding.file_hide_request(
                researcher=researcher, user=user, **form.cleaned_data
            )
        except ClaimError as exc:
            context["error"] = str(exc)
        else:
            return render(request, "claims/hide_request_done.html", {"hide_request": hide_request})
    return render(request, "claims/hide_request.html", context)
