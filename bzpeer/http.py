"""The client's IP address, as far as this deployment can trust it."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = N reverse proxies in front of the app, the
    address the outermost of them saw: the N-th entry of X-Forwarded-For from the right.

    Entries further left are written by the client and prove nothing. A header shorter
    than N (a request that did not come through every proxy) or a malformed entry falls
    back to REMOTE_ADDR."""
    remote = request.META.get("REMOTE_ADDR", "") or "0.0.0.0"
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part for part in request.headers.get("X-Forwarded-For", "").split(",") if part]
    if len(forwarded) < count:
        return remote
    return _valid(forwarded[-count]) or remote
