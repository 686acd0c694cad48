"""Cycles, objectives, key results, initiatives, KPIs and dependencies.

Stored ``progress`` fields are a cache of ``goals.progress`` math, written only by the
services in ``goals.services`` and ``alignment.rollup`` so that list pages never compute
roll-ups row by row.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from goals import progress as math

# Values are exact decimals: up to 14 digits before the point and 4 after. That bounds
# "absurd magnitudes" and rules out NaN and infinities, which DecimalField refuses.
VALUE_DIGITS = {"max_digits": 18, "decimal_places": 4}
EARLIEST_YEAR = 2000  # dates before this are typos, not history
CONFIDENCE_MESSAGE = "Confidence is a whole number from 1 to 10."
TARGET_EQUALS_START = "The target must differ from the start value."
WEIGHT_MESSAGE = "The weight must be greater than zero."
WEIGHT_VALIDATORS = [MinValueValidator(Decimal("0.01"), message=WEIGHT_MESSAGE)]
CONFIDENCE_VALIDATORS = [
    MinValueValidator(1, message=CONFIDENCE_MESSAGE),
    MaxValueValidator(10, message=CONFIDENCE_MESSAGE),
]


def progress_is_a_fraction(name: str) -> models.CheckConstraint:
    """The rule every stored progress obeys, named per table."""
    return models.CheckConstraint(
        condition=Q(progress__gte=0, progress__lte=1),
        name=name,
        violation_error_message="Progress is a fraction between 0 and 1.",
    )


class Cycle(models.Model):
    """A named period. Planning → active → closed; a closed cycle is read-only."""

    class State(models.TextChoices):
        PLANNING = "planning", "Planning"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=60, unique=True)
    start_date = models.DateField()
    end_date = models.DateField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PLANNING)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gt=F("start_date")),
                name="cycle_ends_after_start",
                violation_error_message="A cycle must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(state="closed", closed_at__isnull=False)
                | (~Q(state="closed") & Q(closed_at__isnull=True, closed_by__isnull=True)),
                name="cycle_closed_when_closed",
                violation_error_message="Only a closed cycle has a closing moment.",
            ),
        ]
        indexes = [
            # "Which cycles are active?" on every page that shows the current goals.
            models.Index(fields=["state", "-start_date"], name="cycle_state_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self._closing_follows_the_state()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "closed_at", "closed_by"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self._closing_follows_the_state()

    def _closing_follows_the_state(self) -> None:
        # When it closed goes with the state, however the state was set (closing it, the
        # API, the admin); a cycle set back to active has not closed (its history keeps
        # when it once did).
        if self.state != self.State.CLOSED:
            self.closed_at, self.closed_by = None, None
        elif self.closed_at is None:
            self.closed_at = timezone.now()

    @property
    def is_closed(self) -> bool:
        return self.state == self.State.CLOSED

    def expected_progress(self, on: date | None = None) -> float:
        return math.expected_progress(self.start_date, self.end_date, on or timezone.localdate())


def readable_objectives(user, *, access=None, through: str = "") -> Q:
    """The condition that an objective (reached through ``through``, such as
    ``"objective__"`` from a key result) is one ``user`` may read: public, their own, or
    private to a team they belong to, lead or sit above. A condition on the row's own
    join, not ``objective__in=<subquery>``: a list of key results then reads its cycle's
    objectives by index instead of every readable objective of every cycle. Pass the
    person's ``alignment.queries.TeamAccess`` when the page already loaded it; without
    it, the teams are a subquery of the same query."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_superuser or (access is not None and access.every_team):
        return Q()
    if access is None:
        from alignment.queries import readable_private_teams

        private_teams = readable_private_teams(user)
    else:
        private_teams = access.readable_private
    return (
        Q(**{f"{through}visibility": Objective.Visibility.PUBLIC})
        | Q(**{f"{through}owner": user})
        | Q(**{f"{through}team_id__in": private_teams})
    )


