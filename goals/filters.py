"""Query-string filters of the goals API (django-filter). A value that is not valid for
its filter (a word for an id, an unknown kind) answers 400 naming the parameter."""

from __future__ import annotations

from django import forms
from django_filters import rest_framework as filters
from rest_framework.filters import OrderingFilter

from goals.models import Cycle, Initiative, KeyResult, Kpi, KpiReading, Objective
from okr_site.api import FilterBackend, FilterSet

# The largest id a 64-bit key holds: bigger numbers are typing errors, not ids.
MAX_ID = 2**63 - 1


class IdFilter(filters.NumberFilter):
    """An id: a whole positive number (``NumberFilter`` alone would take "1.5" as 1)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class StableOrdering(OrderingFilter):
    """``?ordering=`` with ties broken by id, so that paging through a list ordered by
    progress or title neither repeats nor skips a row."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if not {"id", "-id", "pk", "-pk"} & set(ordering):
            ordering.append("id")
        return ordering


FILTER_BACKENDS = [FilterBackend, StableOrdering]


class ArchivedFilterSet(FilterSet):
    """Lists show active rows unless ``archived=true`` asks for the archived ones."""

    archived = filters.BooleanFilter(
        method="filter_archived",
        help_text="`true`: archived rows only. Without it (or `false`): active rows only.",
    )

    def filter_archived(self, queryset, name, value):
        return queryset.filter(archived_at__isnull=not value)

    @classmethod
    def without_parameters(cls, queryset):
        return queryset.filter(archived_at__isnull=True)

    def filter_queryset(self, queryset):
        if self.form.cleaned_data.get("archived") is None:
            queryset = self.without_parameters(queryset)
        return super().filter_queryset(queryset)


class CycleFilter(FilterSet):
    class Meta:
        model = Cycle
        fields = ["state"]


class ObjectiveFilter(ArchivedFilterSet):
    cycle = IdFilter(field_name="cycle")
    team = IdFilter(field_name="team")
    owner = IdFilter(field_name="owner")
    parent = IdFilter(field_name="parent", help_text="Objectives aligned to this one.")
    state = filters.ChoiceFilter(
        field_name="cycle__state", choices=Cycle.State.choices, help_text="The cycle's state."
    )

    class Meta:
        model = Objective
        fields = ["cycle", "team", "owner", "kind", "visibility", "parent", "state", "archived"]


class KeyResultFilter(ArchivedFilterSet):
    objective = IdFilter(field_name="objective")
    owner = IdFilter(field_name="owner")
    cycle = IdFilter(field_name="objective__cycle", help_text="The objective's cycle.")

    class Meta:
        model = KeyResult
        fields = ["objective", "owner", "cycle", "kind", "progress_source", "archived"]


class InitiativeFilter(ArchivedFilterSet):
    key_result = IdFilter(field_name="key_result")
    objective = IdFilter(
        field_name="key_result__objective", help_text="The key result's objective."
    )
    owner = IdFilter(field_name="owner")

    class Meta:
        model = Initiative
        fields = ["key_result", "objective", "owner", "status", "archived"]


class KpiFilter(ArchivedFilterSet):
    team = IdFilter(field_name="team")

    class Meta:
        model = Kpi
        fields = ["team", "direction", "archived"]


class KpiReadingFilter(FilterSet):
    read_on = filters.DateFromToRangeFilter(
        help_text="`read_on_after` / `read_on_before`: readings on or between these dates."
    )

    class Meta:
        model = KpiReading
        fields = ["read_on"]
