"""Admin for works and authorships: the bibliographic records curators correct; and for
accounts, whose deletion releases the record an account owns.

These admins live here, not in works/admin.py, because their writes go through the curation
services (hide, edit, move, delete, each with its audit note and refresh), and works never
imports anything above itself. The screens stay at admin/works/... (the models' app).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Min, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from bzpeer.admin_toolkit import (
    INLINE_CAP,
    BigTableAdmin,
    admin_changelist_url,
    confirm_action,
    formsets_changed,
    has_at_most,
    parse_source_id,
    related_object_filter,
    source_id_search,
)
from bzpeer.curation import services
from bzpeer.identifiers import normalize_arxiv, normalize_doi
from bzpeer.utils import counted, parse_id
from profiles.models import Researcher
from works.models import Authorship, Work, WorkType

# ---------------------------------------------------------------------------
# Work
# ---------------------------------------------------------------------------


class WorkTypeFilter(admin.SimpleListFilter):
    title = "type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        # Any other ?type= value still filters; these are the ones offered (a fixed list
        # instead of SELECT DISTINCT type over every work).
        return [*WorkType.choices, ("-", "(none)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(type="" if value == "-" else value)


class PublicationYearFilter(admin.SimpleListFilter):
    """1. The options come from MIN/MAX of the indexed column: two index probes, not a
       SELECT DISTINCT over every work.
    2. The latest `recent_years` years are listed one by one, older ones by decade (and
       one bucket before `oldest_decade`), so the sidebar stays short.
    3. Every option is an indexed range (`year`, `start-end`) or `unknown` (no year)."""

    title = "publication year"
    parameter_name = "year"
    recent_years = 10
    oldest_decade = 1900

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        bounds = Work.objects.aggregate(low=Min("publication_year"), high=Max("publication_year"))
        low, high = bounds["low"], bounds["high"]
        options: list[tuple[str, str]] = []
        if high is not None:
            first_single = max(low, high - self.recent_years + 1)
            options += [(str(y), str(y)) for y in range(high, first_single - 1, -1)]
            end = first_single - 1
            while end >= low and end >= self.oldest_decade:
                start = max(end - end % 10, low)
                label = f"{start}s" if start % 10 == 0 and end == start + 9 else f"{start}-{end}"
                options.append((f"{start}-{end}", label))
                end = start - 1
            if end >= low:
                options.append((f"{low}-{end}", f"before {end + 1}"))
        options.append(("unknown", "unknown"))
        return options

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if value == "unknown":
            return queryset.filter(publication_year__isnull=True)
        start, _, end = value.partition("-")
        first, last = parse_id(start), parse_id(end or start)
        if first is None or last is None or max(first, last) > 9999:
            return queryset.none()
        return queryset.filter(publication_year__range=(first, last))


class WorkAdminForm(forms.ModelForm):
    """Identifiers are stored in the importer's canonical forms: the unique DOI index and
    the next import's upsert only match those."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The importer keeps a type as read: offer a stored one outside the list as it is.
        current = self.instance.type
        field = self.fields.get("type")
        if isinstance(field, forms.ChoiceField) and current and current not in WorkType.values:
            field.choices = [*cast(list, field.choices), (current, current)]

    def clean_doi(self) -> str | None:
        raw = self.cleaned_data.get("doi")
        if not raw:
            return None
        doi = normalize_doi(raw)
        if doi is None:
            raise forms.ValidationError("Not a DOI: expected 10.xxxx/... or a doi.org URL.")
        return doi

    def clean_arxiv_id(self) -> str:
        raw = self.cleaned_data.get("arxiv_id")
        if not raw:
            return ""
        arxiv_id = normalize_arxiv(raw)
        if not arxiv_id:
            raise forms.ValidationError("Not an arXiv id: expected e.g. 2101.00001.")
        return arxiv_id


