"""Roll-up through the cascade, in set-based SQL.

An objective's progress is the weighted mean of its active key results. A key result in
roll-up mode takes its progress from the active objectives aligned to it (weighted by
their ``parent_weight``), so a change climbs: key result → objective → parent key result
→ parent objective → … Each level is two UPDATE statements computed by the database
(correlated aggregates), whatever the number of rows: no row is loaded into Python.
The same formulas as ``goals.progress``; tests check the two agree. With its progress,
an objective's row keeps its key results' lowest confidence and oldest check-in, which
say whether it needs attention.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import (
    F,
    Field,
    FloatField,
    Lookup,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Greatest, Least

from goals.models import Cycle, KeyResult, Objective, ObjectiveSnapshot

# Far deeper than any organisation's cascade; reaching it means the forest has a loop.
MAX_DEPTH = 50
ROLLUP = KeyResult.ProgressSource.ROLLUP


def _weighted_mean(rows: QuerySet, group: str, weight: str) -> Least:
    """SQL for the weighted mean of ``rows``' progress, grouped by ``group``, as a
    fraction in [0, 1] (0 when there is nothing to average)."""
    as_float = Cast(weight, FloatField())
    mean = (
        rows.order_by()
        .values(group)
        .annotate(mean=Sum(F("progress") * as_float) / Sum(as_float))
        .values("mean")
    )
    # Clamped: float rounding must never push a mean of fractions past 1.
    return Least(
        Greatest(Coalesce(Subquery(mean, output_field=FloatField()), Value(0.0)), Value(0.0)),
        Value(1.0),
    )


OBJECTIVE_PROGRESS = _weighted_mean(
    KeyResult.objects.filter(objective=OuterRef("pk"), archived_at__isnull=True),
    "objective",
    "weight",
)
_ACTIVE_KEY_RESULTS = KeyResult.objects.filter(objective=OuterRef("pk"), archived_at__isnull=True)


def _lowest(rows: QuerySet, value) -> Subquery:
    return Subquery(
        rows.order_by().values("objective").annotate(lowest=Min(value)).values("lowest")
    )


# What an objective's row holds of its key results, recomputed together.
OBJECTIVE_FIELDS = {
    "progress": OBJECTIVE_PROGRESS,
    "lowest_confidence": _lowest(_ACTIVE_KEY_RESULTS, "confidence"),
    "stalest_checkin_at": _lowest(
        _ACTIVE_KEY_RESULTS.filter(progress_source=KeyResult.ProgressSource.CHECKINS),
        Coalesce("last_checkin_at", "created_at"),
    ),
}


@Field.register_lookup
class DistinctFrom(Lookup):
    """``field__distinct_from=value``: differs, NULL counting as a value (SQL's ``=``
    is unknown when either side is NULL)."""

    lookup_name = "distinct_from"
    can_use_none_as_rhs = True

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} IS DISTINCT FROM {rhs}", [*lhs_params, *rhs_params]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} IS NOT {rhs}", [*lhs_params, *rhs_params]


def _changed(fields: dict) -> Q:
    """Rows where any of ``fields`` would change: only those are written. The nightly
    repair usually finds nothing to change, and rewriting every row of the open cycles
    (new row versions, every index touched) costs far more than reading them."""
    condition = Q()
    for name, value in fields.items():
        condition |= Q(**{f"{name}__distinct_from": value})
    return condition


# The objective fields the roll-up writes: what a loaded objective re-reads after it.
ROLLED_UP_FIELDS = tuple(OBJECTIVE_FIELDS)
ROLLUP_PROGRESS = _weighted_mean(
    Objective.objects.filter(parent_key_result=OuterRef("pk"), archived_at__isnull=True),
    "parent_key_result",
    "parent_weight",
)


def refresh_upwards(objective_ids: Iterable[int] | QuerySet[Objective]) -> None:
    """Recompute these objectives (ids, or a queryset of them), then everything above
    them that counts them. Each pass climbs one level; an objective is recomputed again
    whenever one of its children changed, so after as many passes as the forest is deep
    every number is right."""
    pending = objective_ids if isinstance(objective_ids, QuerySet) else None
    ids = None if pending is not None else set(objective_ids)
    for _level in range(MAX_DEPTH):
        objectives = pending if pending is not None else Objective.objects.filter(pk__in=ids)
        if ids is not None and not ids:
            return
        objectives.filter(_changed(OBJECTIVE_FIELDS)).update(**OBJECTIVE_FIELDS)
        fed = KeyResult.objects.filter(
            progress_source=ROLLUP, pk__in=objectives.values("parent_key_result")
        )
        parents = set(fed.values_list("objective_id", flat=True))
        if not parents:
            return
        fed.filter(_changed({"progress": ROLLUP_PROGRESS})).update(progress=ROLLUP_PROGRESS)
        pending, ids = None, parents
    raise RuntimeError(f"The alignment forest is deeper than {MAX_DEPTH} levels or has a loop.")


def refresh_attention(objective_ids: Iterable[int]) -> None:
    """Recompute only what these objectives keep of their key results' confidence and
    check-ins, not their progress (after an import, which brings its own progress)."""
    fields = {name: value for name, value in OBJECTIVE_FIELDS.items() if name != "progress"}
    Objective.objects.filter(pk__in=objective_ids).update(**fields)


def refresh_objectives(objective_ids: set[int]) -> None:
    """Recompute only these objectives from their key results (no climbing)."""
    Objective.objects.filter(pk__in=objective_ids).update(**OBJECTIVE_FIELDS)


def refresh_key_results_upwards(key_result_ids: set[int]) -> None:
    """Recompute these roll-up key results from their children, then climb."""
    key_results = KeyResult.objects.filter(pk__in=key_result_ids)
    key_results.filter(progress_source=ROLLUP).update(progress=ROLLUP_PROGRESS)
    refresh_upwards(set(key_results.values_list("objective_id", flat=True)))


def recompute_all(*, closed_too: bool = False) -> int:
    """Recompute every objective and roll-up key result of the cycles not yet closed, or
    of every cycle with ``closed_too`` (a closed cycle is read-only: its numbers stay as
    they were when it closed, and the nightly repair need not read it). Check-in key
    results keep the progress their current value gives. Returns how many objectives
    were recomputed."""
    objectives = Objective.objects.all()
    fed = KeyResult.objects.filter(progress_source=ROLLUP)
    if not closed_too:
        objectives = objectives.exclude(cycle__state=Cycle.State.CLOSED)
        fed = fed.exclude(objective__cycle__state=Cycle.State.CLOSED)
    # First every roll-up key result, also one that no objective is aligned to any more
    # (the climb below reaches only those that are fed); the climb then corrects those
    # whose children it changes.
    fed.filter(_changed({"progress": ROLLUP_PROGRESS})).update(progress=ROLLUP_PROGRESS)
    refresh_upwards(objectives)
    return objectives.count()


def take_snapshots(*, day: date) -> int:
    """Record (or update) today's progress of every active objective of active cycles:
    one read and one upsert per batch. Returns how many were recorded."""
    rows = Objective.objects.active().filter(cycle__state=Cycle.State.ACTIVE)
    snapshots = [
        ObjectiveSnapshot(objective_id=pk, day=day, progress=progress)
        for pk, progress in rows.values_list("pk", "progress")
    ]
    ObjectiveSnapshot.objects.bulk_create(
        snapshots,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["objective", "day"],
        update_fields=["progress"],
    )
    return len(snapshots)
