"""Reads of check-in history for pages (one query each)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.db.models.functions import Coalesce, Trim
from django.utils import timezone

from checkins.models import CheckIn
from goals import progress as math
from goals.models import Cycle, KeyResult, Objective, ObjectiveSnapshot


def unchecked_key_results(*, before: dt.datetime) -> QuerySet[KeyResult]:
    """Key results someone should check in whose last check-in (or creation) is older
    than ``before``: active, in an active cycle, progress from check-ins. Annotated with
    ``since``, that last moment (reminders, escalations, the digest's stale list)."""
    return (
        KeyResult.objects.filter(
            archived_at__isnull=True,
            objective__archived_at__isnull=True,
            objective__cycle__state=Cycle.State.ACTIVE,
            progress_source=KeyResult.ProgressSource.CHECKINS,
        )
        .annotate(since=Coalesce("last_checkin_at", "created_at"))
        .filter(since__lte=before)
    )


def recent_blockers(
    visible: QuerySet[Objective],
    team_ids: Collection[int],
    *,
    since: dt.datetime,
    limit: int = 10,
) -> list[CheckIn]:
    """Check-ins since ``since`` with a blocker, on active key results of visible
    objectives of ``team_ids``, newest first (one query)."""
    return list(
        CheckIn.objects.annotate(blocker_text=Trim("blocker"))
        .exclude(blocker_text="")
        .filter(
            created_at__gte=since,
            key_result__archived_at__isnull=True,
            key_result__objective__archived_at__isnull=True,
            key_result__objective__team_id__in=team_ids,
            key_result__objective__in=visible.values("pk"),
        )
        .select_related("author", "key_result__objective__team")
        .order_by("-created_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class ProgressSeries:
    """Progress over a cycle: ``points`` are (day, progress) after each day's check-ins."""

    cycle: Cycle
    points: list[tuple[date, float]]


def objective_progress_series(objective: Objective, key_results: list[KeyResult]) -> ProgressSeries:
    """The objective's progress over its cycle. With only check-in key results, it is
    replayed exactly from their check-ins; an objective that rolls up from others is read
    from its daily snapshots (taken nightly), ending with today's progress."""
    cycle = objective.cycle
    if any(kr.progress_source == KeyResult.ProgressSource.ROLLUP for kr in key_results):
        return _snapshot_series(objective)
    return _replayed_series(cycle, key_results)


def _snapshot_series(objective: Objective) -> ProgressSeries:
    cycle = objective.cycle
    points = list(
        ObjectiveSnapshot.objects.filter(
            objective=objective, day__gte=cycle.start_date, day__lte=cycle.end_date
        )
        .order_by("day")
        .values_list("day", "progress")
    )
    today = min(timezone.localdate(), cycle.end_date)
    if not points or points[-1][0] < today:
        points.append((today, objective.progress))
    return ProgressSeries(cycle, points)


def _replayed_series(cycle: Cycle, key_results: list[KeyResult]) -> ProgressSeries:
    """Check-in key results start at 0 and follow their check-ins."""
    weights = {kr.pk: kr.weight for kr in key_results}
    current = {
        kr.pk: (kr.progress if kr.progress_source == KeyResult.ProgressSource.ROLLUP else 0.0)
        for kr in key_results
    }
    by_pk = {kr.pk: kr for kr in key_results}
    rows = (
        CheckIn.objects.filter(
            key_result__in=[
                kr.pk
                for kr in key_results
                if kr.progress_source == KeyResult.ProgressSource.CHECKINS
            ],
            created_at__date__gte=cycle.start_date,
            created_at__date__lte=cycle.end_date,
        )
        .order_by("created_at", "pk")
        .values_list("key_result_id", "created_at", "value")
    )

    def overall() -> float:
        return math.objective_progress((current[pk], weights[pk]) for pk in current)

    points: list[tuple[date, float]] = [(cycle.start_date, overall())]
    for key_result_id, created_at, value in rows:
        kr = by_pk[key_result_id]
        current[key_result_id] = math.key_result_progress(
            kr.start_value, kr.target_value, value, milestone=kr.is_milestone
        )
        day = timezone.localdate(created_at)
        point = (day, overall())
        if points[-1][0] == day:
            points[-1] = point  # one point a day: the day's last state
        else:
            points.append(point)
    return ProgressSeries(cycle, points)
