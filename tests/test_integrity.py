"""The data stays whole whatever writes it, and however many write at once.

- Every rule the models declare to the database (each ``CheckConstraint`` and
  ``UniqueConstraint`` of goals, check-ins and alignment, each unique field, each trigger)
  refuses a raw SQL write that breaks it: the rule holds even for code that bypasses
  the services. A new rule without a way to break it here fails the suite.
- The alignment graph of objectives and the team tree stay forests under any sequence
  of re-alignments through the app's own write paths, a refusal happens exactly when
  a move would close a loop (or make a second company), and the stored roll-up always
  holds what the cascade's definition gives, computed apart from the roll-up's SQL.
- Two transactions re-aligning A under B and B under A at the same moment cannot
  together close a loop (PostgreSQL).
- Hundreds of concurrent check-ins on sibling key results are all kept, each key result
  ends at its last committed check-in, the cascade above holds what its definition and
  a full recompute give, and no transaction deadlocks (PostgreSQL).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal
from functools import partial

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from alignment import models as alignment_models
from alignment import rollup
from alignment.forms import TeamAdminForm
from alignment.models import Team
from alignment.services import team_settings_save
from checkins.models import CheckIn, Nudge
from checkins.services import checkin_record
from goals import progress, services
from goals.models import (
    Cycle,
    Dependency,
    GoalpostChange,
    KeyResult,
    Objective,
    ObjectiveSnapshot,
    Reflection,
)
from tests import factories
from tests.concurrency import raised, run_in_threads

DOMAIN_APPS = ("goals", "checkins", "alignment")
ROLLUP = KeyResult.ProgressSource.ROLLUP
LOOP_MESSAGE = "That objective is aligned below this one: it would make a loop."


# --- 1. Every database rule refuses a raw write that breaks it -----------------------------


def _domain_models() -> list[type[models.Model]]:
    return [model for label in DOMAIN_APPS for model in apps.get_app_config(label).get_models()]


# Read from the models, not listed by hand: a rule added later is picked up here.
CONSTRAINTS = {
    constraint.name: (model, constraint)
    for model in _domain_models()
    for constraint in model._meta.constraints
}
UNIQUE_FIELDS = {
    f"{model._meta.label}.{field.name}": (model, field)
    for model in _domain_models()
    for field in model._meta.local_concrete_fields
    if field.unique and not field.primary_key
}

Breach = tuple[str, list]  # one raw SQL statement and its parameters


def _objective_as_own_parent() -> Breach:
    objective = factories.ObjectiveFactory()
    return "UPDATE goals_objective SET parent_id = id WHERE id = %s", [objective.pk]


def _objective_weighing_nothing() -> Breach:
    objective = factories.ObjectiveFactory()
    return "UPDATE goals_objective SET parent_weight = 0 WHERE id = %s", [objective.pk]


def _objective_past_done() -> Breach:
    objective = factories.ObjectiveFactory()
    return "UPDATE goals_objective SET progress = 1.5 WHERE id = %s", [objective.pk]


def _objective_serving_a_key_result_without_its_parent() -> Breach:
    other = factories.KeyResultFactory()
    objective = factories.ObjectiveFactory(cycle=other.objective.cycle)
    return (
        "UPDATE goals_objective SET parent_key_result_id = %s, parent_id = NULL WHERE id = %s",
        [other.pk, objective.pk],
    )


def _key_result_from_x_to_x() -> Breach:
    key_result = factories.KeyResultFactory()
    return "UPDATE goals_keyresult SET target_value = start_value WHERE id = %s", [key_result.pk]


def _key_result_weighing_less_than_nothing() -> Breach:
    key_result = factories.KeyResultFactory()
    return "UPDATE goals_keyresult SET weight = -1 WHERE id = %s", [key_result.pk]


def _key_result_confidence_eleven() -> Breach:
    key_result = factories.KeyResultFactory()
    return "UPDATE goals_keyresult SET confidence = 11 WHERE id = %s", [key_result.pk]


def _milestone_from_0_to_100() -> Breach:
    key_result = factories.KeyResultFactory(start_value=0, target_value=100)
    return "UPDATE goals_keyresult SET kind = 'milestone' WHERE id = %s", [key_result.pk]


def _key_result_below_nothing_done() -> Breach:
    key_result = factories.KeyResultFactory()
    return "UPDATE goals_keyresult SET progress = -0.1 WHERE id = %s", [key_result.pk]


def _key_result_graded_above_one() -> Breach:
    key_result = factories.KeyResultFactory()
    return "UPDATE goals_keyresult SET grade = 1.5 WHERE id = %s", [key_result.pk]


def _cycle_ending_as_it_starts() -> Breach:
    cycle = factories.CycleFactory()
    return "UPDATE goals_cycle SET end_date = start_date WHERE id = %s", [cycle.pk]


def _cycle_closed_while_active() -> Breach:
    cycle = factories.CycleFactory(state=Cycle.State.ACTIVE)
    return "UPDATE goals_cycle SET closed_at = %s WHERE id = %s", [timezone.now(), cycle.pk]


def _cycle_name_taken() -> Breach:
    first, second = factories.CycleFactory.create_batch(2)
    return "UPDATE goals_cycle SET name = %s WHERE id = %s", [first.name, second.pk]


def _second_snapshot_on_one_day() -> Breach:
    objective = factories.ObjectiveFactory()
    day = dt.date(2026, 11, 24)
    ObjectiveSnapshot.objects.create(objective=objective, day=day, progress=0.2)
    later = ObjectiveSnapshot.objects.create(
        objective=objective, day=day + dt.timedelta(days=1), progress=0.3
    )
    return "UPDATE goals_objectivesnapshot SET day = %s WHERE id = %s", [day, later.pk]


def _snapshot_past_done() -> Breach:
    snapshot = ObjectiveSnapshot.objects.create(
        objective=factories.ObjectiveFactory(), day=dt.date(2026, 11, 24), progress=0.2
    )
    return "UPDATE goals_objectivesnapshot SET progress = 2 WHERE id = %s", [snapshot.pk]


def _goalpost_moved_without_reason() -> Breach:
    change = GoalpostChange.objects.create(
        key_result=factories.KeyResultFactory(),
        field=GoalpostChange.Field.TARGET,
        old_value=Decimal(100),
        new_value=Decimal(80),
        reason="The market shrank.",
    )
    return "UPDATE goals_goalpostchange SET reason = '' WHERE id = %s", [change.pk]


def _kpi_name_twice_in_a_team() -> Breach:
    first = factories.KpiFactory()
    second = factories.KpiFactory(team=first.team)
    return "UPDATE goals_kpi SET name = %s WHERE id = %s", [first.name, second.pk]


def _kpi_green_below_red() -> Breach:
    kpi = factories.KpiFactory(green_threshold=Decimal(90), red_threshold=Decimal(70))
    return "UPDATE goals_kpi SET green_threshold = 60 WHERE id = %s", [kpi.pk]


def _second_kpi_reading_on_one_day() -> Breach:
    first = factories.KpiReadingFactory()
    second = factories.KpiReadingFactory(kpi=first.kpi)
    return "UPDATE goals_kpireading SET read_on = %s WHERE id = %s", [first.read_on, second.pk]


def _objective_depending_on_itself() -> Breach:
    requesting = factories.ObjectiveFactory()
    providing = factories.ObjectiveFactory(cycle=requesting.cycle)
    dependency = Dependency.objects.create(
        requesting_objective=requesting,
        providing_team=providing.team,
        providing_objective=providing,
        description="An export of last quarter's churn.",
        needed_by=dt.date(2026, 12, 1),
        requested_by=requesting.owner,
    )
    return (
        "UPDATE goals_dependency SET providing_objective_id = requesting_objective_id "
        "WHERE id = %s",
        [dependency.pk],
    )


def _second_reflection_on_an_objective() -> Breach:
    first, second = (
        Reflection.objects.create(objective=objective, author=objective.owner, learned="Ship")
        for objective in factories.ObjectiveFactory.create_batch(2)
    )
    return (
        "UPDATE goals_reflection SET objective_id = %s WHERE id = %s",
        [first.objective_id, second.pk],
    )


def _second_weekly_update_in_a_week() -> Breach:
    first = factories.WeeklyUpdateFactory()
    second = factories.WeeklyUpdateFactory(
        author=first.author, week_start=first.week_start - dt.timedelta(days=7)
    )
    return (
        "UPDATE checkins_weeklyupdate SET week_start = %s WHERE id = %s",
        [first.week_start, second.pk],
    )


def _checkin_confidence_zero() -> Breach:
    checkin = factories.CheckInFactory()
    return "UPDATE checkins_checkin SET confidence = 0 WHERE id = %s", [checkin.pk]


def _checkin_correcting_itself() -> Breach:
    checkin = factories.CheckInFactory()
    return "UPDATE checkins_checkin SET corrects_id = id WHERE id = %s", [checkin.pk]


def _one_on_one_with_oneself() -> Breach:
    one_on_one = factories.OneOnOneFactory()
    return "UPDATE checkins_oneonone SET report_id = manager_id WHERE id = %s", [one_on_one.pk]


def _email_nudge(**fields) -> Nudge:
    defaults = {"kind": Nudge.Kind.REMINDER, "period": "2026-W48", "subject": "Time to check in"}
    recipient = fields.pop("recipient", None) or factories.UserFactory()
    return Nudge.objects.create(recipient=recipient, **(defaults | fields))


def _second_reminder_in_a_week() -> Breach:
    first = _email_nudge()
    second = _email_nudge(recipient=first.recipient, period="2026-W49")
    return "UPDATE checkins_nudge SET period = %s WHERE id = %s", [first.period, second.pk]


def _second_team_digest_in_a_week() -> Breach:
    team = factories.TeamFactory()
    first, second = (
        Nudge.objects.create(
            team=team,
            channel=Nudge.Channel.WEBHOOK,
            kind=Nudge.Kind.DIGEST,
            period=period,
            subject="Weekly digest",
        )
        for period in ("2026-W48", "2026-W49")
    )
    return "UPDATE checkins_nudge SET period = %s WHERE id = %s", [first.period, second.pk]


def _nudge_to_a_person_and_a_team() -> Breach:
    nudge = _email_nudge()
    return "UPDATE checkins_nudge SET team_id = %s WHERE id = %s", [
        factories.TeamFactory().pk,
        nudge.pk,
    ]


def _person_managing_themself() -> Breach:
    person = factories.UserFactory()
    return "UPDATE alignment_user SET manager_id = id WHERE id = %s", [person.pk]


def _username_taken() -> Breach:
    first, second = factories.UserFactory.create_batch(2)
    return "UPDATE alignment_user SET username = %s WHERE id = %s", [first.username, second.pk]


def _team_as_own_parent() -> Breach:
    team = factories.TeamFactory()
    return "UPDATE alignment_team SET parent_id = id WHERE id = %s", [team.pk]


def _team_checking_in_at_24() -> Breach:
    team = factories.TeamFactory()
    return "UPDATE alignment_team SET checkin_hour = 24 WHERE id = %s", [team.pk]


def _team_checking_in_on_day_7() -> Breach:
    team = factories.TeamFactory()
    return "UPDATE alignment_team SET checkin_weekday = 7 WHERE id = %s", [team.pk]


def _team_digest_on_day_8() -> Breach:
    # Not -1: the column's own "positive integer" check would refuse that first.
    team = factories.TeamFactory()
    return "UPDATE alignment_team SET digest_weekday = 8 WHERE id = %s", [team.pk]


def _team_slug_taken() -> Breach:
    first, second = factories.TeamFactory.create_batch(2)
    return "UPDATE alignment_team SET slug = %s WHERE id = %s", [first.slug, second.pk]


def _member_twice_in_a_team() -> Breach:
    first = factories.MembershipFactory()
    second = factories.MembershipFactory(team=first.team)
    return "UPDATE alignment_membership SET user_id = %s WHERE id = %s", [
        first.user_id,
        second.pk,
    ]


# Rule (constraint name, or "app.Model.field" for a unique field) → how to break it.
BREACHES: dict[str, Callable[[], Breach]] = {
    "cycle_ends_after_start": _cycle_ending_as_it_starts,
    "cycle_closed_when_closed": _cycle_closed_while_active,
    "goals.Cycle.name": _cycle_name_taken,
    "objective_not_own_parent": _objective_as_own_parent,
    "objective_parent_weight_positive": _objective_weighing_nothing,
    "objective_progress_fraction": _objective_past_done,
    "objective_parent_kr_needs_parent": _objective_serving_a_key_result_without_its_parent,
    "key_result_target_differs_from_start": _key_result_from_x_to_x,
    "key_result_weight_positive": _key_result_weighing_less_than_nothing,
    "key_result_confidence_1_to_10": _key_result_confidence_eleven,
    "key_result_milestone_is_0_or_1": _milestone_from_0_to_100,
    "key_result_progress_fraction": _key_result_below_nothing_done,
    "key_result_grade_0_to_1": _key_result_graded_above_one,
    "objective_snapshot_once_a_day": _second_snapshot_on_one_day,
    "objective_snapshot_progress_fraction": _snapshot_past_done,
    "goalpost_change_has_reason": _goalpost_moved_without_reason,
    "kpi_name_unique_per_team": _kpi_name_twice_in_a_team,
    "kpi_thresholds_ordered": _kpi_green_below_red,
    "kpi_reading_once_per_day": _second_kpi_reading_on_one_day,
    "dependency_between_two_objectives": _objective_depending_on_itself,
    "goals.Reflection.objective": _second_reflection_on_an_objective,
    "weekly_update_once_per_week": _second_weekly_update_in_a_week,
    "checkin_confidence_1_to_10": _checkin_confidence_zero,
    "checkin_not_own_correction": _checkin_correcting_itself,
    "one_on_one_two_people": _one_on_one_with_oneself,
    "nudge_once_per_period": _second_reminder_in_a_week,
    "team_nudge_once_per_period": _second_team_digest_in_a_week,
    "nudge_to_a_person_or_a_team": _nudge_to_a_person_and_a_team,
    "user_not_own_manager": _person_managing_themself,
    "alignment.User.username": _username_taken,
    "team_not_own_parent": _team_as_own_parent,
    "team_checkin_hour_in_day": _team_checking_in_at_24,
    "team_checkin_weekday_valid": _team_checking_in_on_day_7,
    "team_digest_weekday_valid": _team_digest_on_day_8,
    "alignment.Team.slug": _team_slug_taken,
    "membership_once_per_team": _member_twice_in_a_team,
}
# Rules the database holds outside the models (triggers added by migrations) → how to
# break each. There is none today; one added without a breach here fails the suite.
TRIGGER_BREACHES: dict[str, Callable[[], Breach]] = {}


def _refusal_message(model: type[models.Model], rule: models.BaseConstraint | models.Field) -> str:
    """What the database says when ``rule``, and no other, refuses a write: PostgreSQL
    names the constraint (for a unique field, its key); SQLite names a CHECK constraint,
    and the columns of a unique one."""
    if connection.vendor == "postgresql":
        return f"Key ({rule.column})=" if isinstance(rule, models.Field) else f'"{rule.name}"'
    if isinstance(rule, models.CheckConstraint):
        return f"CHECK constraint failed: {rule.name}"
    fields = [rule] if isinstance(rule, models.Field) else map(model._meta.get_field, rule.fields)
    columns = ", ".join(f"{model._meta.db_table}.{field.column}" for field in fields)
    return f"UNIQUE constraint failed: {columns}"


def _refused(breach: Breach) -> str:
    """Run the raw statement; it must fail with an IntegrityError, whose text is returned."""
    sql, params = breach
    with (
        pytest.raises(IntegrityError) as refusal,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)
    return str(refusal.value)


def _database_triggers() -> set[str]:
    tables = [model._meta.db_table for model in _domain_models()]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger JOIN pg_class ON pg_class.oid = tgrelid "
                "WHERE NOT tgisinternal AND relname = ANY(%s)",
                [tables],
            )
        else:
            cursor.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
            return {name for name, table in cursor.fetchall() if table in tables}
        return {name for (name,) in cursor.fetchall()}


def test_every_database_rule_has_a_way_to_break_it_here():
    """A constraint or unique field added to a model needs its breach in BREACHES."""
    declared = set(CONSTRAINTS) | set(UNIQUE_FIELDS)
    assert sorted(declared - set(BREACHES)) == [], "add how to break these to BREACHES"
    assert sorted(set(BREACHES) - declared) == [], "these rules are gone: drop their breach"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
def test_database_refuses_a_raw_write_that_breaks_the_constraint(name):
    model, constraint = CONSTRAINTS[name]
    assert _refusal_message(model, constraint) in _refused(BREACHES[name]())


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(UNIQUE_FIELDS))
def test_database_refuses_a_raw_write_that_duplicates_a_unique_field(name):
    model, field = UNIQUE_FIELDS[name]
    assert _refusal_message(model, field) in _refused(BREACHES[name]())


@pytest.mark.django_db
def test_every_database_trigger_has_a_breach_and_refuses_it():
    """History rules kept by triggers (if a migration adds any) hold against raw SQL."""
    assert _database_triggers() == set(TRIGGER_BREACHES)
    for name, breach in TRIGGER_BREACHES.items():
        assert name in _refused(breach())


# --- 2. The alignment graph and the team tree stay forests ---------------------------------


def _closes_a_loop(parents: dict[int, int | None], child: int, parent: int | None) -> bool:
    """Whether putting ``child`` under ``parent`` closes a loop in the forest ``parents``."""
    current = parent
    while current is not None:
        if current == child:
            return True
        current = parents[current]
    return False


def _caught_in_a_loop(parents: dict[int, int | None]) -> list[int]:
    """The ids from which walking up never reaches a root (any loop in the rows read)."""
    caught = []
    for start in parents:
        current = start
        for _step in range(len(parents)):
            current = parents.get(current)
            if current is None:
                break
        else:
            caught.append(start)
    return caught


def _stored_progress() -> dict[tuple[str, int], float]:
    """Every objective's and roll-up key result's stored progress."""
    return {
        **{("objective", pk): p for pk, p in Objective.objects.values_list("pk", "progress")},
        **{
            ("key result", pk): p
            for pk, p in KeyResult.objects.filter(progress_source=ROLLUP).values_list(
                "pk", "progress"
            )
        },
    }


def _progress_by_the_book() -> dict[tuple[str, int], float]:
    """The same numbers from the product's definition (``goals.progress``), in Python and
    independent of the roll-up's SQL: an objective is the weighted mean of its active key
    results; a roll-up key result, of the active objectives aligned to it (0 if none)."""
    key_results: dict[int, list[tuple[int, str, float, Decimal]]] = {}
    for row in KeyResult.objects.filter(archived_at__isnull=True).values_list(
        "objective_id", "pk", "progress_source", "progress", "weight"
    ):
        key_results.setdefault(row[0], []).append(row[1:])
    aligned: dict[int, list[tuple[int, Decimal]]] = {}
    for pk, parent_key_result, weight in Objective.objects.filter(
        archived_at__isnull=True, parent_key_result__isnull=False
    ).values_list("pk", "parent_key_result_id", "parent_weight"):
        aligned.setdefault(parent_key_result, []).append((pk, weight))

    def key_result(pk: int, source: str, stored: float) -> float:
        if source != ROLLUP:
            return stored  # a check-in key result's progress follows its own value
        return progress.weighted_mean(
            (objective(child), weight) for child, weight in aligned.get(pk, [])
        )

    def objective(pk: int) -> float:
        return progress.objective_progress(
            (key_result(kr, source, stored), weight)
            for kr, source, stored, weight in key_results.get(pk, [])
        )

    return {
        **{
            ("objective", pk): objective(pk)
            for pk in Objective.objects.values_list("pk", flat=True)
        },
        **{
            ("key result", pk): key_result(pk, ROLLUP, 0.0)
            for pk in KeyResult.objects.filter(progress_source=ROLLUP).values_list("pk", flat=True)
        },
    }


class AlignmentForest(RuleBasedStateMachine):
    """Random re-alignments of objectives (under a parent, or one of its key results,
    with a weight) and moves of teams, through the write paths the app uses: the
    ``objective_save`` service, and the admin's team form then ``team_settings_save``.
    A model of the expected forest says when a refusal is due."""

    OBJECTIVES = 5
    TEAMS = 5

    def __init__(self) -> None:
        super().__init__()
        # Every run starts from the same rows and leaves nothing behind.
        self._run = transaction.atomic()
        self._run.__enter__()
        company = factories.TeamFactory(name="Company")
        self.teams = [company.pk] + [
            factories.TeamFactory(parent=company).pk for _ in range(self.TEAMS - 1)
        ]
        self.team_parents: dict[int, int | None] = {
            pk: (None if pk == company.pk else company.pk) for pk in self.teams
        }
        cycle = factories.CycleFactory()
        owner = factories.UserFactory()
        self.objectives, self.rollup_key_results = [], []
        for index in range(self.OBJECTIVES):
            objective = factories.ObjectiveFactory(cycle=cycle, team=company, owner=owner)
            factories.KeyResultFactory(
                objective=objective,
                current_value=Decimal(10 * (index + 1)),
                progress=(index + 1) / 10,
                weight=Decimal(index + 1),
            )
            rollup_key_result = factories.KeyResultFactory(
                objective=objective, progress_source=ROLLUP
            )
            self.objectives.append(objective.pk)
            self.rollup_key_results.append(rollup_key_result.pk)
        self.objective_parents: dict[int, int | None] = dict.fromkeys(self.objectives)
        rollup.recompute_all()  # the factories leave objectives at 0: start from true numbers

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._run.__exit__(None, None, None)

    @rule(
        child=st.integers(0, OBJECTIVES - 1),
        parent=st.none() | st.integers(0, OBJECTIVES - 1),
        through_key_result=st.booleans(),
        weight=st.sampled_from([Decimal("0.5"), Decimal(1), Decimal(3)]),
    )
    def align_objective(self, child, parent, through_key_result, weight) -> None:
        objective = Objective.objects.get(pk=self.objectives[child])
        parent_pk = None if parent is None else self.objectives[parent]
        objective.parent_id = parent_pk
        objective.parent_key_result_id = (
            self.rollup_key_results[parent] if parent is not None and through_key_result else None
        )
        objective.parent_weight = weight
        loop_expected = _closes_a_loop(self.objective_parents, objective.pk, parent_pk)
        try:
            services.objective_save(objective=objective)
        except ValidationError as refusal:
            assert loop_expected, refusal.messages
            assert LOOP_MESSAGE in refusal.message_dict["parent"]
        else:
            assert not loop_expected, "a loop was saved"
            self.objective_parents[objective.pk] = parent_pk

    @rule(child=st.integers(0, TEAMS - 1), parent=st.none() | st.integers(0, TEAMS - 1))
    def move_team(self, child, parent) -> None:
        team = Team.objects.get(pk=self.teams[child])
        parent_pk = None if parent is None else self.teams[parent]
        form = TeamAdminForm(
            data=model_to_dict(team, fields=TeamAdminForm.Meta.fields) | {"parent": parent_pk},
            instance=team,
        )
        # Only the company stands at the root, and a move must not close a loop.
        refusal_expected = (parent_pk is None and team.pk != self.teams[0]) or _closes_a_loop(
            self.team_parents, team.pk, parent_pk
        )
        if not form.is_valid():
            assert refusal_expected, form.errors
            assert list(form.errors) == ["parent"]
            return
        assert not refusal_expected, "a second root or a loop passed validation"
        with transaction.atomic():  # as the admin saves: one transaction
            team_settings_save(team=form.instance, changed_fields=form.changed_data)
        self.team_parents[team.pk] = parent_pk

    @invariant()
    def objectives_form_the_forest_expected(self) -> None:
        parents = dict(
            Objective.objects.filter(pk__in=self.objectives).values_list("pk", "parent_id")
        )
        assert _caught_in_a_loop(parents) == []
        assert parents == self.objective_parents

    @invariant()
    def teams_form_the_tree_expected(self) -> None:
        parents = dict(Team.objects.filter(pk__in=self.teams).values_list("pk", "parent_id"))
        assert _caught_in_a_loop(parents) == []
        assert parents == self.team_parents

    @invariant()
    def stored_progress_is_what_the_cascade_gives(self) -> None:
        """Each save's roll-up left the numbers the cascade's definition gives, also for
        a parent key result an objective has just left."""
        assert _stored_progress() == pytest.approx(_progress_by_the_book())


@pytest.mark.django_db
def test_random_realignments_keep_objectives_and_teams_forests():
    run_state_machine_as_test(
        AlignmentForest,
        settings=settings(max_examples=30, stateful_step_count=10, deadline=None, database=None),
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_opposite_realignments_at_the_same_moment_cannot_close_a_loop(monkeypatch):
    """A under B and B under A in two transactions at once: exactly one is saved.

    Each save waits, right after its loop check, for the other one to have checked too:
    unprotected, both checks pass on the forest as it was and the two writes close a
    loop. The alignment lock makes the second check wait for the first commit instead
    (its wait for the first check then times out, and it goes on)."""
    cycle = factories.CycleFactory()
    first = factories.ObjectiveFactory(cycle=cycle, title="A")
    second = factories.ObjectiveFactory(cycle=cycle, title="B")
    both_checked = threading.Barrier(2, timeout=1)
    check_for_loops = Objective._refuse_alignment_loop

    def check_then_wait_for_the_other(objective: Objective) -> None:
        check_for_loops(objective)
        # Broken after the timeout: the other save is queued behind this one.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait()

    monkeypatch.setattr(Objective, "_refuse_alignment_loop", check_then_wait_for_the_other)

    def align(child_pk: int, parent_pk: int) -> Objective:
        child = Objective.objects.get(pk=child_pk)
        child.parent_id = parent_pk
        return services.objective_save(objective=child)

    outcomes = run_in_threads(
        partial(align, first.pk, second.pk), partial(align, second.pk, first.pk)
    )

    refusals = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    saved = [outcome for outcome in outcomes if isinstance(outcome, Objective)]
    assert len(saved) == 1, outcomes
    assert [refusal.message_dict["parent"] for refusal in refusals] == [[LOOP_MESSAGE]]
    parents = dict(Objective.objects.values_list("pk", "parent_id"))
    assert _caught_in_a_loop(parents) == []
    assert parents[saved[0].pk] == (second.pk if saved[0].pk == first.pk else first.pk)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_opposite_team_moves_at_the_same_moment_cannot_close_a_loop(monkeypatch):
    """Team A under B and B under A, each through the admin's form and save in one
    transaction as the admin runs them: exactly one is saved. As above, each check waits
    for the other to have checked too; the lock makes the second check wait instead."""
    company = factories.TeamFactory(name="Company", parent=None)
    first = factories.TeamFactory(name="A", parent=company)
    second = factories.TeamFactory(name="B", parent=company)
    both_checked = threading.Barrier(2, timeout=1)
    walk_up = alignment_models._walk_up

    def walk_then_wait_for_the_other(start, tree):
        found = walk_up(start, tree)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait()
        return found

    monkeypatch.setattr(alignment_models, "_walk_up", walk_then_wait_for_the_other)

    def move(child_pk: int, parent_pk: int) -> Team | dict:
        with transaction.atomic():
            team = Team.objects.get(pk=child_pk)
            data = model_to_dict(team, fields=TeamAdminForm.Meta.fields) | {"parent": parent_pk}
            form = TeamAdminForm(data=data, instance=team)
            if not form.is_valid():
                return form.errors
            team_settings_save(team=form.instance, changed_fields=form.changed_data)
            return team

    outcomes = run_in_threads(
        partial(move, first.pk, second.pk), partial(move, second.pk, first.pk)
    )

    assert not raised(outcomes), outcomes
    saved = [outcome for outcome in outcomes if isinstance(outcome, Team)]
    assert len(saved) == 1, outcomes
    parents = dict(Team.objects.values_list("pk", "parent_id"))
    assert _caught_in_a_loop(parents) == []


# --- 3. Concurrent check-ins keep every row and an exact cascade ---------------------------

THREADS = 8
CHECKINS_PER_THREAD = 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkins_on_sibling_key_results_keep_history_and_cascade_exact():
    """8 threads × 50 check-ins through ``checkin_record`` on a key result and its
    siblings, whose objective counts towards a parent and a grandparent: all 400 rows
    are kept, each key result holds its last committed check-in, every objective and
    roll-up key result above holds what the cascade gives and what a full recompute
    gives, and no transaction deadlocks."""
    grandparent = factories.ObjectiveFactory(title="Company")
    grandparent_kr = factories.KeyResultFactory(objective=grandparent, progress_source=ROLLUP)
    parent = factories.ObjectiveFactory(
        title="Division",
        cycle=grandparent.cycle,
        parent=grandparent,
        parent_key_result=grandparent_kr,
    )
    parent_kr = factories.KeyResultFactory(objective=parent, progress_source=ROLLUP)
    factories.KeyResultFactory(objective=parent, current_value=Decimal(40), progress=0.4)
    objective = factories.ObjectiveFactory(
        title="Team", cycle=grandparent.cycle, parent=parent, parent_key_result=parent_kr
    )
    key_results = [
        factories.KeyResultFactory(objective=objective, target_value=Decimal(400), weight=weight)
        for weight in (Decimal(1), Decimal(2), Decimal("0.5"), Decimal(3))
    ]

    def check_in_fifty_times(thread: int) -> None:
        for step in range(CHECKINS_PER_THREAD):
            key_result = key_results[(thread + step) % len(key_results)]
            checkin_record(
                key_result=key_result,
                author=key_result.owner,
                value=Decimal(thread * CHECKINS_PER_THREAD + step),  # every value distinct
                confidence=1 + (thread + step) % 10,
            )

    outcomes = run_in_threads(*(partial(check_in_fifty_times, n) for n in range(THREADS)))

    assert raised(outcomes) == []  # a deadlock would surface here as OperationalError
    assert CheckIn.objects.count() == THREADS * CHECKINS_PER_THREAD
    for key_result in key_results:
        key_result.refresh_from_db()
        # Each key result's row is locked from before its check-in is dated until the
        # commit, so the latest by date is the one committed last, and so is the highest id.
        last = key_result.checkins.latest()
        assert last == key_result.checkins.order_by("pk").last()
        assert (key_result.current_value, key_result.confidence) == (last.value, last.confidence)
        assert key_result.last_checkin_at == last.created_at
        assert key_result.progress == pytest.approx(float(last.value) / 400)

    assert _stored_progress() == pytest.approx(_progress_by_the_book())
    # And the nightly repair finds nothing to change, attention columns included.
    cascade = Objective.objects.order_by("pk").values("pk", *rollup.ROLLED_UP_FIELDS)
    rolled_up = KeyResult.objects.filter(progress_source=ROLLUP).order_by("pk")
    after_checkins = (list(cascade), list(rolled_up.values_list("pk", "progress")))
    rollup.recompute_all()
    assert (list(cascade), list(rolled_up.values_list("pk", "progress"))) == after_checkins
