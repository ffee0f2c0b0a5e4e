"""Request hygiene shared by every view."""

from __future__ import annotations

from collections.abc import Callable

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
