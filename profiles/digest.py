"""The weekly email digest of followed researchers' new works.

1. A follower opts in per followed researcher (Follow.email_digest). Their DigestState
   holds `since`: works first imported after it are new to them. Opting in for the first
   time starts the window then, so nobody is mailed the back catalogue.
2. The weekly run walks the followers with a digest due (none sent in the last 6 days),
   locks each one's state row (SKIP LOCKED: two runs never take the same follower),
   gathers the new listed works of every researcher they get a digest for, sends one
   email, and moves `since` to the run's start, all in one transaction: a failed send
   leaves the state as it was, and a second run in the same week finds nothing due.
3. Researchers without new works are left out; a follower with none gets no email.
4. Each email carries signed unsubscribe links (one researcher, or every digest) that
   work without signing in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from claims.listing import researcher_works
from profiles.models import DigestState, Follow, Researcher, visible_q
from works.models import Work

logger = logging.getLogger(__name__)

DIGEST_INTERVAL = timedelta(days=6)  # weekly, with slack for a late beat
WORKS_PER_RESEARCHER = 20
UNSUBSCRIBE_SALT = "profiles.digest.unsubscribe"


# --- opting in and out ------------------------------------------------------------------------


def set_digest(*, user, researcher: Researcher, enabled: bool) -> bool:
    """Turn the digest of one followed researcher on or off; False when not following."""
    with transaction.atomic():
        updated = Follow.objects.filter(user=user, researcher=researcher).update(
            email_digest=enabled
        )
        if updated and enabled:
            DigestState.objects.get_or_create(user=user, defaults={"since": timezone.now()})
    return bool(updated)


def unsubscribe_token(*, user_id: int, researcher_id: int | None) -> str:
    """A signed token for one researcher's digest (or all, with None): no sign-in needed."""
    return signing.dumps({"u": user_id, "r": researcher_id}, salt=UNSUBSCRIBE_SALT)


@dataclass(frozen=True)
class Unsubscribe:
    user_id: int
    researcher_id: int | None


def read_unsubscribe_token(token: str) -> Unsubscribe | None:
    """The token's content, or None when it was not signed by us (tampered, truncated)."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    researcher_id = data.get("r")
    return Unsubscribe(data["u"], researcher_id if isinstance(researcher_id, int) else None)


def unsubscribe(*, request: Unsubscribe) -> int:
    """Stop the digest (one researcher, or all); returns how many follows it changed."""
    follows = Follow.objects.filter(user_id=request.user_id, email_digest=True)
    if request.researcher_id is not None:
        follows = follows.filter(researcher_id=request.researcher_id)
    return follows.update(email_digest=False)


# --- the weekly run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestSection:
    researcher: Researcher
    works: list[Work]
    more: int
    unsubscribe_url: str


def _new_works(researcher: Researcher, since: datetime, until: datetime) -> list[Work]:
    return list(
        researcher_works(researcher)
        .filter(first_imported_at__gt=since, first_imported_at__lte=until)
        .select_related("venue")
        .order_by(F("publication_date").desc(nulls_last=True), "-first_imported_at", "-id")[
            : WORKS_PER_RESEARCHER + 1
        ]
    )


def _site(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _sections(user_id: int, since: datetime, until: datetime) -> list[DigestSection]:
    sections = []
    follows = (
        # A hidden record sends no digest (visible_q, the one rule for public records).
        Follow.objects.filter(visible_q("researcher__"), user_id=user_id, email_digest=True)
        .select_related("researcher")
        .order_by("researcher__display_name", "researcher_id")
    )
    for follow in follows:
        works = _new_works(follow.researcher, since, until)
        if not works:
            continue
        token = unsubscribe_token(user_id=user_id, researcher_id=follow.researcher_id)
        sections.append(
            DigestSection(
                researcher=follow.researcher,
                works=works[:WORKS_PER_RESEARCHER],
                more=max(len(works) - WORKS_PER_RESEARCHER, 0),
                unsubscribe_url=_site(reverse("digest_unsubscribe", args=[token])),
            )
        )
    return sections


def _send(user, sections: list[DigestSection]) -> None:
    all_url = _site(
        reverse("digest_unsubscribe", args=[unsubscribe_token(user_id=user.pk, researcher_id=None)])
    )
    context = {"sections": sections, "site_url": settings.SITE_URL, "unsubscribe_all": all_url}
    count = sum(len(section.works) + section.more for section in sections)
    subject = f"[BZPEER] {count} new work{'s' if count != 1 else ''} from researchers you follow"
    message = EmailMultiAlternatives(
        subject,
        render_to_string("profiles/email/digest.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
        # One-click unsubscribe (RFC 8058) for mail clients that offer it.
        headers={
            "List-Unsubscribe": f"<{all_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.send()


def due_user_ids(now: datetime) -> list[int]:
    return list(
        DigestState.objects.filter(user__follows__email_digest=True)
        .exclude(last_sent_at__gt=now - DIGEST_INTERVAL)
        .values_list("user_id", flat=True)
        .distinct()
        .order_by("user_id")
    )


def send_digest(*, user_id: int, now: datetime) -> bool:
    """Send one follower's digest if it is due and has new works; True when sent."""
    with transaction.atomic():
        state = (
            DigestState.objects.select_for_update(skip_locked=True)
            .filter(user_id=user_id)
            .exclude(last_sent_at__gt=now - DIGEST_INTERVAL)
            .first()
        )
        if state is None:
            return False  # another run holds it, or it was sent this week
        user = get_user_model().objects.get(pk=user_id)
        sections = _sections(user_id, state.since, now)
        if not sections or not user.email:
            return False
        _send(user, sections)
        state.since = now
        state.last_sent_at = now
        state.save(update_fields=["since", "last_sent_at"])
    return True


def send_weekly_digests(*, now: datetime | None = None) -> int:
    """The beat's weekly job: returns how many emails were sent."""
    now = now or timezone.now()
    sent = 0
    for user_id in due_user_ids(now):
        try:
            sent += send_digest(user_id=user_id, now=now)
        except Exception:  # one bad address must not stop everyone else's digest
            logger.exception("Digest for user %s failed; it stays due", user_id)
    return sent
