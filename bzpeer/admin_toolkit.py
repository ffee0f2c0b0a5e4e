"""What every BZPEER admin shares: defaults for big tables, filters, form fields, the
identifier search and one two-step confirm action.

The works, authorships and researchers tables reach millions of rows. Three things keep
their changelists fast: no COUNT(*) of the whole table (`show_full_result_count`, and
`LargeTablePaginator` for the unfiltered list), no sidebar filter that runs SELECT DISTINCT
over a big column, and autocomplete (never a <select> of every row) for relations.

This module knows no app: admins import it, never the other way round.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.postgres.forms import SimpleArrayField
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Model, Q, QuerySet, URLField
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import urlencode

from bzpeer.identifiers import parse_source_id
from bzpeer.utils import parse_id

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
    return format_html('<pre class="bz-json">{}</pre>', text)


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
        if parse_id(value) is None:
            return [(value, f"{value} (not an id)")]
        related = model_admin.model._meta.get_field(self.parameter_name).related_model
        obj = related._default_manager.filter(pk=parse_id(value)).first()
        return [(value, str(obj) if obj else f"#{value}")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if parse_id(value) is None:
            return queryset.none()
        return queryset.filter(**{f"{self.parameter_name}_id": parse_id(value)})


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
# indexed column, before any free-text search. bzpeer.identifiers gives the stored form.
# ---------------------------------------------------------------------------


def source_id_search(queryset: QuerySet, term: str, *entities: str) -> QuerySet | None:
    """An exact match on the unique source id, or None when `term` is not such an id."""
    source_id = parse_source_id(term, *entities)
    return queryset.filter(source_id=source_id) if source_id else None


# ---------------------------------------------------------------------------
# The two-step confirm action
# ---------------------------------------------------------------------------

CONFIRM_TEMPLATE = "admin/confirm_action.html"


def confirm_action(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    rows: Sequence[Model],
    *,
    title: str,
    submit: str,
    columns: Sequence[tuple[str, Callable[[Any], Any]]],
    form_class: Callable[..., forms.Form],
    apply: Callable[[forms.Form], None],
    intro: str = "",
    note: str = "",
) -> TemplateResponse | None:
    """An admin action that asks before it acts.

    1. First POST (from the changelist): a page listing the selected `rows` (one cell per
       column: a label and a function of the row; cells are escaped unless marked safe),
       and the form `form_class(data=None)`.
    2. Second POST (`apply`, the rows still selected): `form_class(data=request.POST)`;
       when valid, `apply(form)` does the work and reports with message_user, and the
       changelist shows again. An invalid form shows the page again with its errors.
    """
    if "apply" in request.POST:
        form = form_class(data=request.POST)
        if form.is_valid():
            apply(form)
            return None
    else:
        form = form_class(data=None)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "submit": submit,
        "intro": intro,
        "note": note,
        "opts": model_admin.model._meta,
        "headers": [label for label, _ in columns],
        "table": [[cell(row) for _, cell in columns] for row in rows],
        "selected": [row.pk for row in rows],
        "form": form,
        "action": request.POST["action"],
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, CONFIRM_TEMPLATE, context)
