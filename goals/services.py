"""Writes to goals. Views, admin, imports, the API and tasks all come through here so
that validation, progress and roll-up happen the same way whoever writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from alignment import rollup
from alignment.locking import lock_alignment
from goals import progress as math
from goals.models import (
    Cycle,
    Dependency,
    GoalpostChange,
    Initiative,
    KeyResult,
    Kpi,
    KpiReading,
    Objective,
    Reflection,
)

GOALPOST_REASON_NEEDED = (
    "The cycle is active: say why the baseline or target changes. "
    "The change is shown on the key result and again at grading."
)


@transaction.atomic
def objective_save(*, objective: Objective) -> Objective:
    """Validate and save an objective, then roll up where it counts now and used to.

    Re-aligning takes the alignment lock before the loop check, so two concurrent
    re-alignments cannot each pass the check and together close a loop."""
    previous_parent, previous_parent_kr = None, None
    if objective.pk:
        previous_parent, previous_parent_kr = (
            Objective.objects.filter(pk=objective.pk)
            .values_list("parent_id", "parent_key_result_id")
            .first()
        ) or (None, None)
    if objective.parent_id and objective.parent_id != previous_parent:
        lock_alignment()
    objective.full_clean()
    objective.save()
    rollup.refresh_upwards({objective.pk})
    if previous_parent_kr and previous_parent_kr != objective.parent_key_result_id:
        # The former parent key result no longer counts this objective.
        rollup.refresh_key_results_upwards({previous_parent_kr})
    return objective


@transaction.atomic
def objective_set_supports(*, objective: Objective, supported: list[Objective]) -> None:
    """Replace the objectives ``objective`` merely supports (shown, never counted)."""
    if any(other.pk == objective.pk for other in supported):
        raise ValidationError({"supports": "An objective cannot support itself."})
    objective.supports.set(supported)


@transaction.atomic
def dependency_request(
    *, requesting_objective: Objective, providing_team, description: str, needed_by, actor
) -> Dependency:
    """One objective's owner asks another team for something by a date."""
    dependency = Dependency(
        requesting_objective=requesting_objective,
        providing_team=providing_team,
        description=description,
        needed_by=needed_by,
        requested_by=actor,
    )
    dependency.full_clean()
    dependency.save()
    return dependency


@transaction.atomic
def dependency_respond(
    *, dependency: Dependency, accept: bool, note: str, actor, providing_objective=None
) -> Dependency:
    """The providing team accepts (optionally naming the objective that delivers it) or
    declines with a note. Only a pending request can be answered."""
    locked = Dependency.objects.select_for_update().get(pk=dependency.pk)
    if locked.state != Dependency.State.REQUESTED:
        raise ValidationError(f"This request was already {locked.get_state_display().lower()}.")
    if not accept and not note.strip():
        raise ValidationError({"response_note": "Say why you decline, so they can plan."})
    locked.state = Dependency.State.ACCEPTED if accept else Dependency.State.DECLINED
    locked.response_note = note.strip()
    locked.providing_objective = providing_objective if accept else None
    locked.responded_by = actor
    locked.responded_at = timezone.now()
    locked.full_clean()
    locked.save()
    return locked


@transaction.atomic
def dependency_withdraw(*, dependency: Dependency) -> None:
    """Withdraw a request that nobody has answered yet."""
    locked = Dependency.objects.select_for_update().get(pk=dependency.pk)
    if locked.state != Dependency.State.REQUESTED:
        raise ValidationError(f"This request was already {locked.get_state_display().lower()}.")
    locked.state = Dependency.State.WITHDRAWN
    locked.save(update_fields=["state"])


@transaction.atomic
def objective_create(
    *, objective: Objective, key_results: list[KeyResult], actor, guarded_by: Kpi | None = None
) -> Objective:
    """Create an objective with its first key results, all or nothing; started from a
    KPI, that KPI guards it from then on."""
    objective_save(objective=objective)
    if guarded_by is not None:
        guarded_by.guarded_objectives.add(objective)
    for position, key_result in enumerate(key_results):
        key_result.objective = objective
        key_result.position = position
        key_result_save(key_result=key_result, actor=actor)
    return objective


