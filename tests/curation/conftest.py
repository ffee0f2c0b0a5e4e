from __future__ import annotations

import pytest

from tests.claims.helpers import curators_group


@pytest.fixture
def curator(django_user_model):
    """Staff in the Curators group (made by the audit app's migration), not a superuser."""
    user = django_user_model.objects.create_user(
        username="ellen.ripley",
        email="ellen.ripley@example.org",
        password="pw-curator-123",
        is_staff=True,
    )
    user.groups.add(curators_group())
    return user


@pytest.fixture
def staff(django_user_model):
    """Staff outside the Curators group, with no permissions of its own."""
    return django_user_model.objects.create_user(
        username="staff", email="staff@example.org", password="pw-staff-123", is_staff=True
    )


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client
