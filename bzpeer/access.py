"""Object access for views: 404 when the user may not see an object, 403 when they may see
it but not change it. The apps' own access modules (profiles/access.py) build on this."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from bzpeer.types import AnyUser


def require_owner(owner_id: int | None, user: AnyUser, message: str) -> None:
    """403 unless `user` is the account `owner_id` names (nobody owns an unowned object)."""
    if owner_id is None or not user.is_authenticated or owner_id != user.pk:
        raise PermissionDenied(message)
