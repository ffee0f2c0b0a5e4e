"""Admin for institutions, sources and topics (autocomplete targets).

Works and authorships are corrected through the curation services, so their admins live
in bzpeer/curation/admin.py; the helpers every admin shares are in bzpeer/admin_toolkit.py.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from bzpeer.admin_toolkit import (
    BaseAdmin,
    BigTableAdmin,
    ReadOnlyAdminMixin,
    related_object_filter,
    source_id_search,
)
from bzpeer.identifiers import normalize_ror

from .models import (
    ImportedPart,
    Institution,
    Source,
    Topic,
    TouchedResearcher,
    TouchedWork,
    WorkTitleSearch,
)

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


# --- importer bookkeeping ---------------------------------------------------------------------


@admin.register(TouchedResearcher)
class TouchedResearcherAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    """Researchers waiting for the refresh after an import (empty when none is due)."""

    list_display = ("researcher_id", "touched_at", "recount")
    search_fields = ("=researcher_id",)


@admin.register(TouchedWork)
class TouchedWorkAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    """Works whose co-author pairs wait for the refresh after an import."""

    list_display = ("work_id", "touched_at", "departed_ids")
    search_fields = ("=work_id",)


@admin.register(ImportedPart)
class ImportedPartAdmin(ReadOnlyAdminMixin, BaseAdmin):
    """Snapshot files imported whole (a rerun skips them)."""

    list_display = ("path", "entity", "records", "bad", "manifest_records", "imported_at")
    list_filter = ("entity",)
    search_fields = ("path",)


# --- search ------------------------------------------------------------------------------------


@admin.register(WorkTitleSearch)
class WorkTitleSearchAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    """Derived rows (kept by triggers on works): read-only, for checking."""

    list_display = ("work", "cited_by_count", "type", "publication_year")
    list_select_related = ("work",)
    list_filter = (related_object_filter("work"),)
    search_fields = ("=work__id",)
    autocomplete_fields = ("work",)
