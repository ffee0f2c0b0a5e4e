"""Admin for researchers, their topics, follows and invitations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F, Func, Model, Q, QuerySet, TextField, Value
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from bzpeer.admin_toolkit import (
    INLINE_CAP,
    BigTableAdmin,
    LinesArrayField,
    ReadOnlyAdminMixin,
    YesNoFilter,
    admin_changelist_url,
    confirm_action,
    has_at_most,
    is_autocomplete,
    pretty_json,
    related_object_filter,
    source_id_search,
)
from bzpeer.curation import services as curation
from bzpeer.identifiers import normalize_orcid, parse_orcid
from bzpeer.utils import counted
from claims.models import Claim
from graph.models import CoauthorEdge, GraphSlice
from works.models import Authorship

from .models import (
    CollaborationKind,
    DigestState,
    Follow,
    Invitation,
    Researcher,
    ResearcherInstitution,
    ResearcherSearch,
    ResearcherTopic,
    SearchWord,
)
from .services import follow_researcher, unfollow_researcher


class MergeForm(forms.Form):
    """The merge action's question: which of the selected records survives."""

    survivor = forms.TypedChoiceField(
        coerce=int,
        widget=forms.RadioSelect,
        label="Survivor",
        error_messages={"required": "Pick the record that survives."},
    )

    def __init__(self, *args: Any, records: list[Researcher], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        survivor = self.fields["survivor"]
        assert isinstance(survivor, forms.ChoiceField)
        survivor.choices = [(r.pk, f"{r.display_name} ({r.source_id})") for r in records]


class ReleaseForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Required: the former owner is emailed it.",
    )


class ArrayToString(Func):
    function = "array_to_string"
    output_field = TextField()


class ClaimedFilter(YesNoFilter):
    title = "claimed"
    parameter_name = "claimed"
    condition = Q(owner__isnull=False)


class HasOrcidFilter(YesNoFilter):
    title = "has ORCID"
    parameter_name = "has_orcid"
    condition = Q(orcid__isnull=False) & ~Q(orcid="")


class MergedFilter(YesNoFilter):
    title = "merged into another record"
    parameter_name = "merged"
    condition = Q(merged_into__isnull=False)


