"""The account holder's data: export it, delete the account; and the retention sweep.

1. An export is a row queued by the account page and built by the worker (build_export),
   then mailed as a signed link that expires (PRIVACY_EXPORT_LINK_DAYS); the download
   checks the signature, the account and the expiry.
2. Deleting an account releases its record (the claim rules, audited: the record returns
   to unclaimed), withdraws its pending invitations, deletes its follows (the records are
   recounted), sessions, social logins, email addresses, exports and pending reports, and
   strips its name and email from what stays: decided "not me" reports and hide requests
   keep their decision without the person, and the audit trail keeps the fact of each
   decision (ids, statuses) but no reason text that could quote an address.
3. The retention sweep deletes expired exports, the evidence of rejected claims, and the
   personal data of hide requests decided long ago (PRIVACY_* settings, the privacy page).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from bzpeer.audit.context import curation_context
from bzpeer.curation.derived import queue_recompute, refresh_researcher_counts
from bzpeer.privacy.export import build_export, render_export_html
from bzpeer.privacy.models import DataExport
from bzpeer.types import User
from claims import services as claim_rules
from claims.models import Claim, HideRequest, NotMeReport
from profiles.models import Follow, Invitation, Researcher

logger = logging.getLogger(__name__)

EXPORT_SALT = "bzpeer.privacy.export"


class PrivacyError(Exception):
    """Refused; the message is written for the account holder."""


# --- export ------------------------------------------------------------------------------


def request_export(*, user: User) -> DataExport:
    """Queue an export; the worker builds it after the commit."""
    from bzpeer.privacy.tasks import build_data_export

    with transaction.atomic():
        export = DataExport.objects.create(user=user)

        def enqueue() -> None:
            try:
                build_data_export.delay(export.pk)
            except Exception:  # the broker is down: the account page offers a retry
                logger.warning("Could not queue data export %s", export.pk)

        transaction.on_commit(enqueue)
    return export


def build_data_export(*, export_id: int) -> DataExport | None:
    """What the worker runs. Idempotent: a ready export is left as it is."""
    with transaction.atomic():
        export = (
            DataExport.objects.select_for_update().select_related("user").filter(pk=export_id)
        ).first()
        if export is None or export.status == DataExport.Status.READY:
            return export
        payload = build_export(export.user)
        now = timezone.now()
        export.payload = payload
        export.html = render_export_html(payload)
        export.status = DataExport.Status.READY
        export.ready_at = now
        export.expires_at = now + timedelta(days=settings.PRIVACY_EXPORT_LINK_DAYS)
        export.save(update_fields=["payload", "html", "status", "ready_at", "expires_at"])
        _mail_export_link(export)
    return export


def export_token(export: DataExport) -> str:
    return signing.dumps({"export": export.pk, "user": export.user_id}, salt=EXPORT_SALT)


def export_for_token(*, token: str, user: User) -> DataExport:
    """The export a link names, for the account it belongs to; PermissionDenied when the
    signature is wrong or too old, the account differs, or the export is gone."""
    max_age = timedelta(days=settings.PRIVACY_EXPORT_LINK_DAYS)
    try:
        data = signing.loads(token, salt=EXPORT_SALT, max_age=max_age)
    except signing.BadSignature as exc:  # SignatureExpired is a BadSignature
        raise PermissionDenied("This download link is invalid or has expired.") from exc
    if data.get("user") != user.pk:
        raise PermissionDenied("This download link belongs to another account.")
    export = DataExport.objects.filter(
        pk=data.get("export"), user=user, status=DataExport.Status.READY
    ).first()
    if export is None or (export.expires_at and export.expires_at <= timezone.now()):
        raise PermissionDenied("This download link is invalid or has expired.")
    return export


def _mail_export_link(export: DataExport) -> None:
    user = export.user
    if not user.email:
        return
    token = export_token(export)
    context = {
        "export": export,
        "json_url": settings.SITE_URL + reverse("account_export_download", args=[token, "json"]),
        "html_url": settings.SITE_URL + reverse("account_export_download", args=[token, "html"]),
    }
    body = render_to_string("privacy/email/export_ready.txt", context)
    address = user.email

    def send() -> None:
        try:
            send_mail(
                "[BZPEER] Your data export is ready", body, settings.DEFAULT_FROM_EMAIL, [address]
            )
        except Exception:
            logger.exception("Could not email data export %s", export.pk)

    transaction.on_commit(send)


# --- deletion ------------------------------------------------------------------------------


def delete_account(*, user: User, confirm: str) -> None:
    """Delete the account (see the module's docstring, point 2). `confirm` must repeat the
    username: the confirmation step."""
    if confirm.strip() != user.get_username():
        raise PrivacyError("Type your username exactly to confirm.")
    with transaction.atomic():
        erase_account(user=user)
        user.delete()


def erase_account(*, user: User) -> None:
    """Everything but the user row itself (point 2 above), in the caller's transaction:
    the self-service deletion and a curator's deletion in the admin both end with it."""
    user_id = user.pk
    with transaction.atomic():
        owned = Researcher.objects.filter(owner=user).first()
        if owned is not None:
            with curation_context(
                action="release",
                curator=None,
                researcher_ids=[owned.pk],
                note="The owner closed their account; the record is unclaimed again.",
            ):
                claim_rules.release_record(user=user, researcher=owned)
        followed = list(Follow.objects.filter(user=user).values_list("researcher_id", flat=True))
        Follow.objects.filter(user=user).delete()
        # Pending invitations are withdrawn (deleted with their message); answered ones
        # go with the account too: their message and the shared address were personal.
        Invitation.objects.filter(sender=user).delete()
        Invitation.objects.filter(recipient=user).delete()
        # Claims: a decision on a record stays in the audit trail (ids and statuses), not
        # the evidence nor a reason that may quote an address.
        _strip_audit_reasons(user_id)
        Claim.objects.filter(user=user).delete()
        NotMeReport.objects.filter(user=user, status=NotMeReport.Status.PENDING).delete()
        NotMeReport.objects.filter(user=user).update(user=None, reason="")
        HideRequest.objects.filter(user=user).update(user=None, name="", email="", message="")
        SocialAccount.objects.filter(user=user).delete()  # and their tokens (cascade)
        EmailAddress.objects.filter(user=user).delete()
        DataExport.objects.filter(user=user).delete()
        _delete_sessions(user_id)
        if followed:
            refresh_researcher_counts(researcher_ids=followed)
        if owned is not None:
            queue_recompute(researcher_ids=[owned.pk])


def _strip_audit_reasons(user_id: int) -> None:
    claim_event = apps.get_model("audit", "ClaimEvent")
    claim_event.objects.filter(user_id=user_id).update(reason="")


def _delete_sessions(user_id: int) -> None:
    """Sessions name their user in a column (bzpeer/sessions.py); one saved before that
    column existed is a signed blob only, read to find the account's."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_session WHERE user_id = %s", [user_id])
    unnamed = Session.objects.raw(
        "SELECT session_key, session_data, expire_date FROM django_session"
        " WHERE user_id IS NULL AND expire_date > %s",
        [timezone.now()],
    )
    key = str(user_id)
    doomed = [s.session_key for s in unnamed if s.get_decoded().get("_auth_user_id") == key]
    Session.objects.filter(session_key__in=doomed).delete()


# --- retention -----------------------------------------------------------------------------


def apply_retention(*, now=None) -> dict[str, int]:
    """Delete what the privacy page says we keep no longer. Runs twice with the same result."""
    now = now or timezone.now()
    evidence_cutoff = now - timedelta(days=settings.PRIVACY_REJECTED_EVIDENCE_DAYS)
    request_cutoff = now - timedelta(days=settings.PRIVACY_REQUEST_DATA_DAYS)
    with transaction.atomic():
        exports, _ = DataExport.objects.filter(expires_at__lte=now).delete()
        stale_exports, _ = DataExport.objects.filter(
            status=DataExport.Status.QUEUED,
            created_at__lte=now - timedelta(days=settings.PRIVACY_EXPORT_LINK_DAYS),
        ).delete()
        evidence = (
            Claim.objects.filter(status=Claim.Status.REJECTED, decided_at__lte=evidence_cutoff)
            .exclude(evidence="", evidence_links=[])
            .update(evidence="", evidence_links=[])
        )
        requests = (
            HideRequest.objects.filter(decided_at__lte=request_cutoff)
            .exclude(name="", email="", message="")
            .update(name="", email="", message="")
        )
    return {
        "exports": exports + stale_exports,
        "rejected_evidence": evidence,
        "request_data": requests,
    }
