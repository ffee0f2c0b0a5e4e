from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from pghistory.middleware import HistoryMiddleware


class AuditMiddleware(HistoryMiddleware):
    """Every write request runs in an audit context: who (user id) and which URL. Admin
    requests are marked `curation`, so their events count as curators' corrections."""

    def get_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().get_context(request)
        if request.path.startswith(reverse("admin:index")):
            context["curation"] = "admin"
        return context
