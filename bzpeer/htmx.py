"""The two answers a view gives HTMX and a plain browser: the partial alone, or the page.

Views that answer HTMX differently keep `vary_on_headers("HX-Request")` on GETs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from bzpeer.types import HtmxHttpRequest

Context = Mapping[str, Any]


def partial_or_redirect(
    request: HtmxHttpRequest,
    template: str,
    context: Context | Callable[[], Context],
    *,
    redirect_to: str,
    message: str = "",
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    """HTMX gets `template` alone (with `status`); a plain request (a form post without
    JavaScript) is redirected to `redirect_to` with `error` as an error message, else
    `message` as a success message. A callable `context` is built only for HTMX, so the
    redirect costs none of the partial's queries."""
    if request.htmx:
        data = context() if callable(context) else context
        return render(request, template, data, status=status)
    if error:
        messages.error(request, error)
    elif message:
        messages.success(request, message)
    return redirect(redirect_to)


def partial_or_page(
    request: HtmxHttpRequest, partial: str, page: str, context: Context, *, status: int = 200
) -> HttpResponse:
    """HTMX gets the `_partial` alone; a plain request the page that includes it."""
    return render(request, partial if request.htmx else page, context, status=status)
