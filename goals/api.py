"""REST API of goals: cycles, objectives, key results, initiatives, KPIs and their
readings (DRF viewsets, registered by okr_site/api_urls.py).

Serializers give the shape and check the input; the viewsets write through
``goals.services`` after the rules of ``goals.access``, so the API and the pages share
one set of rules. Reads are scoped to what the person may read (another team's private
objective answers 404, and its id is "not found" when given as a parent); a write they
may not make answers 403 with the reason. DELETE archives: history is kept.
"""

from __future__ import annotations

import copy
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import F, OuterRef, Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.response import Response

from alignment.models import Team, User
from goals import access, services
from goals.filters import (
    FILTER_BACKENDS,
    CycleFilter,
    InitiativeFilter,
    KeyResultFilter,
    KpiFilter,
    KpiReadingFilter,
    ObjectiveFilter,
)
from goals.models import (
    CONFIDENCE_MESSAGE,
    WEIGHT_MESSAGE,
    Cycle,
    Initiative,
    KeyResult,
    Kpi,
    KpiReading,
    Objective,
    readable_objectives,
)
from goals.queries import IdsOf
from okr_site.api import (
    NOT_FOUND,
    Id,
    ListFromRows,
    Number,
    list_errors,
    one_errors,
    write_errors,
)

ACTIVE_PEOPLE = User.objects.filter(is_active=True)
ACTIVE_TEAMS = Team.objects.filter(archived_at__isnull=True)
WEIGHT_ERRORS = {"min_value": WEIGHT_MESSAGE}
CONFIDENCE_ERRORS = {"min_value": CONFIDENCE_MESSAGE, "max_value": CONFIDENCE_MESSAGE}
ARCHIVED_KEY_RESULT = "This key result is archived; an admin can restore it."
ARCHIVED_INITIATIVE = "This initiative is archived; an admin can restore it."


# --- What the serializers share ------------------------------------------------------------


class GoalSerializer(serializers.ModelSerializer):
    """Decimals refuse NaN and infinity by name; relations are ids (``Id``)."""

    serializer_related_field = Id
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DecimalField: Number,
    }


def guardable_objectives(user) -> models.QuerySet[Objective]:
    """Objectives a KPI may guard: readable, active, in a cycle that is not closed."""
    return Objective.objects.visible_to(user).active().exclude(cycle__state=Cycle.State.CLOSED)


class ReadableObjective(Id):
    """The id of an objective the person may read; any other id "does not exist", so a
    private objective's id reveals nothing."""

    def get_queryset(self):
        return Objective.objects.visible_to(self.context["request"].user)


class GuardableObjective(Id):
    def get_queryset(self):
        return guardable_objectives(self.context["request"].user)


class ReadableKeyResult(Id):
    """The id of a key result of an objective the person may read."""

    def get_queryset(self):
        readable = Objective.objects.visible_to(self.context["request"].user)
        return KeyResult.objects.filter(objective__in=readable.values("pk"))


def with_changes(serializer: serializers.ModelSerializer, data: dict) -> models.Model:
    """The row as this write would leave it (a copy: nothing is changed or saved)."""
    model = serializer.Meta.model
    row = copy.copy(serializer.instance) if serializer.instance is not None else model()
    columns = {field.name for field in model._meta.concrete_fields}
    for name, value in data.items():
        if name in columns:
            setattr(row, name, value)
    return row


def check_constraints(row: models.Model, field_of: dict[str, str]) -> None:
    """Check the named constraints of ``row``'s model and report each violation under the
    field it is about. (Django reports a rule spanning several fields as
    ``non_field_errors``; the person needs to know which value to change.)"""
    errors: dict[str, list[str]] = {}
    for constraint in row._meta.constraints:
        if constraint.name not in field_of:
            continue
        try:
            constraint.validate(type(row), row)
        except DjangoValidationError as error:
            errors.setdefault(field_of[constraint.name], []).extend(error.messages)
    if errors:
        raise serializers.ValidationError(errors)


