"""Facts about a user's account (django-allauth) that several apps check, and the allauth
adapter: which IP a request comes from, and how failed sign-ins are counted."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from django.http import HttpRequest

from bzpeer.http import client_ip
from bzpeer.types import AnyUser


def has_verified_email(user: AnyUser) -> bool:
    if not user.is_authenticated:
        return False
    return EmailAddress.objects.filter(user=user, verified=True).exists()


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        # TRUSTED_PROXY_COUNT decides; allauth's own reading would raise (a 500) on an
        # X-Forwarded-For shorter than the proxy count.
        return client_ip(request)

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """Failed sign-ins are counted per account *and* IP (ACCOUNT_RATE_LIMITS
        "login_failed", the `key` rate), beside a separate, higher count per IP.

        Counted per account alone, anybody could lock a person out of their account by
        failing on purpose; per IP alone, one attacker behind a shared address (a campus
        NAT, a proxy) would lock out everybody behind it."""
        account = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{account}@{client_ip(request)}"