class ResearcherAuthorshipInline(admin.TabularInline):
    model = Authorship
    fields = ("work", "author_position", "order", "raw_author_name", "institutions")
    autocomplete_fields = ("work", "institutions")
    extra = 0
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Each row still costs one query per autocomplete widget (it loads its selected
        # option): the reason inlines stop at INLINE_CAP rows.
        queryset = super().get_queryset(request)
        return queryset.select_related("work").prefetch_related("institutions")


# Written by the metrics task and the importer, never by hand.
CITATION_FIELDS = (
    "citations_count",
    "works_with_citations",
    "h_index",
    "i10_index",
    "citations_by_year",
    "metrics_computed_at",
    "source_cited_by_count",
    "source_summary_stats",
    "source_counts_by_year",
    "imported_at",
)


class ChangeOrcidForm(forms.Form):
    # Longer than the stored iD (19 characters), so a pasted orcid.org URL gets cleaned.
    orcid = forms.CharField(
        max_length=64,
        required=False,
        label="New ORCID iD",
        help_text="0000-0000-0000-000X, or its orcid.org URL; empty removes the iD.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Required: the owner, if any, reads it.",
    )

    def clean_orcid(self) -> str | None:
        # Stored hyphenated and bare (the unique index and the importer compare that form);
        # a curator's typo fails the iD's checksum.
        raw = self.cleaned_data.get("orcid")
        if not raw:
            return None
        orcid = normalize_orcid(raw)
        if orcid is None:
            raise forms.ValidationError(
                "Not an ORCID iD: expected 0000-0000-0000-000X with a valid check digit."
            )
        return orcid


@admin.register(Researcher)
class ResearcherAdmin(BigTableAdmin):
    list_display = (
        "display_name",
        "orcid",
        "last_known_institution",
        "verification_level",
        "trust",
        "works_count",
        "followers_count",
        "owner",
        "merged_into",
    )
    list_select_related = ("last_known_institution", "owner", "merged_into")
    list_filter = (
        ClaimedFilter,
        "verification_level",
        "trust_band",
        HasOrcidFilter,
        MergedFilter,
        "is_stub",
        # The chosen institution only (linked from its page), never a list of them all.
        related_object_filter("last_known_institution"),
    )
    # `alternative_names_text` is an alias that get_search_results adds: an ArrayField
    # has no icontains, so the names are joined into one string and searched as text.
    search_fields = ("display_name", "alternative_names_text", "=source_id")
    search_help_text = (
        "Name or alternative name, ORCID (0000-... or orcid.org URL), "
        "OpenAlex id (A123... or full URL), or a urn:bzpeer id."
    )
    autocomplete_fields = ("last_known_institution", "merged_into")
    # Authorships are inlined up to INLINE_CAP rows (see get_inlines); follows never are.
    authorship_inline_cap = INLINE_CAP
    exclude = ("trust_components",)  # shown pretty-printed as trust_breakdown
    # Owner, level and ORCID iD follow the claim rules: shown here, changed only by the
    # actions that call them (claims: approve, transfer; here: release, change ORCID iD).
    readonly_fields = (
        "owner",
        "verification_level",
        "orcid",
        "trust_score",
        "trust_band",
        "trust_breakdown",
        "trust_computed_at",
        "works_count",
        "followers_count",
        "topics_count",
        "close_collaborators_count",
        *CITATION_FIELDS,
        "related_records",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "display_name",
                    "alternative_names",
                    "summary",
                    "last_known_institution",
                    ("open_to_collaborate", "open_until"),
                    "collaboration_kinds",
                )
            },
        ),
        (
            "Identifiers",
            {
                "fields": ("source_id", "orcid", "is_stub"),
                "description": 'The ORCID iD changes with the action "Change the ORCID iD".',
            },
        ),
        (
            "Claim and verification",
            {
                "fields": ("owner", "verification_level", "merged_into"),
                "description": (
                    "Owner and verification level follow claims: approve or transfer a claim "
                    '(Claims), or use the action "Release selected records from their owners".'
                ),
            },
        ),
        (
            "Trust (computed by a task)",
            {"fields": ("trust_score", "trust_band", "trust_breakdown", "trust_computed_at")},
        ),
        (
            "Counts (kept by services)",
            {
                "fields": (
                    "works_count",
                    "followers_count",
                    "topics_count",
                    "close_collaborators_count",
                )
            },
        ),
        ("Citations (computed by a task; the source's own figures)", {"fields": CITATION_FIELDS}),
        ("Related records", {"fields": ("related_records",)}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "collaboration_kinds":
            # Ticks instead of typing "coauthoring,reviewing" by hand.
            return forms.TypedMultipleChoiceField(
                choices=CollaborationKind.choices,
                widget=forms.CheckboxSelectMultiple,
                required=False,
                help_text=db_field.help_text,
            )
        if db_field.name == "alternative_names":
            return LinesArrayField(
                forms.CharField(max_length=500),
                required=False,
                label="Alternative names",
                help_text="One name per line.",
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if is_autocomplete(request) and request.GET.get("field_name") == "merged_into":
            # Merge into a survivor, never into another duplicate (no redirect chains).
            queryset = queryset.filter(merged_into__isnull=True)
        # Identifiers first: an exact match on a unique index, whatever the table size.
        if (by_id := source_id_search(queryset, search_term, "author")) is not None:
            return by_id, False
        if orcid := parse_orcid(search_term):
            return queryset.filter(orcid=orcid), False
        queryset = queryset.alias(
            alternative_names_text=ArrayToString(F("alternative_names"), Value(" | "))
        )
        return super().get_search_results(request, queryset, search_term)

    actions = ("merge_duplicates", "recompute", "release_records", "change_orcid")

    def has_merge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(curation.MERGE_PERMISSION)

    def save_model(self, request: HttpRequest, obj: Researcher, form: Any, change: bool) -> None:
        # The public corrections list names the corrected fields (never who).
        changed = form.changed_data if change else []
        curation.edit_researcher(
            researcher=obj,
            curator=request.user,
            labels=[str(form.fields[name].label or name) for name in changed],
            previous_merged_into_id=form.initial.get("merged_into"),
            save=lambda: super(ResearcherAdmin, self).save_model(request, obj, form, change),
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if form.has_changed() or any(formset.has_changed() for formset in formsets):
            curation.researcher_edited(researcher=form.instance, curator=request.user)

    def delete_model(self, request: HttpRequest, obj: Researcher) -> None:
        curation.delete_researchers(researchers=[obj], curator=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        curation.delete_researchers(researchers=list(queryset.only("pk")), curator=request.user)

    @admin.action(
        description="Recompute counts, co-author edges, trust and graph slice",
        permissions=["change"],
    )
    def recompute(self, request: HttpRequest, queryset: QuerySet) -> None:
        # The way back after a broker outage lost a queued recomputation (curation.derived).
        researchers = [Researcher(pk=pk) for pk in queryset.values_list("pk", flat=True)]
        curation.recompute(researchers=researchers, curator=request.user)
        self.message_user(
            request,
            f"Recounted {counted(len(researchers), 'record')}; trust and graph slices are "
            "queued for the worker.",
            messages.SUCCESS,
        )

    @admin.action(description="Release selected records from their owners", permissions=["change"])
    def release_records(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        """1. First POST: the records and their owners, and the reason (the owner reads it
           on their closed claim).
        2. Second POST (`apply`): bzpeer.curation.services.release_record for each."""
        records = list(queryset.select_related("owner").order_by("pk"))

        def apply(form: forms.Form) -> None:
            for record in records:
                try:
                    curation.release_record(
                        researcher=record, curator=request.user, reason=form.cleaned_data["reason"]
                    )
                except (curation.CurationError, PermissionDenied) as exc:
                    self.message_user(request, f"Not released: {exc}", messages.ERROR)
                else:
                    self.message_user(request, f"Released {record}.", messages.SUCCESS)

        return confirm_action(
            self,
            request,
            records,
            title="Release records from their owners",
            submit="Release",
            columns=[("Record", lambda r: r), ("Owner", lambda r: r.owner or "unclaimed")],
            form_class=lambda data: ReleaseForm(data),
            apply=apply,
        )

    @admin.action(description="Change the ORCID iD (with a reason)", permissions=["change"])
    def change_orcid(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        """1. First POST: the record, its owner and iD, and the new iD with the reason.
        2. Second POST (`apply`): bzpeer.curation.services.change_orcid."""
        records = list(queryset.select_related("owner").order_by("pk")[:2])
        if len(records) != 1:
            self.message_user(request, "Select exactly one record.", messages.ERROR)
            return None
        record = records[0]

        def apply(form: forms.Form) -> None:
            try:
                curation.change_orcid(
                    researcher=record,
                    curator=request.user,
                    orcid=form.cleaned_data["orcid"],
                    reason=form.cleaned_data["reason"],
                )
            except (curation.CurationError, PermissionDenied) as exc:
                self.message_user(request, f"Not changed: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Changed the ORCID iD of {record}.", messages.SUCCESS)

        return confirm_action(
            self,
            request,
            records,
            title="Change the ORCID iD",
            submit="Change the iD",
            columns=[
                ("Record", lambda r: r),
                ("ORCID iD", lambda r: r.orcid or "none"),
                ("Owner", lambda r: r.owner or "unclaimed"),
                ("Level", lambda r: r.get_verification_level_display()),
            ],
            form_class=lambda data: ChangeOrcidForm(data),
            apply=apply,
            note=(
                "An iD its owner proved by signing in with ORCID (L3) is not changed by hand. "
                "On an unclaimed record the level follows the iD (L1 with one)."
            ),
        )

    @admin.action(
        description="Merge selected duplicates (pick the survivor)", permissions=["merge"]
    )
    def merge_duplicates(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        """1. First POST (from the changelist): the selected records side by side, with a
           choice of the survivor.
        2. Second POST (`apply`): merge the others into it (bzpeer.curation.services)."""
        records = list(
            queryset.select_related("owner", "last_known_institution", "merged_into").order_by(
                "-works_count", "pk"
            )
        )
        if len(records) < 2:
            self.message_user(request, "Select at least two records to merge.", messages.ERROR)
            return None
        suggested = next((r for r in records if r.owner_id), records[0])

        def form_class(data: Any) -> forms.Form:
            return MergeForm(data, records=records, initial={"survivor": suggested.pk})

        def apply(form: forms.Form) -> None:
            survivor = next(r for r in records if r.pk == form.cleaned_data["survivor"])
            duplicates = [r for r in records if r.pk != survivor.pk]
            try:
                merged = curation.merge_researchers(
                    survivor=survivor, duplicates=duplicates, curator=request.user
                )
            except (curation.CurationError, PermissionDenied) as exc:
                self.message_user(request, f"Not merged: {exc}", messages.ERROR)
                return
            self.message_user(
                request,
                format_html(
                    'Merged {} record(s) into <a href="{}">{}</a>.',
                    len(duplicates),
                    reverse("admin:profiles_researcher_change", args=[merged.pk]),
                    merged,
                ),
                messages.SUCCESS,
            )

        return confirm_action(
            self,
            request,
            records,
            title="Merge duplicate records",
            submit="Merge into the survivor",
            intro=(
                "Pick the record that survives. The others move their authorships, follows, "
                "claims and invitations to it, redirect to it, and their names become its "
                "alternative names. Counts, co-author edges, trust and graph slices are "
                "recomputed."
            ),
            columns=[
                (
                    "Name",
                    lambda r: format_html(
                        '<a href="{}">{}</a>',
                        reverse("admin:profiles_researcher_change", args=[r.pk]),
                        r.display_name,
                    ),
                ),
                ("Source id", lambda r: r.source_id),
                ("ORCID", lambda r: r.orcid),
                ("Institution", lambda r: r.last_known_institution),
                ("Works", lambda r: r.works_count),
                ("Followers", lambda r: r.followers_count),
                ("Owner", lambda r: r.owner or "unclaimed"),
                ("Level", lambda r: r.get_verification_level_display()),
                ("Merged into", lambda r: r.merged_into),
            ],
            form_class=form_class,
            apply=apply,
            note=(
                "A claimed record is never merged into another owner's record: records with "
                "two different owners are refused."
            ),
        )

    def get_inlines(self, request: HttpRequest, obj: Researcher | None) -> list:
        # A prolific author has thousands of authorships, and an inline renders them all
        # (it can't be sliced: the formset filters its queryset). Past the cap the page
        # links to the paginated, searchable authorship changelist instead.
        if obj is None or has_at_most(obj.authorships.all(), self.authorship_inline_cap):
            return [ResearcherAuthorshipInline]
        return []

    @admin.display(description="trust", ordering="trust_score")
    def trust(self, obj: Researcher) -> str:
        return f"{obj.trust_score} - {obj.trust_band}"

    @admin.display(description="trust components")
    def trust_breakdown(self, obj: Researcher) -> str:
        return pretty_json(obj.trust_components)

    @admin.display(description="related records")
    def related_records(self, obj: Researcher) -> str:
        if obj.pk is None:
            return "-"
        links = [
            (
                admin_changelist_url(Authorship, researcher=obj.pk),
                f"All authorships ({obj.works_count} works; "
                f"inlined below only up to {self.authorship_inline_cap})",
            ),
            (
                admin_changelist_url(Follow, researcher=obj.pk),
                f"Followers ({obj.followers_count})",
            ),
            (admin_changelist_url(Invitation, researcher=obj.pk), "Invitations"),
            (admin_changelist_url(Claim, researcher=obj.pk), "Claims"),
            (
                admin_changelist_url(ResearcherTopic, researcher=obj.pk),
                f"Topics ({obj.topics_count})",
            ),
            (
                admin_changelist_url(CoauthorEdge, researcher=obj.pk),
                f"Co-author edges ({obj.close_collaborators_count} close)",
            ),
            (admin_changelist_url(GraphSlice, researcher=obj.pk), "Graph slice"),
            (
                admin_changelist_url(Authorship, researcher=obj.pk),
                "Split: select authorships there and move them to another or a new record",
            ),
            (
                admin_changelist_url(Researcher, merged_into__id__exact=obj.pk),
                "Duplicates merged into this record",
            ),
        ]
        return format_html(
            '<ul class="bz-plain-list">{}</ul>',
            format_html_join("", '<li><a href="{}">{}</a></li>', links),
        )


@admin.register(ResearcherTopic)
class ResearcherTopicAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("researcher", "topic", "works_count")
    list_select_related = ("researcher", "topic")
    list_filter = (related_object_filter("researcher"), related_object_filter("topic"))
    search_fields = ("researcher__display_name", "topic__display_name")
    autocomplete_fields = ("researcher", "topic")


@admin.register(DigestState)
class DigestStateAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    """Where each follower's weekly digest stands (written by the digest task only)."""

    list_display = ("user", "since", "last_sent_at")
    list_select_related = ("user",)
    search_fields = ("=user__username",)
    autocomplete_fields = ("user",)


@admin.register(ResearcherInstitution)
class ResearcherInstitutionAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    """Derived rows (kept by the search refresh): read-only, for checking."""

    list_display = ("researcher", "institution", "works_count", "is_last_known")
    list_select_related = ("researcher", "institution")
    list_filter = (related_object_filter("researcher"), related_object_filter("institution"))
    search_fields = ("researcher__display_name", "institution__display_name")
    autocomplete_fields = ("researcher", "institution")


@admin.register(ResearcherSearch)
class ResearcherSearchAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    """Derived rows (kept by the search refresh): read-only, for checking."""

    list_display = ("researcher", "names")
    list_select_related = ("researcher",)
    list_filter = (related_object_filter("researcher"),)
    search_fields = ("researcher__display_name",)
    autocomplete_fields = ("researcher",)


@admin.register(SearchWord)
class SearchWordAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    """The names' vocabulary (kept by the search refresh): read-only, for checking."""

    list_display = ("word",)
    search_fields = ("word",)


@admin.register(Follow)
class FollowAdmin(BigTableAdmin):
    list_display = ("user", "researcher", "email_digest", "created_at")
    list_select_related = ("user", "researcher")
    list_filter = (related_object_filter("researcher"), related_object_filter("user"))
    search_fields = ("=user__username", "researcher__display_name")
    search_help_text = "Exact username, or researcher name."
    autocomplete_fields = ("user", "researcher")
    readonly_fields = ("created_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        # A follow is a (user, researcher) pair: delete it and add another instead.
        if obj is not None:
            return ("user", "researcher", "created_at")
        return self.readonly_fields

    # Through the services, which keep Researcher.followers_count right.
    def save_model(self, request: HttpRequest, obj: Follow, form: Any, change: bool) -> None:
        if change:
            return  # nothing on a follow is editable
        follow_researcher(user=obj.user, researcher=obj.researcher)
        saved = Follow.objects.get(user=obj.user, researcher=obj.researcher)
        obj.pk, obj.created_at = saved.pk, saved.created_at

    def delete_model(self, request: HttpRequest, obj: Follow) -> None:
        unfollow_researcher(user=obj.user, researcher=obj.researcher)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for follow in queryset.select_related("user", "researcher"):
            unfollow_researcher(user=follow.user, researcher=follow.researcher)


@admin.register(Invitation)
class InvitationAdmin(BigTableAdmin):
    list_display = ("subject", "sender", "researcher", "recipient", "status", "created_at")
    list_select_related = ("sender", "researcher", "recipient")
    list_filter = (
        "status",
        related_object_filter("researcher"),
        related_object_filter("sender"),
        related_object_filter("recipient"),
    )
    search_fields = ("subject", "=sender__username", "researcher__display_name")
    search_help_text = "Subject, exact sender username, or researcher name."
    autocomplete_fields = ("sender", "researcher", "recipient")
    readonly_fields = ("created_at",)