class WorkAuthorshipInline(admin.TabularInline):
    model = Authorship
    fields = ("researcher", "author_position", "order", "raw_author_name", "institutions")
    autocomplete_fields = ("researcher", "institutions")
    extra = 0
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Each row still costs one query per autocomplete widget (it loads its selected
        # option): the reason inlines stop at INLINE_CAP rows.
        queryset = super().get_queryset(request)
        return queryset.select_related("researcher").prefetch_related("institutions")


@admin.register(Work)
class WorkAdmin(BigTableAdmin):
    form = WorkAdminForm
    list_display = (
        "short_title",
        "publication_year",
        "type",
        "venue",
        "doi",
        "arxiv_id",
        "cited_by_count",
        "is_hidden",
    )
    list_select_related = ("venue",)
    list_filter = (WorkTypeFilter, "is_hidden", PublicationYearFilter, "is_stub")
    # Free text on title; identifiers are matched exactly first (see get_search_results).
    search_fields = ("title", "=doi", "=arxiv_id", "=source_id")
    search_help_text = (
        "Title words, or an identifier: DOI (10.x/... or doi.org URL), "
        "arXiv id, OpenAlex id (W123... or full URL)."
    )
    autocomplete_fields = ("venue", "topics")
    authorship_inline_cap = INLINE_CAP
    # The importer owns the reference list; the form shows only its size.
    exclude = ("referenced_works",)
    readonly_fields = (
        "references",
        "team_size",
        "updated_at",
        "authorships_link",
        # Written by the importer only.
        "counts_by_year",
        "first_imported_at",
        "imported_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "title",
                    "type",
                    ("publication_year", "publication_date"),
                    "venue",
                    "abstract",
                    "topics",
                    "is_hidden",
                )
            },
        ),
        (
            "Identifiers",
            {"fields": ("source_id", "doi", "arxiv_id", "landing_page_url")},
        ),
        (
            "Import data",
            {
                "fields": (
                    "cited_by_count",
                    "counts_by_year",
                    ("first_imported_at", "imported_at"),
                    "authors_count",
                    "team_size",
                    "references",
                    "is_stub",
                    "updated_at",
                    "authorships_link",
                )
            },
        ),
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if (by_id := source_id_search(queryset, search_term, "work")) is not None:
            return by_id, False
        if doi := normalize_doi(search_term):
            return queryset.filter(doi=doi), False
        if arxiv_id := normalize_arxiv(search_term):
            return queryset.filter(arxiv_id=arxiv_id), False
        return super().get_search_results(request, queryset, search_term)

    actions = ("hide_works", "show_works")

    @admin.action(description="Hide selected works from every public page", permissions=["change"])
    def hide_works(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_hidden(request, queryset, hidden=True)

    @admin.action(description="Show selected hidden works again", permissions=["change"])
    def show_works(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_hidden(request, queryset, hidden=False)

    def _set_hidden(self, request: HttpRequest, queryset: QuerySet, *, hidden: bool) -> None:
        try:
            changed = services.hide_works(
                works=[Work(pk=pk) for pk in queryset.values_list("pk", flat=True)],
                curator=request.user,
                hidden=hidden,
            )
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        verb = "Hid" if hidden else "Showed"
        self.message_user(
            request, f"{verb} {counted(changed, 'work')}; their authors are recounted."
        )

    def save_model(self, request: HttpRequest, obj: Work, form: Any, change: bool) -> None:
        changed = form.changed_data if change else []
        services.edit_work(
            work=obj,
            curator=request.user,
            changed=changed,
            labels=[str(form.fields[name].label or name) for name in changed],
            save=lambda: super(WorkAdmin, self).save_model(request, obj, form, change),
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.work_edited(
            work=form.instance,
            curator=request.user,
            changed=form.changed_data,
            authorships_changed=formsets_changed(formsets),
            removed_researcher_ids=[a.researcher_id for fs in formsets for a in fs.deleted_objects],
        )

    def delete_model(self, request: HttpRequest, obj: Work) -> None:
        services.delete_works(works=[obj], curator=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        services.delete_works(works=list(queryset.only("pk")), curator=request.user)

    def get_inlines(self, request: HttpRequest, obj: Work | None) -> list:
        # Hyper-authored works list thousands of authors: link to the changelist instead.
        if obj is None or has_at_most(obj.authorships.all(), self.authorship_inline_cap):
            return [WorkAuthorshipInline]
        return []

    @admin.display(description="title", ordering="title")
    def short_title(self, obj: Work) -> str:
        title = obj.title or obj.source_id
        return title if len(title) <= 90 else title[:89] + "…"

    @admin.display(description="referenced works")
    def references(self, obj: Work) -> str:
        return counted(len(obj.referenced_works), "referenced work")

    @admin.display(description="authorships")
    def authorships_link(self, obj: Work) -> str:
        if obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}">All authorships of this work</a> (edited inline up to {})',
            admin_changelist_url(Authorship, work=obj.pk),
            self.authorship_inline_cap,
        )


# ---------------------------------------------------------------------------
# Authorship
# ---------------------------------------------------------------------------


class AuthorPositionFilter(admin.SimpleListFilter):
    title = "author position"
    parameter_name = "position"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return list(Authorship.Position.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset if value is None else queryset.filter(author_position=value)


class MoveAuthorshipsForm(forms.Form):
    new_display_name = forms.CharField(
        max_length=500,
        required=False,
        label="...or to a new researcher named",
        help_text="Leave both empty to create a new record named as the first authorship.",
    )

    def __init__(self, *args: Any, admin_site: admin.AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        target = forms.ModelChoiceField(
            queryset=Researcher.objects.filter(merged_into__isnull=True),
            required=False,
            label="Move to this researcher",
            widget=AutocompleteSelect(Authorship._meta.get_field("researcher"), admin_site),
        )
        self.fields = {"target": target, **self.fields}

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("target") and data.get("new_display_name", "").strip():
            raise forms.ValidationError("Pick an existing researcher or name a new one, not both.")
        return data


@admin.register(Authorship)
class AuthorshipAdmin(BigTableAdmin):
    list_display = ("work", "researcher", "author_position", "order", "raw_author_name")
    list_select_related = ("work", "researcher")
    list_filter = (
        related_object_filter("researcher"),
        related_object_filter("work"),
        AuthorPositionFilter,
    )
    search_fields = ("raw_author_name",)
    search_help_text = "Raw author name, or an OpenAlex work (W...) or author (A...) id."
    autocomplete_fields = ("work", "researcher", "institutions")
    actions = ("move_authorships",)

    def has_move_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(services.MOVE_PERMISSION)

    def save_model(self, request: HttpRequest, obj: Authorship, form: Any, change: bool) -> None:
        # Reassigning through the form is a move: same permission and note as the action.
        services.edit_authorship(
            authorship=obj,
            previous_researcher_id=form.initial.get("researcher") if change else None,
            curator=request.user,
            save=lambda: super(AuthorshipAdmin, self).save_model(request, obj, form, change),
        )

    @admin.action(
        description="Move selected authorships to another or a new researcher (split)",
        permissions=["move"],
    )
    def move_authorships(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        """1. First POST: the selected authorships and a form for the target.
        2. Second POST (`apply`): bzpeer.curation.services.split_authorships."""
        rows = list(queryset.select_related("work", "researcher").order_by("pk"))

        def apply(form: forms.Form) -> None:
            try:
                target = services.split_authorships(
                    authorships=rows,
                    target=form.cleaned_data["target"],
                    new_display_name=form.cleaned_data["new_display_name"],
                    curator=request.user,
                )
            except (services.CurationError, PermissionDenied) as exc:
                self.message_user(request, f"Not moved: {exc}", messages.ERROR)
                return
            self.message_user(
                request,
                format_html(
                    'Moved {} authorship(s) to <a href="{}">{}</a>.',
                    len(rows),
                    reverse("admin:profiles_researcher_change", args=[target.pk]),
                    target,
                ),
                messages.SUCCESS,
            )

        return confirm_action(
            self,
            request,
            rows,
            title="Move authorships",
            submit="Move",
            intro="Move these authorships to another record, or to a new one:",
            columns=[
                ("Work", lambda a: a.work),
                ("Now on", lambda a: a.researcher),
                ("As", lambda a: a.raw_author_name),
            ],
            form_class=lambda data: MoveAuthorshipsForm(data, admin_site=self.admin_site),
            apply=apply,
        )

    def delete_model(self, request: HttpRequest, obj: Authorship) -> None:
        services.delete_authorships(authorships=[obj], curator=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        services.delete_authorships(authorships=list(queryset.only("pk")), curator=request.user)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if work_id := parse_source_id(search_term, "work"):
            return queryset.filter(work__source_id=work_id), False
        if author_id := parse_source_id(search_term, "author"):
            return queryset.filter(researcher__source_id=author_id), False
        return super().get_search_results(request, queryset, search_term)


# ---------------------------------------------------------------------------
# Accounts: deleting one releases the record it owns by the claim rules first
# ---------------------------------------------------------------------------

User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class AccountAdmin(UserAdmin):
    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.delete_accounts(users=[obj], curator=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        services.delete_accounts(users=list(queryset), curator=request.user)
