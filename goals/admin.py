"""Admin for cycles and goals.

One write path: objectives, key results and KPI readings are saved through
``goals.services`` so that validation, progress and roll-up are the same as everywhere
else. Goals with history use django-simple-history's admin (who changed what, when).
"""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from alignment.admin import ArchiveAdminMixin, ArchivedListFilter, archived
from goals import services
from goals.forms import KeyResultFormBase
from goals.models import Cycle, Dependency, Initiative, KeyResult, Kpi, KpiReading, Objective


@admin.display(description="progress", ordering="progress")
def progress_percent(obj: Objective | KeyResult) -> str:
    return f"{obj.progress:.0%}"


class KeyResultForm(KeyResultFormBase):
    class Meta(KeyResultFormBase.Meta):
        fields = "__all__"


class KeyResultInline(admin.TabularInline):
    model = KeyResult
    form = KeyResultForm
    fields = [
        "title",
        "owner",
        "kind",
        "unit",
        "start_value",
        "target_value",
        "current_value",
        "weight",
        "confidence",
        "progress_source",
        "position",
        "reason",
        progress_percent,
        archived,
    ]
    readonly_fields = ["current_value", progress_percent, archived]
    autocomplete_fields = ["owner"]
    extra = 0
    show_change_link = True

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # archive the key result from its own page instead


@admin.register(Cycle)
class CycleAdmin(SimpleHistoryAdmin):
    list_display = ["name", "start_date", "end_date", "state"]
    list_filter = ["state"]
    search_fields = ["name"]


@admin.register(Objective)
class ObjectiveAdmin(ArchiveAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "title",
        "team",
        "owner",
        "cycle",
        "kind",
        "visibility",
        progress_percent,
        archived,
    ]
    list_filter = ["cycle", "kind", "visibility", ArchivedListFilter, "team"]
    list_select_related = ["team", "owner", "cycle"]
    search_fields = ["title", "owner__username", "owner__first_name", "owner__last_name"]
    autocomplete_fields = ["cycle", "team", "owner", "parent", "parent_key_result", "supports"]
    fieldsets = [
        (
            None,
            {"fields": ["title", "description", "cycle", "team", "owner", "kind", "visibility"]},
        ),
        ("Alignment", {"fields": ["parent", "parent_key_result", "parent_weight", "supports"]}),
        ("State", {"fields": [progress_percent, "created_at", "updated_at", "archived_at"]}),
    ]
    readonly_fields = [progress_percent, "created_at", "updated_at"]
    inlines = [KeyResultInline]

    def save_model(self, request, obj, form, change) -> None:
        services.objective_save(objective=obj)

    def save_formset(self, request, form, formset, change) -> None:
        # Key results are the only inline; each goes through the service so that its
        # progress and the objective's follow. save(commit=False) sets the objective.
        reasons = {id(row.instance): row.cleaned_data.get("reason", "") for row in formset.forms}
        for key_result in formset.save(commit=False):
            services.key_result_save(
                key_result=key_result, actor=request.user, reason=reasons.get(id(key_result), "")
            )

    def archive(self, obj: Objective) -> None:
        services.objective_archive(objective=obj)

    def restore(self, obj: Objective) -> None:
        obj.archived_at = None
        services.objective_save(objective=obj)


