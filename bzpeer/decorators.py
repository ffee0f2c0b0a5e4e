"""View decorators shared by the apps."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

from bzpeer.types import HtmxHttpRequest


def login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Django's login_required, except that an HTMX request gets an HX-Redirect to the
    login page (back to the page it came from): htmx would otherwise follow a 302 and
    swap the whole login page into a fragment."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.htmx:
            current = urlsplit(request.htmx.current_url or "")
            same_site = not current.netloc or current.netloc == request.get_host()
            back = current.path if current.path and same_site else request.path
            login_url = resolve_url(settings.LOGIN_URL)
            return HttpResponseClientRedirect(f"{login_url}?{urlencode({'next': back})}")
        return redirect_to_login(request.get_full_path())

    return wrapper
