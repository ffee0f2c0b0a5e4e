"""Writes on researchers: follows and the owner's own fields. Each one a transaction.

Counts and trust are derived data, refreshed above the apps (bzpeer.curation.derived)."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from bzpeer.types import User
from profiles.models import Follow, Researcher

logger = logging.getLogger(__name__)


# --- follows -------------------------------------------------------------------------


def follow_researcher(*, user: User, researcher: Researcher) -> bool:
    """Follow; returns True when a new follow was made. Safe under concurrent requests:
    the unique pair makes the second insert a no-op, and the count moves only with a row."""
    try:
        with transaction.atomic():
            Follow.objects.create(user=user, researcher=researcher)
            Researcher.objects.filter(pk=researcher.pk).update(
                followers_count=F("followers_count") + 1
            )
    except IntegrityError:
        return False
    return True


def unfollow_researcher(*, user: User, researcher: Researcher) -> bool:
    with transaction.atomic():
        deleted, _ = Follow.objects.filter(user=user, researcher=researcher).delete()
        if deleted:
            Researcher.objects.filter(pk=researcher.pk, followers_count__gt=0).update(
                followers_count=F("followers_count") - 1
            )
    return bool(deleted)


# --- owner tools (the record's owner edits their own profile) ----------------------------

SUMMARY_MAX_LENGTH = 1000


def update_summary(*, user: User, researcher: Researcher, summary: str) -> Researcher:
    """The owner's one-paragraph bio: plain text (escaped on every page), at most
    SUMMARY_MAX_LENGTH characters. Completeness counts in trust: bzpeer.curation.owners
    queues its recomputation."""
    from django.core.exceptions import PermissionDenied, ValidationError

    summary = " ".join(summary.split())  # one line: no layout smuggled in with newlines
    if len(summary) > SUMMARY_MAX_LENGTH:
        raise ValidationError(f"Keep the summary under {SUMMARY_MAX_LENGTH} characters.")
    with transaction.atomic():
        record = Researcher.objects.select_for_update(of=("self",)).get(pk=researcher.pk)
        if record.owner_id != user.pk:
            raise PermissionDenied("Only the owner edits a profile.")
        record.summary = summary
        record.save(update_fields=["summary", "updated_at"])
    return record


def set_collaboration(
    *, user: User, researcher: Researcher, open_to_collaborate: bool, kinds: list[str], until=None
) -> Researcher:
    """Open to collaborate or not, on what (co-authoring, reviewing, data/code), until when."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from profiles.models import CollaborationKind

    unknown = set(kinds) - set(CollaborationKind.values)
    if unknown:
        raise ValidationError(f"Unknown kinds of collaboration: {', '.join(sorted(unknown))}")
    if until is not None and until < timezone.localdate():
        raise ValidationError("The end date is in the past.")
    with transaction.atomic():
        record = Researcher.objects.select_for_update(of=("self",)).get(pk=researcher.pk)
        if record.owner_id != user.pk:
            raise PermissionDenied("Only the owner edits a profile.")
        record.open_to_collaborate = open_to_collaborate
        record.collaboration_kinds = [k for k in CollaborationKind.values if k in kinds]
        record.open_until = until if open_to_collaborate else None
        record.save(
            update_fields=["open_to_collaborate", "collaboration_kinds", "open_until", "updated_at"]
        )
    return record


def set_visibility(
    *,
    user: User,
    researcher: Researcher,
    followers_visibility: str,
    in_suggestions: bool,
    open_visible_to_followers: bool,
    accepts_invitations: bool,
) -> Researcher:
    """The owner's visibility controls: who sees their follower list, whether they appear in
    other profiles' "never worked with" suggestions, whether followers see them in "open to
    collaborate", and whether invitations may reach them at all."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from profiles.models import FollowersVisibility

    if followers_visibility not in FollowersVisibility.values:
        raise ValidationError("Choose who sees your followers.")
    with transaction.atomic():
        record = Researcher.objects.select_for_update(of=("self",)).get(pk=researcher.pk)
        if record.owner_id != user.pk:
            raise PermissionDenied("Only the owner edits a profile.")
        record.followers_visibility = followers_visibility
        record.in_suggestions = in_suggestions
        record.open_visible_to_followers = open_visible_to_followers
        record.accepts_invitations = accepts_invitations
        record.save(
            update_fields=[
                "followers_visibility",
                "in_suggestions",
                "open_visible_to_followers",
                "accepts_invitations",
                "updated_at",
            ]
        )
    return record
