"""Which client IP the rate limits see, and when X-Forwarded-* headers are believed."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from bzpeer.http import client_ip
from tests.test_settings import settings_of


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "", "10.0.0.2"),
        (0, "203.0.113.9", "10.0.0.2"),  # no proxy: the header is the client's own words
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # a spoofed entry left of the proxy's
        (2, "1.2.3.4, 203.0.113.9, 10.0.0.7", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.2"),  # shorter than the proxy chain: not through it
        (1, "not-an-ip", "10.0.0.2"),
    ],
)
def test_the_client_ip_depends_on_the_trusted_proxy_count(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", headers=headers)
    assert client_ip(request) == expected


def test_the_https_header_is_believed_only_behind_a_trusted_proxy():
    base = {"DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "bzpeer.example.org"}
    direct = settings_of(["SECURE_PROXY_SSL_HEADER"], base)
    proxied = settings_of(["SECURE_PROXY_SSL_HEADER"], {**base, "TRUSTED_PROXY_COUNT": "1"})
    assert direct["SECURE_PROXY_SSL_HEADER"] is None
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