def stays(serializer: serializers.ModelSerializer, name: str, value, message: str):
    """Refuse to change ``name`` of an existing row (set once, when it is created)."""
    instance = serializer.instance
    if instance is not None and getattr(instance, f"{name}_id") != value.pk:
        raise serializers.ValidationError(message)
    return value


# --- Serializers -----------------------------------------------------------------------------


class CycleSerializer(serializers.ModelSerializer):
    expected_progress = serializers.FloatField(
        read_only=True, help_text="Fraction of the cycle elapsed today, from 0 to 1."
    )

    class Meta:
        model = Cycle
        fields = ["id", "name", "start_date", "end_date", "state", "expected_progress"]

    def validate(self, data: dict) -> dict:
        check_constraints(with_changes(self, data), {"cycle_ends_after_start": "end_date"})
        return data


class ObjectiveSerializer(GoalSerializer):
    owner = Id(
        queryset=ACTIVE_PEOPLE, required=False, help_text="Defaults to the person creating it."
    )
    parent = ReadableObjective(
        required=False, allow_null=True, help_text="The objective this one counts towards."
    )
    parent_key_result = ReadableKeyResult(
        required=False,
        allow_null=True,
        help_text="Optionally, the parent's key result this objective serves (it sets the "
        "parent when that is left out).",
    )
    # Annotations of the queryset: no team or person rows to build for two names.
    team_slug = serializers.CharField(read_only=True)
    owner_username = serializers.CharField(read_only=True)

    class Meta:
        model = Objective
        fields = [
            "id",
            "title",
            "description",
            "cycle",
            "team",
            "team_slug",
            "owner",
            "owner_username",
            "parent",
            "parent_key_result",
            "parent_weight",
            "kind",
            "visibility",
            "progress",
            "archived_at",
        ]
        read_only_fields = ["archived_at"]
        extra_kwargs = {
            "progress": {"help_text": "Weighted mean of its key results' progress, 0 to 1."},
            "parent_weight": {"error_messages": WEIGHT_ERRORS},
        }

    def validate_team(self, team: Team) -> Team:
        instance = self.instance
        if team.archived_at is not None and (instance is None or instance.team_id != team.pk):
            raise serializers.ValidationError("This team is archived.")
        return team


class KeyResultSerializer(GoalSerializer):
    objective = ReadableObjective(help_text="Set when it is created; it stays there.")
    owner = Id(
        queryset=ACTIVE_PEOPLE, required=False, help_text="Defaults to the objective's owner."
    )
    owner_username = serializers.CharField(read_only=True)  # an annotation
    reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        help_text="Why the baseline or target moves: required when they change while the "
        "cycle is active (shown again at grading).",
    )

    class Meta:
        model = KeyResult
        fields = [
            "id",
            "objective",
            "title",
            "owner",
            "owner_username",
            "kind",
            "unit",
            "start_value",
            "target_value",
            "current_value",
            "weight",
            "confidence",
            "progress",
            "progress_source",
            "position",
            "last_checkin_at",
            "archived_at",
            "reason",
        ]
        read_only_fields = ["current_value", "position", "archived_at"]
        extra_kwargs = {
            "start_value": {"required": False, "help_text": "From X (0 for a milestone)."},
            "target_value": {"required": False, "help_text": "… to Y (1 for a milestone)."},
            "current_value": {"help_text": "The latest check-in's value: moved by check-ins."},
            "weight": {"error_messages": WEIGHT_ERRORS},
            "confidence": {
                "error_messages": CONFIDENCE_ERRORS,
                "help_text": "1 to 10; each check-in sets it.",
            },
            "progress": {"help_text": "(current − start) / (target − start), 0 to 1."},
        }

    def validate_objective(self, objective: Objective) -> Objective:
        return stays(self, "objective", objective, "A key result stays with its objective.")

    def validate(self, data: dict) -> dict:
        row = with_changes(self, data)
        ends = ("start_value", "target_value")
        missing = [name for name in ends if getattr(row, name) is None]
        if missing and row.kind == KeyResult.Kind.MILESTONE:  # not done (0) → done (1)
            return {"start_value": Decimal(0), "target_value": Decimal(1), **data}
        if missing:
            message = "Enter a number: a key result goes from X to Y."
            raise serializers.ValidationError(dict.fromkeys(missing, message))
        return data