@transaction.atomic
def key_result_add(*, key_result: KeyResult, actor) -> KeyResult:
    """Add a key result at the end of its objective's list."""
    last = key_result.objective.key_results.order_by("-position").values("position").first()
    key_result.position = last["position"] + 1 if last else 0
    return key_result_save(key_result=key_result, actor=actor)


@transaction.atomic
def key_result_move(*, key_result: KeyResult, up: bool) -> None:
    """Swap a key result with its neighbour above (``up``) or below, among active ones."""
    siblings = list(
        key_result.objective.key_results.filter(archived_at__isnull=True)
        .select_for_update()
        .order_by("position", "pk")
    )
    index = next(i for i, sibling in enumerate(siblings) if sibling.pk == key_result.pk)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(siblings):
        return
    siblings[index], siblings[other] = siblings[other], siblings[index]
    for position, sibling in enumerate(siblings):
        sibling.position = position
    KeyResult.objects.bulk_update(siblings, ["position"])


@transaction.atomic
def key_result_save(*, key_result: KeyResult, actor=None, reason: str = "") -> KeyResult:
    """Validate and save a key result; its progress follows its current value.

    Once its cycle is active, moving the baseline or target needs a ``reason``; each move
    is recorded as a ``GoalpostChange`` (no moving goalposts in silence).
    """
    key_result.full_clean()
    moves = key_result.goalpost_moves()
    if moves:
        if not reason.strip():
            raise ValidationError({"reason": GOALPOST_REASON_NEEDED})
        GoalpostChange.objects.bulk_create(
            GoalpostChange(
                key_result=key_result,
                field=field,
                old_value=old,
                new_value=new,
                reason=reason.strip(),
                changed_by=actor,
            )
            for field, old, new in moves
        )
    if key_result.progress_source == KeyResult.ProgressSource.CHECKINS:
        key_result.progress = key_result.computed_progress()
    key_result.save()
    if key_result.progress_source == KeyResult.ProgressSource.ROLLUP:
        rollup.refresh_key_results_upwards({key_result.pk})
    else:
        rollup.refresh_upwards({key_result.objective_id})
    return key_result


@transaction.atomic
def key_result_archive(*, key_result: KeyResult) -> None:
    key_result.archived_at = timezone.now()
    key_result.save(update_fields=["archived_at"])
    rollup.refresh_upwards({key_result.objective_id})


@transaction.atomic
def objective_archive(*, objective: Objective) -> None:
    objective.archived_at = timezone.now()
    objective.save(update_fields=["archived_at"])
    if objective.parent_key_result_id:
        rollup.refresh_key_results_upwards({objective.parent_key_result_id})


@transaction.atomic
def cycle_save(*, cycle: Cycle, actor=None) -> Cycle:
    """Validate and save a cycle (its history is kept by simple-history). One set to
    closed here (the API, the admin) records who closed it, as ``cycle_close`` does."""
    if cycle.state == Cycle.State.CLOSED and cycle.closed_at is None:
        cycle.closed_by = actor
    cycle.full_clean()  # clean() sets closed_at
    cycle.save()
    return cycle


@transaction.atomic
def initiative_save(*, initiative: Initiative) -> Initiative:
    """Validate and save an initiative; its owner defaults to its key result's owner."""
    if initiative.owner_id is None:
        initiative.owner_id = initiative.key_result.owner_id
    initiative.full_clean()
    initiative.save()
    return initiative


def initiative_archive(*, initiative: Initiative) -> None:
    initiative.archived_at = timezone.now()
    initiative.save(update_fields=["archived_at"])


@transaction.atomic
def kpi_save(*, kpi: Kpi, guarded: list[Objective], editable: set[int]) -> Kpi:
    """Validate and save a KPI and the objectives it guards. Links to objectives outside
    ``editable`` (the ids the person could choose from) are kept: not theirs to drop."""
    kpi.full_clean()
    kpi.save()
    kept = (
        []
        if kpi.pk is None
        else [
            pk for pk in kpi.guarded_objectives.values_list("pk", flat=True) if pk not in editable
        ]
    )
    kpi.guarded_objectives.set([*guarded, *kept])
    return kpi


