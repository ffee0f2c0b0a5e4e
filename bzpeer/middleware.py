"""Request hygiene shared by every view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from csp.constants import HEADER as CSP_HEADER
from csp.constants import HEADER_REPORT_ONLY as CSP_HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path_info:
        return True
    for data in (request.GET, request.POST) if request.method == "POST" else (request.GET,):
        for key, values in data.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return True
    return False


class RejectNulBytesMiddleware:
    """A NUL byte in the path, a query parameter or a form field is refused with a 400.

    Postgres cannot store or compare text holding NUL: such a value reaching a query
    aborts it with an error (a 500). No legitimate URL or form carries one, so the request
    is refused once here rather than checked in every lookup."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            return HttpResponseBadRequest(
                "Bad request: the address or a form field contains a NUL character.",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


class UnconfiguredProviderMiddleware:
    """A sign-in provider without credentials (no ORCID client id on this deployment) is
    a 404 for its login and callback URLs; allauth raises SocialApp.DoesNotExist (a 500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        from allauth.socialaccount.models import SocialApp

        if isinstance(exception, SocialApp.DoesNotExist):
            raise Http404("This sign-in method is not configured.")


# What makes one response's policy differ from the next: a view's own policy (django-csp's
# decorators set these on the response) or an exemption.
_CSP_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt",
    "_csp_exempt_ro",
)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware with the header built once. Without a nonce, a view's own
    policy or a header already set, every response of a path gets the same header text
    from the settings, which django-csp rebuilds (and re-validates) for each response:
    about a tenth of what a page served from the cache costs. The text is kept with the
    settings it came from, so changed settings (tests override them) build it again."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        self._built: dict[bool, tuple[object, object, str | None, str | None]] = {}

    def process_response(self, request: HttpRequest, response: Any) -> Any:
        if (
            getattr(request, "_csp_nonce", None) is not None
            or CSP_HEADER in response
            or CSP_HEADER_REPORT_ONLY in response
            or any(hasattr(response, name) for name in _CSP_PER_RESPONSE)
            or (settings.DEBUG and response.status_code in (404, 500))
        ):
            return super().process_response(request, response)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        excluded = any(
            request.path_info.startswith(tuple((p or {}).get("EXCLUDE_URL_PREFIXES") or ()))
            for p in (policy, report_only)
        )
        built = self._built.get(excluded)
        if built is None or built[0] is not policy or built[1] is not report_only:
            response = super().process_response(request, response)
            header, header_ro = response.get(CSP_HEADER), response.get(CSP_HEADER_REPORT_ONLY)
            self._built[excluded] = (policy, report_only, header, header_ro)
            return response
        _, _, header, header_ro = built
        if header is not None:
            response[CSP_HEADER] = header
        if header_ro is not None:
            response[CSP_HEADER_REPORT_ONLY] = header_ro
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