class InitiativeSerializer(GoalSerializer):
    key_result = ReadableKeyResult(help_text="Set when it is created; it stays there.")
    owner = Id(
        queryset=ACTIVE_PEOPLE, required=False, help_text="Defaults to the key result's owner."
    )

    class Meta:
        model = Initiative
        fields = [
            "id",
            "key_result",
            "title",
            "owner",
            "status",
            "due_date",
            "link",
            "created_at",
            "archived_at",
        ]
        read_only_fields = ["archived_at"]

    def validate_key_result(self, key_result: KeyResult) -> KeyResult:
        if self.instance is None and key_result.archived_at is not None:
            raise serializers.ValidationError(ARCHIVED_KEY_RESULT)
        return stays(self, "key_result", key_result, "An initiative stays with its key result.")


class KpiSerializer(GoalSerializer):
    team = Id(queryset=ACTIVE_TEAMS, help_text="Set when it is created; it stays there.")
    team_slug = serializers.CharField(read_only=True)  # an annotation
    guarded_objectives = GuardableObjective(
        many=True,
        required=False,
        help_text="Objectives flagged when this KPI turns red. Lists those you may read; "
        "links to others stay as they are.",
    )
    health = serializers.ChoiceField(choices=Kpi.Health.choices, read_only=True)

    class Meta:
        model = Kpi
        fields = [
            "id",
            "team",
            "team_slug",
            "name",
            "description",
            "unit",
            "direction",
            "green_threshold",
            "red_threshold",
            "guarded_objectives",
            "latest_value",
            "latest_read_on",
            "health",
            "archived_at",
        ]
        read_only_fields = ["archived_at"]
        validators = []  # the constraints are checked in validate(), beside their field

    def validate_team(self, team: Team) -> Team:
        return stays(self, "team", team, "A KPI stays with its team.")

    def validate(self, data: dict) -> dict:
        check_constraints(
            with_changes(self, data),
            {"kpi_thresholds_ordered": "green_threshold", "kpi_name_unique_per_team": "name"},
        )
        return data


class KpiReadingSerializer(GoalSerializer):
    class Meta:
        model = KpiReading
        fields = ["id", "read_on", "value", "recorded_by", "created_at"]
        read_only_fields = ["recorded_by"]

    def validate(self, data: dict) -> dict:
        reading = KpiReading(kpi=self.context["view"].kpi, **data)
        check_constraints(reading, {"kpi_reading_once_per_day": "read_on"})
        return data


# --- Viewsets --------------------------------------------------------------------------------


ALL_OPERATIONS = ("list", "retrieve", "create", "update", "partial_update", "destroy")


def documented(things: str, a_thing: str, serializer, operations=ALL_OPERATIONS):
    """Summaries and error responses (as okr_site.api.exception_handler writes them) of
    a viewset's operations; DELETE is documented as archiving."""
    change = {200: serializer, **write_errors(), 404: NOT_FOUND}
    schemas = {
        "list": extend_schema(
            summary=f"List {things}", responses={200: serializer, **list_errors()}
        ),
        "retrieve": extend_schema(
            summary=f"Read {a_thing}", responses={200: serializer, **one_errors()}
        ),
        "create": extend_schema(
            summary=f"Create {a_thing}", responses={201: serializer, **write_errors()}
        ),
        "update": extend_schema(summary=f"Change {a_thing}", responses=change),
        "partial_update": extend_schema(summary=f"Change part of {a_thing}", responses=change),
        "destroy": extend_schema(
            summary=f"Archive {a_thing}",
            description=f"Deleting archives {a_thing}: its history is kept and an admin can "
            "restore it. Lists leave archived rows out unless `archived=true`.",
            responses={204: None, **one_errors()},
        ),
    }
    return extend_schema_view(**{operation: schemas[operation] for operation in operations})


class AdminsChangeCycles(permissions.BasePermission):
    message = "Only admins can create or change cycles."

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or request.user.is_superuser


