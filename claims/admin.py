"""Admin for claims and "not me" reports: the curators' review queues.

Curators decide through `bzpeer.curation.services` (approve/reject, accept/reject), never by
editing a status: a decision also moves ownership, sets the verification level, rebuilds
counts, emails the claimant and queues trust. So both admins are read-only, and the
decisions are actions with a page that asks for the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Model, QuerySet, Value, When
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from bzpeer.admin_toolkit import BaseAdmin, confirm_action, pretty_json, related_object_filter
from bzpeer.curation import services as curation

from . import queries
from .models import Claim, HideRequest, NotMeReport
from .services import DECIDE_PERMISSION, ClaimError

STALE_PAGE_MESSAGE = "This page is out of date: select the claims again and decide on a new page."


class DecisionForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), required=False)
    # What the page showed (claims.queries.review_tokens as JSON {claim id: token}): the
    # decision is refused for a claim whose record changed since.
    seen = forms.JSONField(
        widget=forms.HiddenInput, required=False, error_messages={"invalid": STALE_PAGE_MESSAGE}
    )

    def __init__(
        self, *args: Any, reason_required: bool, tokens: dict[int, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required
        self.fields["reason"].help_text = (
            "Required: the person who filed it reads it."
            if reason_required
            else "Optional: the person who filed it reads it."
        )
        self.needs_tokens = tokens is not None
        if tokens is None:
            del self.fields["seen"]
        else:
            self.fields["seen"].initial = {str(pk): token for pk, token in tokens.items()}

    def clean_seen(self) -> dict[str, str]:
        seen = self.cleaned_data.get("seen")
        if not isinstance(seen, dict) or not all(isinstance(v, str) for v in seen.values()):
            raise forms.ValidationError(STALE_PAGE_MESSAGE)
        return seen

    def token_for(self, obj: Model) -> str | None:
        """The token the page showed for this row; "" (never a valid token) when it showed
        none, so a row added to the selection afterwards is refused too."""
        if not self.needs_tokens:
            return None
        return self.cleaned_data["seen"].get(str(obj.pk), "")


class EmailAuditFilter(admin.SimpleListFilter):
    """Every institutional-email claim of the last days, whatever its status: the ones
    approved at once are checked after the fact."""

    title = "institutional-email audit"
    parameter_name = "email_audit"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("30d", f"Email-domain claims, last {queries.EMAIL_AUDIT_DAYS} days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "30d":
            return queryset.filter(pk__in=queries.email_domain_claims_to_audit().values("pk"))
        return queryset


class ReviewQueueAdmin(BaseAdmin):
    """Pending rows first, then the oldest first: what a curator should decide next."""

    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The rank is an annotation, so it is added before ordering: ModelAdmin.get_queryset
        # orders first, and ModelAdmin.ordering may not name an annotation.
        queryset = self.model._default_manager.annotate(
            review_rank=Case(
                When(status=self.model.Status.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        return queryset.order_by(*self.get_ordering(request))

    def get_ordering(self, request: HttpRequest) -> tuple:
        return ("review_rank", "created_at")

    # Rows are filed by users through the site's flows and decided through actions: the
    # change page is a read-only view, while the changelist keeps "change" for the actions.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return obj is None and super().has_change_permission(request)

    def has_decide_permission(self, request: HttpRequest) -> bool:
        # Curators (and superusers) decide; other staff may at most read the queue.
        return request.user.has_perm(DECIDE_PERMISSION)

    def decide(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        *,
        verb: str,
        done_verb: str,
        effect: str,
        decide: Callable[..., Any],
        reason_required: bool,
        columns: list[tuple[str, Callable[[Any], Any]]] | None = None,
        tokens: Callable[[list], dict[int, str]] | None = None,
    ) -> TemplateResponse | None:
        """1. First POST (from the changelist): a page listing the rows and asking why;
           with `tokens`, it also carries what it showed of each row (a review token).
        2. Second POST (`apply`): call the service once per row (with the row's token when
           there are tokens); each refusal (not pending any more, a record that changed
           since the page, a curator deciding their own claim...) is reported, the rest
           goes on."""
        rows = list(queryset)
        shown = tokens(rows) if tokens is not None else None

        def apply(form: forms.Form) -> None:
            assert isinstance(form, DecisionForm)
            done, refused = 0, []
            for obj in rows:
                try:
                    if form.needs_tokens:
                        decide(obj, request.user, form.cleaned_data["reason"], form.token_for(obj))
                    else:
                        decide(obj, request.user, form.cleaned_data["reason"])
                except (ClaimError, PermissionDenied) as exc:
                    refused.append(f"{obj}: {exc}")
                else:
                    done += 1
            if done:
                noun = model_ngettext(self.model._meta, done)
                self.message_user(request, f"{done_verb} {done} {noun}. {effect}", messages.SUCCESS)
            for line in refused:
                self.message_user(request, f"Not {done_verb.lower()}: {line}", messages.ERROR)

        # Before: what will happen, in the imperative; after: what happened, in the past.
        noun = model_ngettext(self.model._meta, len(rows))
        return confirm_action(
            self,
            request,
            rows,
            title=f"{verb} {len(rows)} {noun}?",
            intro=f"Nothing has changed yet. {effect}",
            submit=f"{verb} {len(rows)} {noun}",
            columns=columns
            or [
                ("Researcher", lambda row: row.researcher),
                ("Filed by", lambda row: row.user or getattr(row, "name", "")),
                ("Status", lambda row: row.get_status_display()),
            ],
            form_class=lambda data: DecisionForm(
                data, reason_required=reason_required, tokens=shown
            ),
            apply=apply,
        )


@admin.register(Claim)
class ClaimAdmin(ReviewQueueAdmin):
    list_display = (
        "researcher",
        "user",
        "method",
        "status",
        "is_dispute",
        "created_at",
        "reviewer",
        "decided_at",
        "evidence_excerpt",
    )
    list_select_related = ("researcher", "user", "reviewer")
    change_list_template = "admin/claims/claim/change_list.html"
    list_filter = (
        "status",
        "method",
        "is_dispute",
        EmailAuditFilter,
        related_object_filter("researcher"),
    )
    search_fields = ("researcher__display_name", "=user__username", "=user__email")
    search_help_text = "Researcher name, or the claimant's exact username or email."
    autocomplete_fields = ("user", "researcher", "reviewer")
    readonly_fields = ("evidence_links_pretty", "record_summary", "other_claims")
    fieldsets = (
        (None, {"fields": ("researcher", "user", "method", "is_dispute", "created_at")}),
        ("Evidence", {"fields": ("evidence", "evidence_links_pretty")}),
        # The claimed record and whoever else claims or owns it, beside the evidence.
        ("The record and any dispute", {"fields": ("record_summary", "other_claims")}),
        ("Decision", {"fields": ("status", "reviewer", "decided_at", "reason")}),
    )
    actions = ("approve", "reject", "transfer")

    @admin.display(description="evidence links")
    def evidence_links_pretty(self, obj: Claim) -> str:
        return pretty_json(obj.evidence_links)

    @admin.display(description="evidence")
    def evidence_excerpt(self, obj: Claim) -> str:
        text = " ".join(obj.evidence.split())
        return text if len(text) <= 80 else text[:79] + "…"

    @admin.display(description="claimed record")
    def record_summary(self, obj: Claim) -> str:
        record = obj.researcher
        return format_html(
            '<a href="{}">{}</a> (<a href="{}">public profile</a>)<br>'
            "Source: {} &middot; ORCID: {} &middot; institution: {}<br>"
            "Owner: {} &middot; {} &middot; {} works &middot; alternative names: {}",
            reverse("admin:profiles_researcher_change", args=[record.pk]),
            record.display_name,
            record.get_absolute_url(),
            record.source_id,
            record.orcid or "-",
            record.last_known_institution or "-",
            record.owner or "unclaimed",
            record.get_verification_level_display(),
            record.works_count,
            "; ".join(record.alternative_names) or "-",
        )

    @admin.display(description="other claims on this record")
    def other_claims(self, obj: Claim) -> str:
        others = (
            Claim.objects.filter(researcher_id=obj.researcher_id)
            .exclude(pk=obj.pk)
            .select_related("user")
            .order_by("-created_at")[:20]
        )
        rows = [
            (
                reverse("admin:claims_claim_change", args=[c.pk]),
                c.user,
                c.get_method_display(),
                c.get_status_display(),
                c.created_at.date(),
                " ".join(c.evidence.split())[:200],
            )
            for c in others
        ]
        if not rows:
            return "None: no one else claims or owns this record."
        return format_html(
            '<ul class="bz-plain-list">{}</ul>',
            format_html_join(
                "", '<li><a href="{}">{}</a> &middot; {} &middot; {} &middot; {}<br>{}</li>', rows
            ),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return queryset.select_related("researcher__last_known_institution", "researcher__owner")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        # "Not me" reports wait in their own queue; the claims queue says how many.
        pending = NotMeReport.objects.filter(status=NotMeReport.Status.PENDING).count()
        extra_context = {
            **(extra_context or {}),
            "pending_not_me": pending,
            "email_audit_count": queries.email_domain_claims_to_audit().count(),
            "email_audit_days": queries.EMAIL_AUDIT_DAYS,
        }
        return super().changelist_view(request, extra_context=extra_context)

    def decision_columns(self) -> list[tuple[str, Callable[[Any], Any]]]:
        """What an approval or a transfer depends on, as the review token records it."""
        return [
            ("Researcher", lambda row: row.researcher),
            ("Filed by", lambda row: row.user),
            ("Method", lambda row: row.get_method_display()),
            ("Status", lambda row: row.get_status_display()),
            ("Record owner", lambda row: row.researcher.owner or "unclaimed"),
            ("Other open claims on the record", self.open_claims_cell),
        ]

    @staticmethod
    def open_claims_cell(row: Claim) -> str:
        others = (
            Claim.objects.filter(
                researcher_id=row.researcher_id,
                status__in=[Claim.Status.PENDING, Claim.Status.APPROVED],
            )
            .exclude(pk=row.pk)
            .select_related("user")
            .order_by("pk")
        )
        return "; ".join(f"{c.user} ({c.get_status_display().lower()})" for c in others) or "none"

    @admin.action(description="Approve selected claims", permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return self.decide(
            request,
            queryset,
            verb="Approve",
            done_verb="Approved",
            effect="Each claimant becomes the owner of the record and is told by email.",
            decide=lambda c, user, why, seen: curation.approve_claim(
                claim=c, curator=user, reason=why, seen=seen
            ),
            reason_required=False,
            columns=self.decision_columns(),
            tokens=lambda rows: queries.review_tokens([row.pk for row in rows]),
        )

    @admin.action(
        description="Transfer the record to the disputing claimant (from its owner)",
        permissions=["decide"],
    )
    def transfer(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return self.decide(
            request,
            queryset,
            verb="Transfer",
            done_verb="Transferred",
            effect=(
                "Each record moves from its owner to the disputing claimant; both are told by "
                "email, with the reason."
            ),
            decide=lambda c, user, why, seen: curation.transfer_record(
                claim=c, curator=user, reason=why, seen=seen
            ),
            reason_required=True,
            columns=self.decision_columns(),
            tokens=lambda rows: queries.review_tokens([row.pk for row in rows]),
        )

    @admin.action(description="Reject selected claims", permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return self.decide(
            request,
            queryset,
            verb="Reject",
            done_verb="Rejected",
            effect="The record stays as it is; each claimant is told by email, with the reason.",
            decide=lambda c, user, why: curation.reject_claim(claim=c, curator=user, reason=why),
            reason_required=True,
        )


@admin.register(NotMeReport)
class NotMeReportAdmin(ReviewQueueAdmin):
    list_display = ("researcher", "work", "user", "status", "created_at", "reviewer", "decided_at")
    list_select_related = ("researcher", "work", "user", "reviewer")
    list_filter = ("status", related_object_filter("researcher"))
    search_fields = ("researcher__display_name", "=user__username")
    search_help_text = "Researcher name, or the reporter's exact username."
    autocomplete_fields = ("researcher", "work", "user", "reviewer")
    actions = ("accept", "reject")

    @admin.action(
        description="Accept selected reports (remove the authorship)", permissions=["decide"]
    )
    def accept(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return self.decide(
            request,
            queryset,
            verb="Accept",
            done_verb="Accepted",
            effect="Each work leaves the researcher's record; counts and trust are recomputed.",
            decide=lambda r, user, why: curation.accept_not_me(report=r, curator=user, reason=why),
            reason_required=False,
        )

    @admin.action(
        description="Reject selected reports (keep the authorship)", permissions=["decide"]
    )
    def reject(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return self.decide(
            request,
            queryset,
            verb="Reject",
            done_verb="Rejected",
            effect="Each work stays on the researcher's record; the owner can read the reason.",
            decide=lambda r, user, why: curation.reject_not_me(report=r, curator=user, reason=why),
            reason_required=True,
        )


@admin.register(HideRequest)
class HideRequestAdmin(ReviewQueueAdmin):
    """Requests to hide a record or a part of it, or to correct it, decided with the claims'
    review rules (bzpeer.curation.services.approve_hide_request)."""

    list_display = (
        "researcher",
        "scope",
        "proof",
        "status",
        "created_at",
        "reviewer",
        "decided_at",
    )
    list_select_related = ("researcher", "reviewer")
    list_filter = ("status", "scope", "proof", related_object_filter("researcher"))
    search_fields = ("researcher__display_name", "=email")
    search_help_text = "Researcher name, or the requester's exact email."
    autocomplete_fields = ("researcher", "user", "reviewer")
    fieldsets = (
        (None, {"fields": ("researcher", "scope", "created_at")}),
        ("Requester", {"fields": ("name", "email", "user", "proof", "proof_detail", "message")}),
        ("Decision", {"fields": ("status", "reviewer", "decided_at", "reason")}),
    )
    actions = ("approve", "reject")

    @admin.action(description="Approve selected requests (apply them)", permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return self.decide(
            request,
            queryset,
            verb="Approve",
            done_verb="Approved",
            effect=(
                "What each request asks is applied: a hidden profile answers 410 Gone and leaves "
                "every list, a hidden summary or affiliation is no longer shown (a correction "
                "is recorded as made). The requester is emailed."
            ),
            decide=lambda r, user, why: curation.approve_hide_request(
                request=r, curator=user, reason=why
            ),
            reason_required=False,
        )

    @admin.action(description="Reject selected requests", permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return self.decide(
            request,
            queryset,
            verb="Reject",
            done_verb="Rejected",
            effect="The record stays as it is; the requester is emailed the reason.",
            decide=lambda r, user, why: curation.reject_hide_request(
                request=r, curator=user, reason=why
            ),
            reason_required=True,
        )