@admin.register(KeyResult)
class KeyResultAdmin(ArchiveAdminMixin, SimpleHistoryAdmin):
    form = KeyResultForm
    list_display = [
        "title",
        "objective",
        "owner",
        "start_value",
        "current_value",
        "target_value",
        progress_percent,
        "confidence",
        "last_checkin_at",
        archived,
    ]
    list_filter = [
        "objective__cycle",
        "kind",
        "progress_source",
        ArchivedListFilter,
        "objective__team",
    ]
    list_select_related = ["objective", "owner"]
    search_fields = ["title", "objective__title"]
    autocomplete_fields = ["objective", "owner"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "objective",
                    "title",
                    "owner",
                    "kind",
                    "unit",
                    ("start_value", "target_value"),
                    "weight",
                    "confidence",
                    "progress_source",
                    "position",
                    "reason",
                ]
            },
        ),
        (
            "State",
            {
                "description": "The current value follows check-ins: add a check-in to move it.",
                "fields": [
                    "current_value",
                    progress_percent,
                    "last_checkin_at",
                    "created_at",
                    "updated_at",
                    "archived_at",
                ],
            },
        ),
    ]
    readonly_fields = [
        "current_value",
        progress_percent,
        "last_checkin_at",
        "created_at",
        "updated_at",
    ]

    def save_model(self, request, obj, form, change) -> None:
        services.key_result_save(
            key_result=obj, actor=request.user, reason=form.cleaned_data.get("reason", "")
        )

    def archive(self, obj: KeyResult) -> None:
        services.key_result_archive(key_result=obj)

    def restore(self, obj: KeyResult) -> None:
        obj.archived_at = None
        services.key_result_save(key_result=obj)


@admin.register(Initiative)
class InitiativeAdmin(ArchiveAdminMixin, SimpleHistoryAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["title", "key_result", "owner", "status", "due_date", archived]
    list_filter = ["status", ArchivedListFilter]
    list_select_related = ["key_result", "owner"]
    search_fields = ["title", "key_result__title"]
    date_hierarchy = "due_date"
    autocomplete_fields = ["key_result", "owner"]
    readonly_fields = ["created_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class KpiReadingInline(admin.TabularInline):
    """Past readings, read-only: history is never edited. New ones: "Add KPI reading"."""

    model = KpiReading
    fields = readonly_fields = ["read_on", "value", "recorded_by", "created_at"]
    extra = 0

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("recorded_by")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Kpi)
class KpiAdmin(ArchiveAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "name",
        "team",
        "direction",
        "green_threshold",
        "red_threshold",
        "latest_value",
        "latest_read_on",
        "health",
        archived,
    ]
    list_filter = ["direction", ArchivedListFilter, "team"]
    list_select_related = ["team"]
    search_fields = ["name", "team__name"]
    autocomplete_fields = ["team", "guarded_objectives"]
    readonly_fields = ["latest_value", "latest_read_on", "created_at"]
    inlines = [KpiReadingInline]

    @admin.display(description="health")
    def health(self, obj: Kpi) -> str:
        return Kpi.Health(obj.health).label


@admin.register(KpiReading)
class KpiReadingAdmin(admin.ModelAdmin):
    """Readings are added through the service (the KPI's latest value follows), never
    changed or deleted."""

    list_display = ["kpi", "read_on", "value", "recorded_by"]
    list_filter = ["kpi__team"]
    list_select_related = ["kpi", "recorded_by"]
    search_fields = ["kpi__name"]
    date_hierarchy = "read_on"
    autocomplete_fields = ["kpi"]
    fields = ["kpi", "read_on", "value", "recorded_by", "created_at"]
    readonly_fields = ["recorded_by", "created_at"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        reading = services.kpi_record_reading(
            kpi=obj.kpi, read_on=obj.read_on, value=obj.value, recorded_by=request.user
        )
        # The admin logs and redirects with ``obj``: make it the row the service saved.
        obj.pk, obj.recorded_by = reading.pk, reading.recorded_by


@admin.register(Dependency)
class DependencyAdmin(SimpleHistoryAdmin):
    list_display = [
        "requesting_objective",
        "providing_team",
        "providing_objective",
        "needed_by",
        "state",
        "requested_by",
    ]
    list_filter = ["state", "providing_team"]
    list_select_related = [
        "requesting_objective",
        "providing_team",
        "providing_objective",
        "requested_by",
    ]
    search_fields = ["description", "requesting_objective__title", "providing_team__name"]
    date_hierarchy = "needed_by"
    autocomplete_fields = [
        "requesting_objective",
        "providing_team",
        "providing_objective",
        "requested_by",
        "responded_by",
    ]
    readonly_fields = ["created_at"]