@documented("cycles", "a cycle", CycleSerializer, ALL_OPERATIONS[:-1])
class CycleViewSet(
    ListFromRows,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Cycles: read by everyone signed in, created and changed (e.g. planning → active →
    closed) by admins only; never deleted."""

    queryset = Cycle.objects.all()
    serializer_class = CycleSerializer
    permission_classes = [permissions.IsAuthenticated, AdminsChangeCycles]
    filter_backends = FILTER_BACKENDS
    filterset_class = CycleFilter
    ordering_fields = ["start_date", "end_date", "name", "id"]
    ordering = ["-start_date", "id"]
    lookup_value_regex = r"\d+"
    computed_fields = ("expected_progress",)

    def complete(self, items: list[dict], rows: list[dict]) -> None:
        for item, row in zip(items, rows, strict=True):
            item["expected_progress"] = Cycle(**row).expected_progress()

    def perform_create(self, serializer) -> None:
        cycle = Cycle(**serializer.validated_data)
        serializer.instance = services.cycle_save(cycle=cycle, actor=self.request.user)

    def perform_update(self, serializer) -> None:
        for name, value in serializer.validated_data.items():
            setattr(serializer.instance, name, value)
        services.cycle_save(cycle=serializer.instance, actor=self.request.user)


class ArchivingViewSet(
    ListFromRows,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Reads come from ``get_queryset``, scoped to what the person may read. Writes load
    the row with ``load_for_write`` (an access helper: 404, or 403 with the reason, before
    the input is looked at), write through a service and answer with the row read again.
    DELETE archives (``archive``)."""

    filter_backends = FILTER_BACKENDS
    lookup_value_regex = r"\d+"

    def get_object(self):
        pk = self.kwargs["pk"]
        if self.request.method in permissions.SAFE_METHODS:
            return get_object_or_404(self.get_queryset(), pk=pk)
        return self.load_for_write(pk)

    def load_for_write(self, pk: str) -> models.Model:
        raise NotImplementedError

    def archive(self, row: models.Model) -> None:
        raise NotImplementedError

    def perform_destroy(self, instance) -> None:
        self.archive(instance)

    def reread(self, pk: int) -> models.Model:
        """The row as a read answers it (roll-ups written in SQL included)."""
        return self.get_queryset().get(pk=pk)


@documented("objectives", "an objective", ObjectiveSerializer)
class ObjectiveViewSet(ArchivingViewSet):
    """Objectives: public ones for everyone signed in; private ones for their team, the
    leads above it and admins. Written by the owner, the team's leads and admins."""

    queryset = Objective.objects.none()  # the model, for the schema; get_queryset scopes
    serializer_class = ObjectiveSerializer
    filterset_class = ObjectiveFilter
    ordering_fields = ["title", "progress", "id"]
    ordering = ["id"]

    def get_queryset(self):
        return Objective.objects.visible_to(self.request.user).annotate(
            team_slug=F("team__slug"), owner_username=F("owner__username")
        )

    def load_for_write(self, pk: str) -> Objective:
        return access.get_objective_for_user(self.request.user, pk, write=True)

    def perform_create(self, serializer) -> None:
        user = self.request.user
        objective = Objective(**{"owner": user, **serializer.validated_data})
        access.refuse(
            access.objective_create_refusal(
                user, team=objective.team, cycle=objective.cycle, owner=objective.owner
            )
        )
        services.objective_create(objective=objective, key_results=[], actor=user)
        serializer.instance = self.reread(objective.pk)

    def perform_update(self, serializer) -> None:
        objective, data = serializer.instance, serializer.validated_data
        moved = any(
            name in data and data[name].pk != getattr(objective, f"{name}_id")
            for name in ("team", "cycle", "owner")
        )
        for name, value in data.items():
            setattr(objective, name, value)
        if moved:  # where it goes must be somewhere the person may create it
            access.refuse(
                access.objective_create_refusal(
                    self.request.user,
                    team=objective.team,
                    cycle=objective.cycle,
                    owner=objective.owner,
                )
            )
        services.objective_save(objective=objective)
        serializer.instance = self.reread(objective.pk)

    def archive(self, row: Objective) -> None:
        services.objective_archive(objective=row)


@documented("key results", "a key result", KeyResultSerializer)
class KeyResultViewSet(ArchivingViewSet):
    """Key results, read and written as their objective is. The current value and
    confidence move through check-ins (``/check-ins/``)."""

    queryset = KeyResult.objects.none()
    serializer_class = KeyResultSerializer
    filterset_class = KeyResultFilter
    ordering_fields = ["title", "progress", "position", "last_checkin_at", "id"]
    # By the objective's id, not its ordering (cycle, team…): no join just to sort.
    ordering = ["objective_id", "position", "id"]

    def get_queryset(self):
        readable = readable_objectives(self.request.user, through="objective__")
        return KeyResult.objects.filter(readable).annotate(owner_username=F("owner__username"))

    def load_for_write(self, pk: str) -> KeyResult:
        key_result = access.get_key_result_for_user(self.request.user, pk, write=True)
        access.refuse(ARCHIVED_KEY_RESULT if key_result.archived_at else None)
        return key_result

    def perform_create(self, serializer) -> None:
        data = {**serializer.validated_data}
        data.pop("reason", None)  # a new key result has no goalposts to move
        key_result = KeyResult(**data)
        access.refuse(access.objective_write_refusal(self.request.user, key_result.objective))
        services.key_result_add(key_result=key_result, actor=self.request.user)
        serializer.instance = self.reread(key_result.pk)

    def perform_update(self, serializer) -> None:
        key_result, data = serializer.instance, {**serializer.validated_data}
        reason = data.pop("reason", "")
        for name, value in data.items():
            setattr(key_result, name, value)
        services.key_result_save(key_result=key_result, actor=self.request.user, reason=reason)
        serializer.instance = self.reread(key_result.pk)

    def archive(self, row: KeyResult) -> None:
        services.key_result_archive(key_result=row)


@documented("initiatives", "an initiative", InitiativeSerializer)
class InitiativeViewSet(ArchivingViewSet):
    """Initiatives: the work chosen to move a key result (never counted as progress). Read
    with their objective; written by its writers, the key result's owner and their own
    owner."""

    queryset = Initiative.objects.none()
    serializer_class = InitiativeSerializer
    filterset_class = InitiativeFilter
    ordering_fields = ["due_date", "title", "id"]
    ordering = ["id"]

    def get_queryset(self):
        readable = readable_objectives(self.request.user, through="key_result__objective__")
        return Initiative.objects.filter(readable)

    def load_for_write(self, pk: str) -> Initiative:
        initiative = access.get_initiative_for_user(self.request.user, pk, write=True)
        access.refuse(ARCHIVED_INITIATIVE if initiative.archived_at else None)
        return initiative

    def perform_create(self, serializer) -> None:
        initiative = Initiative(**serializer.validated_data)
        access.refuse(access.initiative_create_refusal(self.request.user, initiative.key_result))
        services.initiative_save(initiative=initiative)
        serializer.instance = self.reread(initiative.pk)

    def perform_update(self, serializer) -> None:
        initiative = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(initiative, name, value)
        services.initiative_save(initiative=initiative)
        serializer.instance = self.reread(initiative.pk)

    def archive(self, row: Initiative) -> None:
        services.initiative_archive(initiative=row)


@documented("KPIs", "a KPI", KpiSerializer)
class KpiViewSet(ArchivingViewSet):
    """KPIs: read by everyone signed in, written by the team's members, the leads above
    it and admins. Readings are under ``/kpis/{kpi_id}/readings/``."""

    queryset = Kpi.objects.none()
    serializer_class = KpiSerializer
    filterset_class = KpiFilter
    ordering_fields = ["name", "latest_read_on", "id"]
    ordering = ["id"]

    computed_fields = ("guarded_objectives", "health")
    row_columns = ("guarded_ids",)

    def get_queryset(self):
        kpis = Kpi.objects.annotate(team_slug=F("team__slug"))
        if self.action == "list":  # the page's links in its own query: see complete()
            readable_links = Kpi.guarded_objectives.through.objects.filter(
                readable_objectives(self.request.user, through="objective__"), kpi=OuterRef("pk")
            )
            return kpis.annotate(guarded_ids=IdsOf(readable_links, "objective_id"))
        guarded = Objective.objects.visible_to(self.request.user).only("pk").order_by("pk")
        return kpis.prefetch_related(Prefetch("guarded_objectives", queryset=guarded))

    def complete(self, items: list[dict], rows: list[dict]) -> None:
        for item, row in zip(items, rows, strict=True):
            item["guarded_objectives"] = sorted(row["guarded_ids"])
            thresholds = Kpi(
                direction=row["direction"],
                green_threshold=row["green_threshold"],
                red_threshold=row["red_threshold"],
            )
            item["health"] = thresholds.health_of(row["latest_value"])

    def load_for_write(self, pk: str) -> Kpi:
        return access.get_kpi_for_user(self.request.user, pk, write=True)

    def perform_create(self, serializer) -> None:
        data = {**serializer.validated_data}
        guarded = data.pop("guarded_objectives", [])
        kpi = Kpi(**data)
        access.refuse(access.kpi_write_refusal(self.request.user, kpi.team_id))
        services.kpi_save(kpi=kpi, guarded=guarded, editable=set())
        serializer.instance = self.reread(kpi.pk)

    def perform_update(self, serializer) -> None:
        kpi, data = serializer.instance, {**serializer.validated_data}
        guarded = data.pop("guarded_objectives", None)
        for name, value in data.items():
            setattr(kpi, name, value)
        if guarded is None:  # links left as they are
            services.kpi_save(kpi=kpi, guarded=[], editable=set())
        else:  # replaces the links the person could have chosen; keeps the others
            choosable = guardable_objectives(self.request.user).filter(guardrails=kpi)
            linked = set(choosable.values_list("pk", flat=True))
            services.kpi_save(kpi=kpi, guarded=guarded, editable=linked)
        serializer.instance = self.reread(kpi.pk)

    def archive(self, row: Kpi) -> None:
        services.kpi_archive(kpi=row)


@extend_schema_view(
    list=extend_schema(
        summary="List a KPI's readings, newest first",
        responses={200: KpiReadingSerializer, **list_errors()},
    ),
    create=extend_schema(
        summary="Record a reading of a KPI",
        description="The KPI's latest value follows its newest reading. One reading per KPI "
        "and day, not dated in the future.",
        responses={201: KpiReadingSerializer, **write_errors(), 404: NOT_FOUND},
    ),
)
class KpiReadingViewSet(ListFromRows, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """A KPI's dated readings: history, never edited or deleted."""

    queryset = KpiReading.objects.none()
    serializer_class = KpiReadingSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = KpiReadingFilter
    ordering_fields = ["read_on"]
    ordering = ["-read_on"]

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if self.action == "list":  # see list()
            return
        # 404 for no such KPI; 403 with the reason before any input is read.
        self.kpi = access.get_kpi_for_user(
            request.user,
            self.kwargs["kpi_id"],
            write=request.method not in permissions.SAFE_METHODS,
        )

    def get_queryset(self):
        return KpiReading.objects.filter(kpi_id=self.kwargs["kpi_id"])

    def list(self, request, *args, **kwargs) -> Response:
        """Everyone signed in reads every KPI, so a page of readings proves that its KPI
        is there: only an empty page asks (404 for no such KPI)."""
        response = super().list(request, *args, **kwargs)
        if not response.data["results"]:
            access.get_kpi_for_user(request.user, self.kwargs["kpi_id"])
        return response

    def perform_create(self, serializer) -> None:
        serializer.instance = services.kpi_record_reading(
            kpi=self.kpi, recorded_by=self.request.user, **serializer.validated_data
        )


def register(router) -> None:
    """Add this app's endpoints to the API router."""
    router.register("cycles", CycleViewSet, basename="cycle")
    router.register("objectives", ObjectiveViewSet, basename="objective")
    router.register("key-results", KeyResultViewSet, basename="key-result")
    router.register("initiatives", InitiativeViewSet, basename="initiative")
    router.register("kpis", KpiViewSet, basename="kpi")
    router.register(r"kpis/(?P<kpi_id>\d+)/readings", KpiReadingViewSet, basename="kpi-reading")