def kpi_archive(*, kpi: Kpi) -> None:
    """Stop recording readings; the KPI keeps guarding its objectives as history."""
    kpi.archived_at = timezone.now()
    kpi.save(update_fields=["archived_at"])


@transaction.atomic
def kpi_record_reading(*, kpi: Kpi, read_on: date, value: Decimal, recorded_by=None) -> KpiReading:
    """Add a dated reading; the KPI's latest value follows the newest reading."""
    # Lock the KPI first: two readings for one day queue up, and the second is refused by
    # full_clean with a message instead of failing on the unique constraint.
    Kpi.objects.select_for_update().filter(pk=kpi.pk).first()
    reading = KpiReading(kpi=kpi, read_on=read_on, value=value, recorded_by=recorded_by)
    reading.full_clean()
    reading.save()
    newest = kpi.readings.order_by("-read_on").values_list("read_on", "value").first()
    Kpi.objects.filter(pk=kpi.pk).update(latest_read_on=newest[0], latest_value=newest[1])
    kpi.latest_read_on, kpi.latest_value = newest
    return reading


# Closing a cycle and carrying its unfinished objectives forward.

ALREADY_CLOSED = "This cycle is already closed."


@transaction.atomic
def cycle_close(*, cycle: Cycle, actor) -> Cycle:
    """Close ``cycle``: from now on its goals are read-only (``goals.access``). Closing
    twice is refused, so ``closed_at``/``closed_by`` keep saying who closed it first."""
    locked = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if locked.is_closed:
        raise ValidationError(ALREADY_CLOSED)
    locked.state = Cycle.State.CLOSED
    locked.closed_at = timezone.now()
    locked.closed_by = actor
    cycle_save(cycle=locked)
    cycle.state, cycle.closed_at, cycle.closed_by = locked.state, locked.closed_at, actor
    return locked


@transaction.atomic
def objective_carry_forward(*, objectives: list[Objective], into: Cycle, actor) -> list[Objective]:
    """Copy each objective into the cycle ``into``, linked by ``carried_from``.

    The copy keeps team, owner, kind, visibility, title and description; its active key
    results start where the old ones stand (baseline = old current value, same target).
    A key result already at its target is done and stays behind (its baseline would
    equal its target).
    Alignment is kept only when the parent is carried in the same call (the copy is then
    aligned to the parent's copy); otherwise the copy starts unaligned. Parents are
    copied before their children. An objective already carried into ``into`` is refused.
    """
    if into.is_closed:
        raise ValidationError(f"{into} is closed: nothing can be carried into it.")
    chosen = {objective.pk: objective for objective in objectives}
    already = set(
        Objective.objects.filter(carried_from__in=chosen, cycle=into).values_list(
            "carried_from_id", flat=True
        )
    )
    if already:
        titles = ", ".join(sorted(chosen[pk].title for pk in already))
        raise ValidationError(f"Already carried into {into}: {titles}.")
    key_results: dict[int, list[KeyResult]] = {pk: [] for pk in chosen}
    for key_result in KeyResult.objects.filter(
        objective__in=chosen, archived_at__isnull=True
    ).order_by("position", "pk"):
        key_results[key_result.objective_id].append(key_result)
    copies: dict[int, Objective] = {}
    key_result_copies: dict[int, KeyResult] = {}

    def depth(objective: Objective) -> int:
        steps, current = 0, objective
        while current.parent_id in chosen and steps < len(chosen):
            steps, current = steps + 1, chosen[current.parent_id]
        return steps

    for objective in sorted(objectives, key=depth):
        parent_copy = copies.get(objective.parent_id) if objective.parent_id else None
        parent_key_result = None
        if parent_copy is not None and objective.parent_key_result_id:
            parent_key_result = key_result_copies.get(objective.parent_key_result_id)
        copy = Objective(
            cycle=into,
            team_id=objective.team_id,
            owner_id=objective.owner_id,
            title=objective.title,
            description=objective.description,
            kind=objective.kind,
            visibility=objective.visibility,
            parent=parent_copy,
            parent_key_result=parent_key_result,
            parent_weight=objective.parent_weight if parent_copy else Decimal(1),
            carried_from=objective,
        )
        new_key_results = []
        for old in key_results[objective.pk]:
            if old.progress >= 1.0 or old.current_value == old.target_value:
                continue
            new = KeyResult(
                title=old.title,
                owner_id=old.owner_id,
                kind=old.kind,
                unit=old.unit,
                start_value=old.current_value,
                target_value=old.target_value,
                current_value=old.current_value,
                weight=old.weight,
                progress_source=old.progress_source,
            )
            key_result_copies[old.pk] = new
            new_key_results.append(new)
        objective_create(objective=copy, key_results=new_key_results, actor=actor)
        copies[objective.pk] = copy
    return [copies[objective.pk] for objective in objectives]


