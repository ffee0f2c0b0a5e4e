"""Facts about a user's account (django-allauth) that several apps check."""

from __future__ import annotations

from allauth.account.models import EmailAddress

from bzpeer.types import AnyUser


def has_verified_email(user: AnyUser) -> bool:
    if not user.is_authenticated:
        return False
    return EmailAddress.objects.filter(user=user, verified=True).exists()
