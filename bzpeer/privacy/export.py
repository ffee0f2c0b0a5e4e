"""Everything BZPEER holds about one account, as one JSON document (and a readable HTML
summary of it). Only rows that belong to the account: another person appears at most as
the public record an invitation or a follow points at, never with their account data."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.template.loader import render_to_string
from django.utils import timezone

from bzpeer.types import User
from claims.models import Claim, HideRequest, NotMeReport
from profiles.models import Follow, Invitation, Researcher


def _when(value) -> str | None:
    return value.isoformat() if value else None


def _record(researcher: Researcher | None) -> dict[str, Any] | None:
    if researcher is None:
        return None
    return {
        "id": researcher.pk,
        "name": researcher.display_name,
        "url": researcher.get_absolute_url(),
    }


def build_export(user: User) -> dict[str, Any]:
    owned = Researcher.objects.filter(owner=user).first()
    profile = None
    if owned is not None:
        profile = {
            **(_record(owned) or {}),
            "summary": owned.summary,
            "open_to_collaborate": owned.open_to_collaborate,
            "collaboration_kinds": owned.collaboration_kinds,
            "open_until": _when(owned.open_until),
            "followers_visibility": owned.followers_visibility,
            "in_suggestions": owned.in_suggestions,
            "open_visible_to_followers": owned.open_visible_to_followers,
            "accepts_invitations": owned.accepts_invitations,
            "hidden": owned.is_hidden,
            "summary_hidden": owned.summary_hidden,
            "affiliation_hidden": owned.affiliation_hidden,
        }
    invitation_rows = Invitation.objects.select_related("researcher")
    return {
        "generated_at": _when(timezone.now()),
        "account": {
            "username": user.get_username(),
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
        },
        "email_addresses": [
            {"email": e.email, "verified": e.verified, "primary": e.primary}
            for e in EmailAddress.objects.filter(user=user).order_by("email")
        ],
        "social_logins": [
            {"provider": s.provider, "uid": s.uid, "date_joined": _when(s.date_joined)}
            for s in SocialAccount.objects.filter(user=user).order_by("provider", "uid")
        ],
        "profile": profile,
        "claims": [
            {
                "record": _record(c.researcher),
                "method": c.method,
                "evidence": c.evidence,
                "evidence_links": c.evidence_links,
                "is_dispute": c.is_dispute,
                "status": c.status,
                "reason": c.reason,
                "created_at": _when(c.created_at),
                "decided_at": _when(c.decided_at),
            }
            for c in Claim.objects.filter(user=user).select_related("researcher")
        ],
        "follows": [
            {"record": _record(f.researcher), "since": _when(f.created_at)}
            for f in Follow.objects.filter(user=user).select_related("researcher")
        ],
        "invitations_sent": [
            {
                "to": _record(i.researcher),
                "subject": i.subject,
                "message": i.message,
                "status": i.status,
                "created_at": _when(i.created_at),
            }
            for i in invitation_rows.filter(sender=user)
        ],
        "invitations_received": [
            {
                "for_record": _record(i.researcher),
                "subject": i.subject,
                "message": i.message,
                "status": i.status,
                "created_at": _when(i.created_at),
            }
            for i in invitation_rows.filter(recipient=user)
        ],
        "not_me_reports": [
            {
                "record": _record(r.researcher),
                "work": r.work.title,
                "reason": r.reason,
                "status": r.status,
                "created_at": _when(r.created_at),
            }
            for r in NotMeReport.objects.filter(user=user).select_related("researcher", "work")
        ],
        "hide_requests": [
            {
                "record": _record(h.researcher),
                "scope": h.scope,
                "name": h.name,
                "email": h.email,
                "message": h.message,
                "status": h.status,
                "created_at": _when(h.created_at),
            }
            for h in HideRequest.objects.filter(user=user).select_related("researcher")
        ],
        # BZPEER sends only the emails each step needs (claim and invitation decisions);
        # there are no per-account notification switches to export beyond the address.
        "notification_settings": {"email": user.email, "switches": {}},
    }


def render_export_html(payload: dict[str, Any]) -> str:
    return render_to_string("privacy/export.html", {"data": payload})
