"""Which researcher record a view acts on: every view that takes a researcher pk goes
through here, so a merged record is followed to its survivor the same way everywhere."""

from __future__ import annotations

from bzpeer.access import require_owner
from bzpeer.types import AnyUser
from profiles import queries
from profiles.models import Researcher


def get_researcher_or_404(pk: int | str) -> Researcher:
    """The record behind the URL, or the survivor it was merged into; 404 when none.
    One query unless the record is merged through a chain (queries.follow_merge_chain).
    A view whose URL should be canonical compares the result's pk with its own."""
    return queries.follow_merge_chain(queries.get_researcher(pk))


def get_owned_researcher(user: AnyUser, pk: int | str) -> Researcher:
    """As get_researcher_or_404, then 403 unless `user` owns the record."""
    researcher = get_researcher_or_404(pk)
    require_owner(researcher.owner_id, user, "Only the record's owner can do this.")
    return researcher
