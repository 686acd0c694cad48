"""Admin for cycles and goals.

One write path: objectives, key results and KPI readings are saved through
``goals.services`` so that validation, progress and roll-up are the same as everywhere
else. Goals with history use django-simple-history's admin (who changed what, when).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from alignment.admin import ArchiveAdminMixin, ArchivedListFilter, archived
from goals import services
from goals.access import CLOSED_CYCLE
from goals.forms import KeyResultFormBase
from goals.models import (
    Cycle,
    Dependency,
    Initiative,
    KeyResult,
    Kpi,
    KpiReading,
    Objective,
    Reflection,
)


def closed_to(request: HttpRequest, cycle: Cycle | None) -> bool:
    """A closed cycle's goals are read-only in the admin too, except for superusers."""
    return cycle is not None and cycle.is_closed and not request.user.is_superuser


class ClosedCycleReadOnly:
    """Change forms of goals in a closed cycle are read-only for staff who are not
    superusers (the same rule as pages and API: ``goals.access``)."""

    def cycle_of(self, obj) -> Cycle | None:
        raise NotImplementedError

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is not None and closed_to(request, self.cycle_of(obj)):
            return False
        return super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        obj = args[0] if args else None  # inlines are asked with the parent
        if obj is not None and closed_to(request, self.cycle_of(obj)):
            return False
        return super().has_add_permission(request, *args)

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        """Adding a goal into a closed cycle is refused like changing one."""
        form = super().get_form(request, obj, change=change, **kwargs)
        cycle_of = self.cycle_of

        class RefusesClosedCycles(form):
            def _post_clean(self) -> None:
                super()._post_clean()
                try:
                    cycle = cycle_of(self.instance)
                except ObjectDoesNotExist:  # the parent row is missing: its field says so
                    return
                if closed_to(request, cycle):
                    self.add_error(None, CLOSED_CYCLE)

        return RefusesClosedCycles

    def _open_rows(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        closed = [obj.pk for obj in queryset if closed_to(request, self.cycle_of(obj))]
        if closed:
            self.message_user(
                request,
                f"{len(closed)} selected in a closed cycle left as they are: {CLOSED_CYCLE}",
                messages.WARNING,
            )
        return queryset.exclude(pk__in=closed)

    @admin.action(description="Archive selected %(verbose_name_plural)s")
    def archive_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().archive_selected(request, self._open_rows(request, queryset))

    @admin.action(description="Restore selected %(verbose_name_plural)s")
    def restore_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().restore_selected(request, self._open_rows(request, queryset))


@admin.display(description="progress", ordering="progress")
def progress_percent(obj: Objective | KeyResult) -> str:
    return f"{obj.progress:.0%}"


class KeyResultForm(KeyResultFormBase):
    class Meta(KeyResultFormBase.Meta):
        fields = "__all__"


class KeyResultInline(ClosedCycleReadOnly, admin.TabularInline):
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

    def cycle_of(self, obj: Objective) -> Cycle:
        return obj.cycle


@admin.register(Cycle)
class CycleAdmin(SimpleHistoryAdmin):
    list_display = ["name", "start_date", "end_date", "state"]
    list_filter = ["state"]
    search_fields = ["name"]
    readonly_fields = ["closed_at", "closed_by"]

    def save_model(self, request: HttpRequest, obj: Cycle, form, change) -> None:
        if "state" in form.changed_data and obj.is_closed:
            obj.closed_by = request.user  # the form's validation already set closed_at
        services.cycle_save(cycle=obj, actor=request.user)


@admin.register(Objective)
class ObjectiveAdmin(ClosedCycleReadOnly, ArchiveAdminMixin, SimpleHistoryAdmin):
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

    def cycle_of(self, obj: Objective) -> Cycle:
        return obj.cycle

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
class KeyResultAdmin(ClosedCycleReadOnly, ArchiveAdminMixin, SimpleHistoryAdmin):
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
        (
            "Grade",
            {
                "description": "Graded on the cycle's grading page, where the reason rule "
                "and the grading window apply; every change is in the history.",
                "fields": ["grade", "grade_reason", "graded_at", "graded_by"],
            },
        ),
    ]
    readonly_fields = [
        "current_value",
        progress_percent,
        "last_checkin_at",
        "created_at",
        "updated_at",
        "grade",
        "grade_reason",
        "graded_at",
        "graded_by",
    ]

    def save_model(self, request, obj, form, change) -> None:
        services.key_result_save(
            key_result=obj, actor=request.user, reason=form.cleaned_data.get("reason", "")
        )

    def cycle_of(self, obj: KeyResult) -> Cycle:
        return obj.objective.cycle

    def archive(self, obj: KeyResult) -> None:
        services.key_result_archive(key_result=obj)

    def restore(self, obj: KeyResult) -> None:
        obj.archived_at = None
        services.key_result_save(key_result=obj)


@admin.register(Initiative)
class InitiativeAdmin(ClosedCycleReadOnly, ArchiveAdminMixin, SimpleHistoryAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["title", "key_result", "owner", "status", "due_date", archived]
    list_filter = ["status", ArchivedListFilter]
    list_select_related = ["key_result", "owner"]
    search_fields = ["title", "key_result__title"]
    date_hierarchy = "due_date"
    autocomplete_fields = ["key_result", "owner"]
    readonly_fields = ["created_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def cycle_of(self, obj: Initiative) -> Cycle:
        return obj.key_result.objective.cycle


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


@admin.register(Reflection)
class ReflectionAdmin(SimpleHistoryAdmin):
    """Reflections are written on the objective's reflection page; here they are read
    for audit and searched."""

    list_display = ["objective", "objective_cycle", "objective_team", "author", "updated_at"]
    list_filter = ["objective__cycle", "objective__team"]
    list_select_related = ["objective__cycle", "objective__team", "author"]
    search_fields = [
        "objective__title",
        "what_changed",
        "what_worked",
        "what_did_not",
        "learned",
        "next_focus",
    ]
    readonly_fields = [
        "objective",
        "what_changed",
        "what_worked",
        "what_did_not",
        "learned",
        "next_focus",
        "author",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="cycle", ordering="objective__cycle__start_date")
    def objective_cycle(self, obj: Reflection) -> Cycle:
        return obj.objective.cycle

    @admin.display(description="team", ordering="objective__team__name")
    def objective_team(self, obj: Reflection):
        return obj.objective.team

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