class ObjectiveQuerySet(models.QuerySet):
    def active(self) -> ObjectiveQuerySet:
        return self.filter(archived_at__isnull=True)

    def visible_to(self, user, *, access=None) -> ObjectiveQuerySet:
        """Objectives ``user`` may read (see ``readable_objectives``)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(readable_objectives(user, access=access))


class Objective(models.Model):
    """A qualitative destination, owned by one person in one team for one cycle."""

    class Kind(models.TextChoices):
        COMMITTED = "committed", "Committed"
        ASPIRATIONAL = "aspirational", "Aspirational"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private (team, leads above it, admins)"

    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="objectives")
    team = models.ForeignKey("alignment.Team", on_delete=models.PROTECT, related_name="objectives")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="objectives"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Why it matters.")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.COMMITTED)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="The objective this one counts towards (the cascade).",
    )
    parent_key_result = models.ForeignKey(
        "KeyResult",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="aligned_objectives",
        help_text="Optionally, the parent's key result this objective serves.",
    )
    parent_weight = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal(1),
        validators=WEIGHT_VALIDATORS,
        help_text="How much this objective counts in its parent key result's roll-up.",
    )
    supports = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="supported_by",
        help_text="Other objectives this one helps; shown, never counted.",
    )
    carried_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="carried_into",
        editable=False,
        help_text="The objective of an earlier cycle this one carries on.",
    )
    progress = models.FloatField(default=0.0, editable=False)
    # Kept by the roll-up with ``progress`` (``alignment.rollup``), so that "needs
    # attention" is a condition on the objective's own row, not two subqueries over
    # its key results for every objective of a cycle.
    lowest_confidence = models.PositiveSmallIntegerField(
        null=True, blank=True, editable=False, help_text="Of its active key results."
    )
    stalest_checkin_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="The oldest last check-in (or creation) of its active key results in "
        "check-in mode: stale when that is too long ago.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(
        excluded_fields=["progress", "lowest_confidence", "stalest_checkin_at", "updated_at"]
    )

    objects = ObjectiveQuerySet.as_manager()

    class Meta:
        ordering = ["cycle", "team__name", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=F("pk")),
                name="objective_not_own_parent",
                violation_error_message="An objective cannot be aligned to itself.",
            ),
            models.CheckConstraint(
                condition=Q(parent_weight__gt=0),
                name="objective_parent_weight_positive",
                violation_error_message=WEIGHT_MESSAGE,
            ),
            progress_is_a_fraction("objective_progress_fraction"),
            models.CheckConstraint(
                condition=Q(parent_key_result__isnull=True) | Q(parent__isnull=False),
                name="objective_parent_kr_needs_parent",
                violation_error_message="A parent key result needs its parent objective.",
            ),
        ]
        indexes = [
            # A team's objectives in a cycle (team page, cycle overview, team score).
            models.Index(fields=["cycle", "team"], name="objective_cycle_team_idx"),
            # A person's objectives in a cycle (home, person page).
            models.Index(fields=["owner", "cycle"], name="objective_owner_cycle_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("goals:objective", args=[self.pk])

    def clean(self) -> None:
        super().clean()
        if self.parent_key_result_id and self.parent_id is None:
            self.parent_id = self.parent_key_result.objective_id
        if self.parent_key_result_id and self.parent_key_result.objective_id != self.parent_id:
            raise ValidationError(
                {"parent_key_result": "Choose a key result of the parent objective."}
            )
        if self.parent_id is not None:
            self._refuse_alignment_loop()
            self._refuse_parent_in_another_period()

    def _refuse_alignment_loop(self) -> None:
        """The alignment graph is a forest: walking up from the new parent must never
        reach this objective. Every entry point (admin, forms, API, services) runs
        ``full_clean()``, so this is the one place the rule is checked in Python."""
        if self.pk is None:
            return  # a new objective has no children yet, so it cannot close a loop
        current, seen = self.parent_id, set()
        while current is not None and current not in seen:
            if current == self.pk:
                raise ValidationError(
                    {"parent": "That objective is aligned below this one: it would make a loop."}
                )
            seen.add(current)
            current = Objective.objects.filter(pk=current).values_list("parent_id", flat=True)[0]

    def _refuse_parent_in_another_period(self) -> None:
        """A parent counts only if its cycle overlaps this one (a quarter under a year)."""
        if self.cycle_id is None:
            return
        parent_cycle = Cycle.objects.filter(objectives__pk=self.parent_id).first()
        if parent_cycle and (
            parent_cycle.start_date > self.cycle.end_date
            or parent_cycle.end_date < self.cycle.start_date
        ):
            raise ValidationError(
                {"parent": f"The parent is in {parent_cycle}, which does not overlap {self.cycle}."}
            )

    def expected_progress(self, on: date | None = None) -> float:
        return self.cycle.expected_progress(on)


class KeyResult(models.Model):
    """A measurable outcome "from X to Y" under one objective."""

    class Kind(models.TextChoices):
        NUMBER = "number", "Number"
        PERCENT = "percent", "Percent"
        CURRENCY = "currency", "Currency"
        MILESTONE = "milestone", "Milestone (done / not done)"

    class ProgressSource(models.TextChoices):
        CHECKINS = "checkins", "Check-ins"
        ROLLUP = "rollup", "Objectives aligned to it"

    objective = models.ForeignKey(Objective, on_delete=models.PROTECT, related_name="key_results")
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="key_results",
        blank=True,
        help_text="Defaults to the objective's owner.",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NUMBER)
    unit = models.CharField(max_length=20, blank=True)
    start_value = models.DecimalField(**VALUE_DIGITS, help_text="The baseline: from X …")
    target_value = models.DecimalField(**VALUE_DIGITS, help_text="… to Y.")
    current_value = models.DecimalField(
        **VALUE_DIGITS, blank=True, help_text="The latest check-in's value (starts at X)."
    )
    weight = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal(1), validators=WEIGHT_VALIDATORS
    )
    confidence = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=CONFIDENCE_VALIDATORS
    )
    progress_source = models.CharField(
        max_length=10, choices=ProgressSource.choices, default=ProgressSource.CHECKINS
    )
    progress = models.FloatField(default=0.0, editable=False)
    position = models.PositiveIntegerField(default=0)
    last_checkin_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The honest score at the end of the cycle, 0.0–1.0; starts from the progress, and a
    # grade that departs from it says why. Its changes are kept in the history.
    grade = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    grade_reason = models.TextField(blank=True)
    graded_at = models.DateTimeField(null=True, blank=True, editable=False)
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["progress", "updated_at", "last_checkin_at"])

    class Meta:
        ordering = ["objective", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(start_value=F("target_value")),
                name="key_result_target_differs_from_start",
                violation_error_message=TARGET_EQUALS_START,
            ),
            models.CheckConstraint(
                condition=Q(weight__gt=0),
                name="key_result_weight_positive",
                violation_error_message=WEIGHT_MESSAGE,
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=1, confidence__lte=10),
                name="key_result_confidence_1_to_10",
                violation_error_message=CONFIDENCE_MESSAGE,
            ),
            models.CheckConstraint(
                condition=~Q(kind="milestone")
                | Q(start_value=0, target_value=1, current_value__in=[0, 1]),
                name="key_result_milestone_is_0_or_1",
                violation_error_message="A milestone goes from 0 (not done) to 1 (done).",
            ),
            progress_is_a_fraction("key_result_progress_fraction"),
            models.CheckConstraint(
                condition=Q(grade__isnull=True) | Q(grade__gte=0, grade__lte=1),
                name="key_result_grade_0_to_1",
                violation_error_message="A grade goes from 0.0 to 1.0.",
            ),
        ]
        indexes = [
            # A person's key results (home, weekly check-in page).
            models.Index(fields=["owner", "objective"], name="key_result_owner_idx"),
            # Due and stale key results (reminders, escalations, attention lists).
            models.Index(fields=["last_checkin_at"], name="key_result_last_checkin_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("goals:objective", args=[self.objective_id]) + f"#key-result-{self.pk}"

    def clean(self) -> None:
        super().clean()
        if self.owner_id is None and self.objective_id is not None:
            self.owner_id = self.objective.owner_id
        if self.kind == self.Kind.MILESTONE:
            self.start_value = Decimal(0) if self.start_value is None else self.start_value
            self.target_value = Decimal(1) if self.target_value is None else self.target_value
        if self.current_value is None:
            self.current_value = self.start_value
        # The database holds this rule too; saying it here puts the message beside the field.
        if self.start_value is not None and self.start_value == self.target_value:
            raise ValidationError({"target_value": TARGET_EQUALS_START})

    @property
    def is_milestone(self) -> bool:
        return self.kind == self.Kind.MILESTONE

    def goalpost_moves(self) -> list[tuple[str, Decimal, Decimal]]:
        """``(field, saved, new)`` for the baseline and target if they differ from the
        saved row while the cycle is active (one query; none for a new key result)."""
        if self.pk is None:
            return []
        saved = (
            KeyResult.objects.filter(pk=self.pk, objective__cycle__state=Cycle.State.ACTIVE)
            .values("start_value", "target_value")
            .first()
        )
        if saved is None:
            return []
        return [
            (field, saved[field], getattr(self, field))
            for field in ("start_value", "target_value")
            if saved[field] != getattr(self, field)
        ]

    def computed_progress(self) -> float:
        """Progress from the current value (check-in mode)."""
        return math.key_result_progress(
            self.start_value, self.target_value, self.current_value, milestone=self.is_milestone
        )

    @property
    def confidence_band(self) -> str:
        return math.confidence_band(self.confidence)

    def check_in_state(self, now=None) -> str:
        """``fresh``, ``due`` (6+ days without a check-in) or ``stale`` (14+ days)."""
        if (
            self.progress_source == self.ProgressSource.ROLLUP
            or self.objective.cycle.state != Cycle.State.ACTIVE
        ):
            return "fresh"
        limits = settings.WAYMARK
        since = self.last_checkin_at or self.created_at
        days = ((now or timezone.now()) - since).days
        if days >= limits["STALE_AFTER_DAYS"]:
            return "stale"
        if days >= limits["DUE_AFTER_DAYS"]:
            return "due"
        return "fresh"


class ObjectiveSnapshot(models.Model):
    """An objective's progress on a day, kept for charts of how it rolled up over time."""

    objective = models.ForeignKey(Objective, on_delete=models.PROTECT, related_name="snapshots")
    day = models.DateField()
    progress = models.FloatField()

    class Meta:
        ordering = ["objective", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["objective", "day"],
                name="objective_snapshot_once_a_day",
                violation_error_message="This objective already has a snapshot for that day.",
            ),
            progress_is_a_fraction("objective_snapshot_progress_fraction"),
        ]

    def __str__(self) -> str:
        return f"{self.objective}: {self.progress:.0%} on {self.day}"


