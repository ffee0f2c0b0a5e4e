"""Admin for bibliographic records, plus the helpers every BZPEER admin shares.

The works, authorships and researchers tables reach millions of rows. Three things keep
their changelists fast: no COUNT(*) of the whole table (`show_full_result_count`, and
`LargeTablePaginator` for the unfiltered list), no sidebar filter that runs SELECT DISTINCT
over a big column, and autocomplete (never a <select> of every row) for relations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.postgres.forms import SimpleArrayField
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Max, Min, Model, Q, QuerySet, URLField
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import urlencode

from bzpeer.audit.context import curation_context
from profiles import curation
from profiles.models import Researcher
from profiles.services import after_import

from .importer.normalize import arxiv_from_id, normalize_doi, normalize_ror, parse_entity_id
from .models import Authorship, Institution, Source, Topic, Work

# ---------------------------------------------------------------------------
# Shared helpers (imported by the profiles, claims and graph admins)
# ---------------------------------------------------------------------------

# Below this many rows (planner estimate) an exact COUNT(*) is cheap enough.
ESTIMATE_COUNT_ABOVE = 100_000

# Related rows edited inline on a change page; past this, the page links to the
# paginated changelist instead (each inline row costs queries for its autocomplete widgets).
INLINE_CAP = 50

# Largest JSON document pretty-printed on a change page.
PRETTY_JSON_MAX_CHARS = 100_000


def estimated_row_count(model: type[Model]) -> int:
    """The planner's row estimate for a table (-1 when it was never analysed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else -1


class LargeTablePaginator(Paginator):
    """Counts exactly, except an unfiltered list of a big table, which takes the estimate.

    `show_full_result_count = False` only drops the second count; the changelist still
    counts its own queryset, which is the whole table when nothing is filtered.
    """

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if isinstance(object_list, QuerySet) and not object_list.query.where:
            estimate = estimated_row_count(object_list.model)
            if estimate >= ESTIMATE_COUNT_ABOVE:
                return estimate
        return super().count


def is_autocomplete(request: HttpRequest | None) -> bool:
    match = getattr(request, "resolver_match", None)
    return bool(match and match.url_name == "autocomplete")


def admin_changelist_url(model: type[Model], **params: Any) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def has_at_most(queryset: QuerySet, limit: int) -> bool:
    """Bounded count: SELECT COUNT(*) FROM (... LIMIT limit + 1), with no ordering (a
    model ordering through a relation would add a join and a sort)."""
    return queryset.order_by()[: limit + 1].count() <= limit


def pretty_json(value: Any) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    if len(text) > PRETTY_JSON_MAX_CHARS:
        text = text[:PRETTY_JSON_MAX_CHARS] + "\n... (truncated)"
    # format_html escapes the text: payloads hold names and titles from outside data.
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


def refresh_researchers(researcher_ids: Iterable[int | None]) -> None:
    """After a curator's edit: counts and co-author edges now, trust and graph slices queued
    for the worker, as an import does for the records it touched."""
    ids = {pk for pk in researcher_ids if pk}
    if ids:
        after_import(researcher_ids=ids)


def formsets_changed(formsets: Iterable[Any]) -> bool:
    return any(formset.has_changed() for formset in formsets)


