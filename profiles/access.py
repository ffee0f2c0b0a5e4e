"""Which researcher record a view acts on: every view that takes a researcher pk goes
through here, so a merged record is followed to its survivor, and a hidden one answers
410 Gone, the same way everywhere."""

from __future__ import annotations

from bzpeer.access import require_owner
from bzpeer.types import AnyUser
from profiles import queries
from profiles.models import Researcher


class RecordGone(Exception):
    """The record is hidden: profiles.middleware answers 410 Gone with a neutral page."""

    def __init__(self, researcher: Researcher) -> None:
        super().__init__(researcher.pk)
        self.researcher = researcher


def require_visible(researcher: Researcher) -> Researcher:
    if researcher.hidden_at is not None:
        raise RecordGone(researcher)
    return researcher


def get_researcher_or_404(pk: int | str) -> Researcher:
    """The record behind the URL, or the survivor it was merged into; 404 when none, 410
    when hidden. One query unless the record is merged through a chain
    (queries.follow_merge_chain). A view whose URL should be canonical compares the
    result's pk with its own."""
    return require_visible(queries.follow_merge_chain(queries.get_researcher(pk)))


def get_owned_researcher(user: AnyUser, pk: int | str) -> Researcher:
    """The record the user owns (hidden or not: its owner may show it again); 404 when
    none, 403 unless `user` owns it."""
    researcher = queries.follow_merge_chain(queries.get_researcher(pk))
    require_owner(researcher.owner_id, user, "Only the record's owner can do this.")
    return researcher