class GoalpostChange(models.Model):
    """A change to a key result's baseline or target once its cycle is active, with the
    reason given. Shown on the key result, in its history and again at grading."""

    class Field(models.TextChoices):
        START = "start_value", "Baseline"
        TARGET = "target_value", "Target"

    key_result = models.ForeignKey(
        KeyResult, on_delete=models.PROTECT, related_name="goalpost_changes"
    )
    field = models.CharField(max_length=12, choices=Field.choices)
    old_value = models.DecimalField(**VALUE_DIGITS)
    new_value = models.DecimalField(**VALUE_DIGITS)
    reason = models.TextField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["key_result", "changed_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="goalpost_change_has_reason",
                violation_error_message="Say why the goalpost moved.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_field_display()} {self.old_value} → {self.new_value}"


class Initiative(models.Model):
    """Work chosen to move a key result. Never counts as progress."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DROPPED = "dropped", "Dropped"

    key_result = models.ForeignKey(KeyResult, on_delete=models.PROTECT, related_name="initiatives")
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="initiatives"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED)
    due_date = models.DateField(null=True, blank=True)
    link = models.URLField(blank=True, max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_date", "pk"]

    def __str__(self) -> str:
        return self.title


class Kpi(models.Model):
    """A health metric watched continuously, with green and red thresholds."""

    class Direction(models.TextChoices):
        HIGHER_IS_BETTER = "higher", "Higher is better"
        LOWER_IS_BETTER = "lower", "Lower is better"

    class Health(models.TextChoices):
        GREEN = "green", "Green"
        YELLOW = "yellow", "Yellow"
        RED = "red", "Red"
        UNKNOWN = "unknown", "No reading yet"

    team = models.ForeignKey("alignment.Team", on_delete=models.PROTECT, related_name="kpis")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=20, blank=True)
    direction = models.CharField(
        max_length=6, choices=Direction.choices, default=Direction.HIGHER_IS_BETTER
    )
    green_threshold = models.DecimalField(
        **VALUE_DIGITS, help_text="At or beyond this value the KPI is green."
    )
    red_threshold = models.DecimalField(
        **VALUE_DIGITS, help_text="At or beyond this value (the wrong way) the KPI is red."
    )
    guarded_objectives = models.ManyToManyField(
        Objective,
        blank=True,
        related_name="guardrails",
        help_text="Objectives flagged when this KPI turns red.",
    )
    latest_value = models.DecimalField(**VALUE_DIGITS, null=True, blank=True, editable=False)
    latest_read_on = models.DateField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["latest_value", "latest_read_on"])

    class Meta:
        verbose_name = "KPI"
        verbose_name_plural = "KPIs"
        ordering = ["team__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"],
                name="kpi_name_unique_per_team",
                violation_error_message="This team already has a KPI with this name.",
            ),
            models.CheckConstraint(
                condition=Q(direction="higher", green_threshold__gt=F("red_threshold"))
                | Q(direction="lower", green_threshold__lt=F("red_threshold")),
                name="kpi_thresholds_ordered",
                violation_error_message=(
                    "The green threshold must be better than the red one: above it when "
                    "higher is better, below it when lower is better."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("goals:kpi", args=[self.pk])

    def health_of(self, value: Decimal | None) -> str:
        if value is None:
            return self.Health.UNKNOWN
        higher = self.direction == self.Direction.HIGHER_IS_BETTER
        if (value >= self.green_threshold) if higher else (value <= self.green_threshold):
            return self.Health.GREEN
        if (value <= self.red_threshold) if higher else (value >= self.red_threshold):
            return self.Health.RED
        return self.Health.YELLOW

    @property
    def health(self) -> str:
        return self.health_of(self.latest_value)


class KpiReading(models.Model):
    """A dated value of a KPI. History: never edited in place, never deleted."""

    kpi = models.ForeignKey(Kpi, on_delete=models.PROTECT, related_name="readings")
    read_on = models.DateField()
    value = models.DecimalField(**VALUE_DIGITS)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "KPI reading"
        ordering = ["kpi", "-read_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "read_on"],
                name="kpi_reading_once_per_day",
                violation_error_message="This KPI already has a reading for that day.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kpi}: {self.value} on {self.read_on}"

    def clean(self) -> None:
        super().clean()
        # A typo in the year would become the "latest" reading and flip the KPI's health.
        if self.read_on and self.read_on > timezone.localdate():
            raise ValidationError({"read_on": "A reading cannot be dated in the future."})
        if self.read_on and self.read_on.year < EARLIEST_YEAR:
            raise ValidationError({"read_on": f"Readings start in {EARLIEST_YEAR}."})


class Dependency(models.Model):
    """One objective's owner asks another team for something by a date; the other side
    accepts or declines with a note. Accepted dependencies show on both objectives."""

    class State(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    requesting_objective = models.ForeignKey(
        Objective, on_delete=models.PROTECT, related_name="dependencies_requested"
    )
    providing_team = models.ForeignKey(
        "alignment.Team", on_delete=models.PROTECT, related_name="dependencies_asked"
    )
    providing_objective = models.ForeignKey(
        Objective,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dependencies_provided",
    )
    description = models.TextField(help_text="What is needed.")
    needed_by = models.DateField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.REQUESTED)
    response_note = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "dependencies"
        ordering = ["needed_by"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(requesting_objective=F("providing_objective")),
                name="dependency_between_two_objectives",
                violation_error_message="An objective cannot depend on itself.",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.requesting_objective} needs {self.description[:40]} from {self.providing_team}"
        )


class Reflection(models.Model):
    """What a team learned from an objective at the end of its cycle: read at the team's
    retrospective, and kept in the lessons library for the cycles after."""

    objective = models.OneToOneField(Objective, on_delete=models.PROTECT, related_name="reflection")
    what_changed = models.TextField("what changed", blank=True)
    what_worked = models.TextField("what worked", blank=True)
    what_did_not = models.TextField("what didn't work", blank=True)
    learned = models.TextField("what we learned", blank=True)
    next_focus = models.TextField("what to focus on next", blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reflections"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Reflection on {self.objective}"
