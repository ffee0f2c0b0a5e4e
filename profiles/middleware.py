from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from profiles.access import RecordGone


class RecordGoneMiddleware:
    """A hidden record answers 410 Gone with a short neutral page, whichever view (page,
    fragment, explorer) reached it through profiles.access."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RecordGone):
            record = exception.researcher
            # Only its owner learns whose page this was (and may show it again).
            is_owner = request.user.is_authenticated and record.owner_id == request.user.pk
            context = {"owned_record": record if is_owner else None}
            return render(request, "profiles/gone.html", context, status=410)
        return None
