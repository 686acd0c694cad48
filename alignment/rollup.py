"""Roll-up through the cascade.

An objective's progress is the weighted mean of its key results. A key result in roll-up
mode takes its progress from the objectives aligned to it (weighted by their
``parent_weight``), so a change climbs: key result → objective → parent key result →
parent objective → … Each level is one read and one bulk write, whatever its size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from goals import progress as math
from goals.models import KeyResult, Objective

# Far deeper than any organisation's cascade; reaching it means the forest has a loop.
MAX_DEPTH = 50


def refresh_upwards(objective_ids: Iterable[int]) -> None:
    """Recompute these objectives, then everything above them that counts them."""
    pending = set(objective_ids)
    # Each pass climbs one level; an objective is recomputed again whenever one of its
    # children changed, so after as many passes as the forest is deep all are right.
    for _level in range(MAX_DEPTH):
        if not pending:
            return
        _refresh_objectives(pending)
        fed_key_results = set(
            Objective.objects.filter(
                pk__in=pending,
                parent_key_result__progress_source=KeyResult.ProgressSource.ROLLUP,
            ).values_list("parent_key_result_id", flat=True)
        )
        if not fed_key_results:
            return
        _refresh_rollup_key_results(fed_key_results)
        parents = KeyResult.objects.filter(pk__in=fed_key_results).values_list(
            "objective_id", flat=True
        )
        pending = set(parents)
    raise RuntimeError(f"The alignment forest is deeper than {MAX_DEPTH} levels or has a loop.")


def refresh_key_results_upwards(key_result_ids: set[int]) -> None:
    """Recompute these roll-up key results from their children, then climb."""
    _refresh_rollup_key_results(
        set(
            KeyResult.objects.filter(
                pk__in=key_result_ids, progress_source=KeyResult.ProgressSource.ROLLUP
            ).values_list("pk", flat=True)
        )
    )
    refresh_upwards(
        set(KeyResult.objects.filter(pk__in=key_result_ids).values_list("objective_id", flat=True))
    )


def _refresh_objectives(objective_ids: set[int]) -> None:
    pairs: dict[int, list[tuple[float, object]]] = defaultdict(list)
    rows = KeyResult.objects.filter(
        objective_id__in=objective_ids, archived_at__isnull=True
    ).values_list("objective_id", "progress", "weight")
    for objective_id, progress, weight in rows:
        pairs[objective_id].append((progress, weight))
    Objective.objects.bulk_update(
        [
            Objective(pk=pk, progress=math.objective_progress(pairs.get(pk, [])))
            for pk in objective_ids
        ],
        ["progress"],
        batch_size=1000,
    )


def _refresh_rollup_key_results(key_result_ids: set[int]) -> None:
    pairs: dict[int, list[tuple[float, object]]] = defaultdict(list)
    rows = Objective.objects.filter(
        parent_key_result_id__in=key_result_ids, archived_at__isnull=True
    ).values_list("parent_key_result_id", "progress", "parent_weight")
    for key_result_id, progress, weight in rows:
        pairs[key_result_id].append((progress, weight))
    KeyResult.objects.bulk_update(
        [KeyResult(pk=pk, progress=math.weighted_mean(pairs.get(pk, []))) for pk in key_result_ids],
        ["progress"],
        batch_size=1000,
    )


def recompute_all() -> int:
    """Recompute every objective and roll-up key result (repair). Check-in key results
    keep the progress their current value gives. Returns how many objectives exist."""
    objective_ids = set(Objective.objects.values_list("pk", flat=True))
    refresh_upwards(objective_ids)
    return len(objective_ids)
