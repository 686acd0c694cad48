"""An objective's progress replayed from its key results' check-ins."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from checkins.queries import objective_progress_series
from goals.models import KeyResult, Objective, ObjectiveSnapshot
from tests import factories


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.mark.django_db
def test_series_is_the_weighted_mean_after_each_days_check_ins():
    cycle = factories.CycleFactory(start_date=dt.date(2026, 10, 1), end_date=dt.date(2026, 12, 31))
    objective = factories.ObjectiveFactory(cycle=cycle)
    signups = factories.KeyResultFactory(objective=objective, start_value=0, target_value=100)
    churn = factories.KeyResultFactory(
        objective=objective, start_value=8, target_value=4, weight=Decimal(3)
    )
    factories.CheckInFactory(key_result=signups, value=50, created_at=at(dt.date(2026, 10, 5)))
    factories.CheckInFactory(key_result=churn, value=6, created_at=at(dt.date(2026, 10, 12), 9))
    factories.CheckInFactory(key_result=churn, value=5, created_at=at(dt.date(2026, 10, 12), 17))
    factories.CheckInFactory(  # before the cycle: not part of its story
        key_result=signups, value=90, created_at=at(dt.date(2026, 9, 20))
    )

    series = objective_progress_series(objective, [signups, churn])

    assert series.points == [
        (dt.date(2026, 10, 1), 0.0),
        (dt.date(2026, 10, 5), pytest.approx(0.5 / 4)),  # signups 0.5 × 1, churn 0 × 3
        (dt.date(2026, 10, 12), pytest.approx((0.5 + 0.75 * 3) / 4)),  # the day's last value
    ]


@pytest.mark.django_db
def test_an_objective_that_rolls_up_is_charted_from_its_snapshots():
    cycle = factories.CycleFactory()
    objective = factories.ObjectiveFactory(cycle=cycle)
    rolled = factories.KeyResultFactory(
        objective=objective, progress_source=KeyResult.ProgressSource.ROLLUP
    )
    first, second = cycle.start_date + dt.timedelta(days=7), cycle.start_date + dt.timedelta(14)
    ObjectiveSnapshot.objects.create(objective=objective, day=first, progress=0.1)
    ObjectiveSnapshot.objects.create(objective=objective, day=second, progress=0.25)
    Objective.objects.filter(pk=objective.pk).update(progress=0.3)
    objective.refresh_from_db()

    assert objective_progress_series(objective, [rolled]).points == [
        (first, 0.1),
        (second, 0.25),
        (timezone.localdate(), 0.3),  # today's progress closes the line
    ]
