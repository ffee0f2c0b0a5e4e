"""The admin's "view on site" redirect (/admin/r/<type>/<id>/), without its 500s."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.http import Http404, HttpRequest, HttpResponse

from bzpeer.utils import parse_id


def _view_on_site(request: HttpRequest, content_type_id: str, object_id: str) -> HttpResponse:
    """Django's shortcut view, for content types whose model has a table.

    Some content types (django-pghistory's aggregate events) are models over a query,
    not a table: Django's view would run a lookup on a table that does not exist."""
    type_id = parse_id(content_type_id)
    content_type = ContentType.objects.filter(pk=type_id).first() if type_id else None
    model = content_type.model_class() if content_type else None
    concrete = model._meta.concrete_model if model is not None else None
    if concrete is None or not concrete._meta.managed:
        raise Http404("No such object.")
    return shortcut(request, content_type_id, object_id)


view_on_site = admin.site.admin_view(_view_on_site)
