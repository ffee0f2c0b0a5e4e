"""Personas and switches shared by the identity tests (claims, owner tools, invitations)."""

from __future__ import annotations

import importlib

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import Group

from tests.factories import UserFactory


def curators_group() -> Group:
    """The Curators group as its migration makes it. A transactional test's flush deletes
    the rows migrations made, and test order is not guaranteed, so it is made again (the
    migration's own function, idempotent) rather than assumed."""
    from django.apps import apps

    migration = importlib.import_module("bzpeer.audit.migrations.0002_curators_group")
    migration.create_curators(apps, None)
    return Group.objects.get(name=migration.GROUP)


def make_user(email: str, *, verified: bool = True, staff: bool = False, password: str = ""):
    """A user who signed up with `email` (confirmed unless verified=False); `staff` makes
    them a curator: staff in the Curators group, the only staff who decide claims."""
    user = UserFactory(username=email.split("@")[0], email=email, is_staff=staff)
    if staff:
        user.groups.add(curators_group())
    if password:
        user.set_password(password)
        user.save()
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


def connect_orcid(user, orcid: str) -> SocialAccount:
    """What allauth stores after an authenticated ORCID sign-in (uid = the iD)."""
    return SocialAccount.objects.create(user=user, provider="orcid", uid=orcid, extra_data={})


@pytest.fixture
def queued_recomputes(monkeypatch) -> list[list[int]]:
    """Recomputations queued for the worker (the broker is not touched)."""
    from bzpeer.curation.tasks import recompute_researchers

    calls: list[list[int]] = []
    monkeypatch.setattr(recompute_researchers, "delay", lambda ids: calls.append(list(ids)))
    return calls


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (mail, queueing) as the request's transaction would."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run
