"""The privacy page, and the account holder's own page: hide or show their record, take
their data, delete their account."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from bzpeer.accounts import KNOWN_DEVICE_MAX_AGE
from bzpeer.decorators import login_required
from bzpeer.privacy import services
from bzpeer.privacy.models import DataExport
from bzpeer.ratelimit import allow
from bzpeer.types import AuthenticatedHttpRequest
from profiles.models import Researcher

EXPORTS_PER_DAY = 3


def _retention() -> dict[str, int]:
    return {
        "export_days": settings.PRIVACY_EXPORT_LINK_DAYS,
        "evidence_days": settings.PRIVACY_REJECTED_EVIDENCE_DAYS,
        "request_days": settings.PRIVACY_REQUEST_DATA_DAYS,
        "known_browser_days": KNOWN_DEVICE_MAX_AGE // 86400,
    }


@require_safe
def privacy_page(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/privacy.html", {"retention": _retention()})


@require_safe
@login_required
def account_privacy(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = {
        "owned": Researcher.objects.filter(owner=request.user).first(),
        "exports": list(DataExport.objects.filter(user=request.user)[:5]),
        "retention": _retention(),
    }
    return render(request, "privacy/account.html", context)


@require_POST
@login_required
def export_request(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not allow(
        scope="export", key=str(request.user.pk), limit=EXPORTS_PER_DAY, window_seconds=86400
    ):
        messages.error(request, f"You asked for {EXPORTS_PER_DAY} exports today, the limit.")
        return redirect("account_privacy")
    services.request_export(user=request.user)
    messages.success(
        request, "We are preparing your data. We will email you a download link shortly."
    )
    return redirect("account_privacy")


@require_safe
@login_required
def export_download(request: AuthenticatedHttpRequest, token: str, fmt: str) -> HttpResponse:
    export = services.export_for_token(token=token, user=request.user)
    if fmt == "html":
        response = HttpResponse(export.html, content_type="text/html; charset=utf-8")
    else:
        response = JsonResponse(export.payload, json_dumps_params={"indent": 2})
        response["Content-Disposition"] = 'attachment; filename="bzpeer-data.json"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@login_required
def account_delete(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        services.delete_account(user=request.user, confirm=request.POST.get("confirm", ""))
    except services.PrivacyError as exc:
        messages.error(request, str(exc))
        return redirect("account_privacy")
    logout(request)
    messages.success(request, "Your account was deleted. Thank you for using BZPEER.")
    return redirect("home")
