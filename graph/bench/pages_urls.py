"""The site's URLs plus /bench/hello/: the floor every page is measured against (the same
gunicorn, settings and middleware, no database, no template)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from bzpeer.urls import urlpatterns as site_urlpatterns


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello", content_type="text/plain")


urlpatterns = [path("bench/hello/", hello), *site_urlpatterns]