def next_cycle_name(name: str) -> str:
    """ "2026 Q4" → "2027 Q1", "2027 Q1" → "2027 Q2"; any other name → "<name> (next)"."""
    import re

    match = re.fullmatch(r"(\d{4}) Q([1-4])", name.strip())
    if match is None:
        return f"{name} (next)"
    year, quarter = int(match[1]), int(match[2])
    return f"{year + 1} Q1" if quarter == 4 else f"{year} Q{quarter + 1}"


@transaction.atomic
def cycle_create_next(*, cycle: Cycle, actor) -> Cycle:
    """A cycle in planning as long as ``cycle``, starting the day after it ends."""
    from datetime import timedelta

    length = cycle.end_date - cycle.start_date
    start = cycle.end_date + timedelta(days=1)
    name = next_cycle_name(cycle.name)
    if Cycle.objects.filter(name=name).exists():
        raise ValidationError({"name": f"There is already a cycle named {name}."})
    return cycle_save(
        cycle=Cycle(
            name=name, start_date=start, end_date=start + length, state=Cycle.State.PLANNING
        )
    )


# Grading key results and reflecting on objectives at the end of a cycle.

REFLECTION_FIELDS = ("what_changed", "what_worked", "what_did_not", "learned", "next_focus")
REFLECTION_EMPTY = "Answer at least one of the questions."


def grade_reason_needed(progress: float) -> str:
    return (
        f"This grade is more than 0.1 away from the progress ({progress:.0%}): "
        "say why, so the team can learn from it."
    )


@transaction.atomic
def key_result_grade(*, key_result: KeyResult, grade: Decimal, reason: str, actor) -> KeyResult:
    """Grade ``key_result`` 0.0–1.0 (two decimals at most). A grade more than 0.1 away
    from its progress needs a reason. Who graded and when are kept on the row; every
    change of grade is kept in its history. Saving the same grade and reason again
    writes nothing."""
    reason = reason.strip()
    if key_result.grade == grade and key_result.grade_reason == reason:
        return key_result
    key_result.grade = grade
    key_result.grade_reason = reason
    key_result.graded_at = timezone.now()
    key_result.graded_by = actor
    key_result.full_clean()
    if math.grade_needs_reason(grade, key_result.progress) and not reason:
        raise ValidationError({"grade_reason": grade_reason_needed(key_result.progress)})
    key_result._change_reason = "Graded"
    key_result.save(update_fields=["grade", "grade_reason", "graded_at", "graded_by", "updated_at"])
    return key_result


@transaction.atomic
def reflection_save(*, objective: Objective, author, **texts: str) -> Reflection:
    """Write (or rewrite) the objective's reflection: what changed, what worked, what
    didn't, what we learned, what to focus on next. ``author`` is whoever wrote it
    last; the history keeps earlier versions. Unchanged answers write nothing."""
    unknown = set(texts) - set(REFLECTION_FIELDS)
    if unknown:
        raise TypeError(f"Not a reflection question: {', '.join(sorted(unknown))}")
    answers = {name: texts.get(name, "").strip() for name in REFLECTION_FIELDS}
    if not any(answers.values()):
        raise ValidationError(REFLECTION_EMPTY)
    reflection = Reflection.objects.select_for_update().filter(
        objective=objective
    ).first() or Reflection(objective=objective)
    if reflection.pk and all(getattr(reflection, k) == v for k, v in answers.items()):
        return reflection
    for name, value in answers.items():
        setattr(reflection, name, value)
    reflection.author = author
    reflection.full_clean()
    reflection.save()
    return reflection