class BaseAdmin(admin.ModelAdmin):
    """Defaults for every BZPEER admin."""

    show_full_result_count = False
    # Facet counts run one COUNT per filter option over the table.
    show_facets = admin.ShowFacets.NEVER
    paginator = LargeTablePaginator
    list_per_page = 50

    def get_ordering(self, request: HttpRequest) -> list | tuple:
        # Autocomplete results read best in the model's (alphabetical) order; they are
        # already narrowed by the search term, so sorting them is cheap.
        if is_autocomplete(request) and self.model._meta.ordering:
            return self.model._meta.ordering
        return super().get_ordering(request)

    def get_autocomplete_fields(self, request: HttpRequest) -> list[str]:
        # Every relation autocompletes, including ones added to the model later: a plain
        # <select> would load the whole related table into the page.
        names = list(self.autocomplete_fields)
        for field in self.model._meta.get_fields():
            if not (field.concrete and field.is_relation) or field.name in names:
                continue
            if field.name in self.raw_id_fields or not field.editable:
                continue
            through = getattr(field.remote_field, "through", None)
            if through is not None and not through._meta.auto_created:
                continue  # a through model with its own data is never a form field
            target = self.admin_site._registry.get(field.related_model)
            if target is not None and target.search_fields:
                names.append(field.name)
        return names

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> list:
        # Declared fieldsets hide any field they don't name; list a field added to the
        # model later under "Other" until someone gives it a place.
        fieldsets = list(super().get_fieldsets(request, obj))
        if not self.fieldsets:
            return fieldsets
        named = set(flatten_fieldsets(fieldsets))
        form = self.get_form(request, obj, fields=None)
        other = [name for name in form.base_fields if name not in named]
        return [*fieldsets, ("Other", {"fields": other})] if other else fieldsets

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Django 6 makes https the default scheme for typed URLs; take it now.
        if isinstance(db_field, URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def view_on_site(self, obj: Model) -> str | None:
        # Hide "View on site" until the public page's URL exists, instead of a link that 500s.
        get_absolute_url = getattr(obj, "get_absolute_url", None)
        if get_absolute_url is None:
            return None
        try:
            return get_absolute_url()
        except NoReverseMatch:
            return None


class BigTableAdmin(BaseAdmin):
    """For tables with millions of rows: newest first walks the primary key index; the
    models' alphabetical orderings have no index and would sort the whole table."""

    ordering = ("-pk",)


class ReadOnlyAdminMixin:
    """View-only admin for rows that tasks and services compute: an edit here would be
    overwritten on the next run, or leave the denormalised counts wrong."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class RelatedObjectFilter(admin.SimpleListFilter):
    """Filter on one related row named in the URL (`?researcher=12`), as linked from that
    row's change page. It shows only the chosen row: a RelatedFieldListFilter would list
    every row of the related table in the sidebar."""

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        # A filter without options is dropped from the changelist, and its queryset()
        # with it: a value that is set always yields one option.
        value = self.value()
        if not value:
            return []
        if not value.isdigit():
            return [(value, f"{value} (not an id)")]
        related = model_admin.model._meta.get_field(self.parameter_name).related_model
        obj = related._default_manager.filter(pk=value).first()
        return [(value, str(obj) if obj else f"#{value}")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(**{f"{self.parameter_name}_id": int(value)})


def related_object_filter(field_name: str) -> type[RelatedObjectFilter]:
    return type(
        f"{field_name.title().replace('_', '')}Filter",
        (RelatedObjectFilter,),
        {"title": field_name.replace("_", " "), "parameter_name": field_name},
    )


class YesNoFilter(admin.SimpleListFilter):
    """A yes/no filter on a condition; subclasses set `condition` (the "yes" rows)."""

    condition: Q

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(self.condition)
        if self.value() == "no":
            return queryset.exclude(self.condition)
        return queryset


class LinesArrayField(SimpleArrayField):
    """An array edited one item per line: names and titles contain commas, so the default
    comma-separated input would split "Doe, Jane" into two names on save."""

    def __init__(self, base_field: forms.Field, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4}))
        super().__init__(base_field, delimiter="\n", **kwargs)

    def to_python(self, value: Any) -> Any:  # a list of str
        if isinstance(value, str):
            value = [line.strip() for line in value.splitlines() if line.strip()]
        return super().to_python(value)


# ---------------------------------------------------------------------------
# Identifier search: a pasted id (in any of its usual forms) is matched exactly on its
# indexed column, before any free-text search. The importer's normalisers give the form.
# ---------------------------------------------------------------------------


def parse_source_id(term: str, *entities: str) -> str | None:
    """The stored source id when `term` names a record of one of `entities` ("author",
    "work", ...): a key (`A123`), an OpenAlex URL with or without its scheme or collection
    (`openalex.org/authors/A123`), or a local `urn:bzpeer:...:A123` id. The importer's
    parser decides, so the result is exactly the form the importer stored."""
    term = term.strip()
    if term.lower().startswith(("openalex.org/", "api.openalex.org/", "www.openalex.org/")):
        term = f"https://{term}"
    parsed = parse_entity_id(term) if term else None
    if parsed and parsed.stored and parsed.entity in entities:
        return parsed.source_id
    return None


def source_id_search(queryset: QuerySet, term: str, *entities: str) -> QuerySet | None:
    """An exact match on the unique source id, or None when `term` is not such an id."""
    source_id = parse_source_id(term, *entities)
    return queryset.filter(source_id=source_id) if source_id else None


# ---------------------------------------------------------------------------
# Work
# ---------------------------------------------------------------------------

# OpenAlex's work types: a fixed list instead of SELECT DISTINCT type over every work.
WORK_TYPES = (
    "article",
    "book",
    "book-chapter",
    "dataset",
    "dissertation",
    "editorial",
    "erratum",
    "grant",
    "letter",
    "libguides",
    "other",
    "paratext",
    "peer-review",
    "preprint",
    "reference-entry",
    "report",
    "retraction",
    "review",
    "standard",
    "supplementary-materials",
)
# Crossref's types, which older snapshots carry in `type` (the importer keeps them as read).
LEGACY_WORK_TYPES = (
    "journal-article",
    "proceedings-article",
    "posted-content",
    "monograph",
    "edited-book",
    "journal-issue",
    "component",
)


class WorkTypeFilter(admin.SimpleListFilter):
    title = "type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        # Any other ?type= value still filters; these are the ones offered.
        types = [(t, t) for t in WORK_TYPES]
        legacy = [(t, f"{t} (older snapshots)") for t in LEGACY_WORK_TYPES]
        return [*types, *legacy, ("-", "(none)")]

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
        if not start.isdigit() or not (end or start).isdigit():
            return queryset.none()
        return queryset.filter(publication_year__range=(int(start), int(end or start)))


class WorkAdminForm(forms.ModelForm):
    """Identifiers are stored in the importer's canonical forms: the unique DOI index and
    the next import's upsert only match those."""

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
        arxiv_id = arxiv_from_id(raw)
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
    readonly_fields = ("references", "updated_at", "authorships_link")
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
                    "authors_count",
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
        if arxiv_id := arxiv_from_id(search_term):
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
            changed = curation.hide_works(
                works=[Work(pk=pk) for pk in queryset.values_list("pk", flat=True)],
                curator=request.user,
                hidden=hidden,
            )
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        verb = "Hid" if hidden else "Showed"
        self.message_user(request, f"{verb} {changed} work(s); their authors are recounted.")

    def save_model(self, request: HttpRequest, obj: Work, form: Any, change: bool) -> None:
        if change and form.changed_data:
            labels = ", ".join(str(form.fields[name].label or name) for name in form.changed_data)
            verb = {True: "Hid", False: "Showed again"}.get(obj.is_hidden)
            note = (
                f"{verb} the work {obj.title[:120]!r}."
                if form.changed_data == ["is_hidden"]
                else f"Corrected the work {obj.title[:120]!r}: {labels.lower()}."
            )
            curation_context(
                action="edit work",
                curator=request.user,
                researcher_ids=self._author_ids([obj.pk]),
                note=note,
            )
        super().save_model(request, obj, form, change)

    # Fields that move a researcher's counts, edges or trust (the rest is cosmetic).
    counted_fields = frozenset(
        {"is_hidden", "authors_count", "publication_year", "topics", "doi", "arxiv_id"}
    )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if self.counted_fields.intersection(form.changed_data) or formsets_changed(formsets):
            removed = [a.researcher_id for fs in formsets for a in fs.deleted_objects]
            refresh_researchers([*self._author_ids([form.instance.pk]), *removed])

    def delete_model(self, request: HttpRequest, obj: Work) -> None:
        authors = self._author_ids([obj.pk])
        super().delete_model(request, obj)
        refresh_researchers(authors)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        authors = self._author_ids(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)
        refresh_researchers(authors)

    @staticmethod
    def _author_ids(work_ids: Iterable[int]) -> set[int]:
        rows = Authorship.objects.filter(work_id__in=list(work_ids)).values_list("researcher_id")
        return {researcher_id for (researcher_id,) in rows}

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
        return f"{len(obj.referenced_works)} referenced work(s)"

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
        return request.user.has_perm(curation.MOVE_PERMISSION)

    def save_model(self, request: HttpRequest, obj: Authorship, form: Any, change: bool) -> None:
        previous = form.initial.get("researcher") if change else None
        if change and "researcher" in form.changed_data:
            # Reassigning through the form: the same audit note as the move action.
            if not self.has_move_permission(request):
                raise PermissionDenied("Moving authorships needs works.move_authorship.")
            curation_context(
                action="split",
                curator=request.user,
                researcher_ids=[obj.researcher_id, previous],
                note=f"Moved 1 work(s) to {obj.researcher.display_name}.",
            )
        super().save_model(request, obj, form, change)
        refresh_researchers([obj.researcher_id, previous])

    @admin.action(
        description="Move selected authorships to another or a new researcher (split)",
        permissions=["move"],
    )
    def move_authorships(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        """1. First POST: the selected authorships and a form for the target.
        2. Second POST (`apply`): profiles.curation.split_authorships."""
        rows = list(queryset.select_related("work", "researcher").order_by("pk"))
        if "apply" in request.POST:
            form = MoveAuthorshipsForm(request.POST, admin_site=self.admin_site)
            if form.is_valid():
                try:
                    target = curation.split_authorships(
                        authorships=rows,
                        target=form.cleaned_data["target"],
                        new_display_name=form.cleaned_data["new_display_name"],
                        curator=request.user,
                    )
                except (curation.CurationError, PermissionDenied) as exc:
                    self.message_user(request, f"Not moved: {exc}", messages.ERROR)
                else:
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
                return None
        else:
            form = MoveAuthorshipsForm(admin_site=self.admin_site)
        context = {
            **self.admin_site.each_context(request),
            "title": "Move authorships",
            "opts": self.model._meta,
            "rows": rows,
            "form": form,
            "action": request.POST["action"],
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/works/authorship/move.html", context)

    def delete_model(self, request: HttpRequest, obj: Authorship) -> None:
        super().delete_model(request, obj)
        refresh_researchers([obj.researcher_id])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        researcher_ids = set(queryset.values_list("researcher_id", flat=True))
        super().delete_queryset(request, queryset)
        refresh_researchers(researcher_ids)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if work_id := parse_source_id(search_term, "work"):
            return queryset.filter(work__source_id=work_id), False
        if author_id := parse_source_id(search_term, "author"):
            return queryset.filter(researcher__source_id=author_id), False
        return super().get_search_results(request, queryset, search_term)


# ---------------------------------------------------------------------------
# Institution, Source, Topic: autocomplete targets, a few hundred thousand rows at most,
# so their type/country filters may list distinct values.
# ---------------------------------------------------------------------------


class InstitutionAdminForm(forms.ModelForm):
    def clean_ror(self) -> str:
        raw = self.cleaned_data.get("ror")
        if not raw:
            return ""
        ror = normalize_ror(raw)
        if not ror:
            raise forms.ValidationError("Not a ROR id: expected 0xxxxxxNN or a ror.org URL.")
        return ror


@admin.register(Institution)
class InstitutionAdmin(BaseAdmin):
    form = InstitutionAdminForm
    list_display = ("display_name", "country_code", "type", "ror", "source_id", "is_stub")
    list_filter = ("type", "country_code", "is_stub")
    search_fields = ("display_name", "=source_id")
    search_help_text = "Name, ROR (id or URL), or OpenAlex id (I123... or full URL)."
    readonly_fields = ("updated_at",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if (by_id := source_id_search(queryset, search_term, "institution")) is not None:
            return by_id, False
        if ror := normalize_ror(search_term):
            return queryset.filter(ror=ror), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Source)
class SourceAdmin(BaseAdmin):
    list_display = ("display_name", "type", "issn_l", "source_id", "is_stub")
    list_filter = ("type", "is_stub")
    search_fields = ("display_name", "=issn_l", "=source_id")
    search_help_text = "Name, ISSN-L, or OpenAlex id (S123... or full URL)."
    readonly_fields = ("updated_at",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if (by_id := source_id_search(queryset, search_term, "source")) is not None:
            return by_id, False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Topic)
class TopicAdmin(BaseAdmin):
    list_display = ("display_name", "kind", "field_name", "source_id", "is_stub")
    list_filter = ("kind", "is_stub")
    search_fields = ("display_name", "field_name", "=source_id")
    search_help_text = "Name, field, or OpenAlex id (T123.../C123... or full URL)."
    readonly_fields = ("updated_at",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # Topics and legacy concepts share the table.
        if (by_id := source_id_search(queryset, search_term, "topic", "concept")) is not None:
            return by_id, False
        return super().get_search_results(request, queryset, search_term)
