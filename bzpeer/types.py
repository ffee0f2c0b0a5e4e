"""Types for annotations shared by the apps."""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as _User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

# The account model: settings keep Django's default AUTH_USER_MODEL.
User: TypeAlias = _User
# What `request.user` holds: a signed-in account or the anonymous user.
AnyUser: TypeAlias = _User | AnonymousUser


class HtmxHttpRequest(HttpRequest):
    """A request after django-htmx's middleware, which sets `request.htmx`."""

    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    """The request a `login_required` view receives: `request.user` is an account."""

    user: User
