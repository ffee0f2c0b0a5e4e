"""Facts about a user's account (django-allauth) that several apps check, and the allauth
adapter: which IP a request comes from, and how failed sign-ins are counted."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from allauth.account.models import EmailAddress
from allauth.core.internal import ratelimit
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Q
from django.http import HttpRequest, HttpResponse

from bzpeer.http import client_ip
from bzpeer.pagecache.loading import load_record
from bzpeer.sessions import take_loaded_user
from bzpeer.types import AnyUser

# The limit on failed sign-ins into one account from every address together
# (ACCOUNT_RATE_LIMITS), and the cookie that marks a browser its owner signed in with.
ACCOUNT_LIMIT_ACTION = "login_failed_account"
KNOWN_DEVICE_COOKIE = "bzpeer_device"
KNOWN_DEVICE_SALT = "bzpeer.accounts.known-device"
KNOWN_DEVICE_MAX_AGE = 180 * 24 * 3600


def has_verified_email(user: AnyUser) -> bool:
    if not user.is_authenticated:
        return False
    return EmailAddress.objects.filter(user=user, verified=True).exists()


class AccountAdapter(DefaultAccountAdapter):
    """Failed sign-ins meet three limits (ACCOUNT_RATE_LIMITS):

    1. per IP, whatever the accounts ("login_failed", `ip` rate): stops one source that
       tries many accounts;
    2. per account *and* IP ("login_failed", `key` rate, the key naming both): stops one
       source that guesses one password. Counted per account alone, anybody could lock a
       person out by failing on purpose; per IP alone, one attacker behind a shared address
       (a campus NAT, a proxy) would lock out everybody behind it;
    3. per account from every IP together (ACCOUNT_LIMIT_ACTION): a higher, slower limit
       that bounds an attacker who rotates addresses. It is a sliding window that refused
       attempts do not extend, so it slows guessing down instead of locking for good: the
       owner waits until the window has passed. A browser the owner signed in with before
       (a signed cookie naming the account, KNOWN_DEVICE_COOKIE) skips this limit alone, so
       strangers failing on purpose never lock the owner out of their own browser; limits
       1 and 2 still hold for it. A password reset clears it (the mail proves the owner).

    All three live in the cache, kept in Postgres while Redis is down (bzpeer/cache.py)."""

    def get_client_ip(self, request: HttpRequest) -> str:
        # TRUSTED_PROXY_COUNT decides; allauth's own reading would raise (a 500) on an
        # X-Forwarded-For shorter than the proxy count.
        return client_ip(request)

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        return f"{self._account_key(request, **credentials)}@{client_ip(request)}"

    def _account_key(self, request: HttpRequest, **credentials: Any) -> str:
        return super()._get_login_attempts_cache_key(request, **credentials)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        super().pre_authenticate(request, **credentials)
        if self._is_known_device(request, credentials):
            return
        usage = ratelimit.consume(
            request,
            app="allauth.account",
            action=ACCOUNT_LIMIT_ACTION,
            key=self._account_key(request, **credentials),
        )
        if not usage:
            # Refused before the password is checked: not a failed attempt at the others.
            self._rollback_login_failed_rl_usage()
            raise self.validation_error("too_many_login_attempts")
        # A good password rolls this attempt back from every limit (allauth's own rule).
        self._login_failed_rl_usage.usage.extend(usage.usage)

    def _delete_login_attempts_cached_email(self, request: HttpRequest, **credentials: Any) -> None:
        super()._delete_login_attempts_cached_email(request, **credentials)
        ratelimit.clear(
            request,
            app="allauth.account",
            action=ACCOUNT_LIMIT_ACTION,
            key=self._account_key(request, **credentials),
        )

    def _is_known_device(self, request: HttpRequest, credentials: dict[str, Any]) -> bool:
        """The request carries the cookie of a sign-in into the account being tried."""
        user_pk = request.get_signed_cookie(
            KNOWN_DEVICE_COOKIE, default=None, salt=KNOWN_DEVICE_SALT, max_age=KNOWN_DEVICE_MAX_AGE
        )
        login = str(credentials.get("email") or credentials.get("username") or "")
        if not user_pk or not login:
            return False
        return (
            get_user_model()
            .objects.filter(pk=user_pk)
            .filter(Q(email__iexact=login) | Q(emailaddress__email__iexact=login))
            .exists()
        )

    def post_login(
        self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any
    ) -> HttpResponse:
        response = super().post_login(request, user, **kwargs)
        response.set_signed_cookie(
            KNOWN_DEVICE_COOKIE,
            str(user.pk),
            salt=KNOWN_DEVICE_SALT,
            max_age=KNOWN_DEVICE_MAX_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        return response


class _PreparedUserLoad:
    """The signed-in user of every request: read with the session when the session engine
    (bzpeer.sessions) did, else with a prepared statement (through the ORM, compiling
    `User.objects.get(pk=...)` cost more than running it). Otherwise the backend's own
    rules (an inactive user is nobody)."""

    def get_user(self, user_id: Any) -> Any:
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        loaded, user = take_loaded_user(pk)
        if not loaded:
            user = load_record(get_user_model(), pk)
        return user if user is not None and self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class ModelBackend(_PreparedUserLoad, DjangoModelBackend):
    """Staff sign in to the admin with a username (Django's ModelBackend)."""


class AuthenticationBackend(_PreparedUserLoad, AllauthBackend):
    """Everyone else signs in with an email (allauth's backend)."""
