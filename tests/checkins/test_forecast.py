"""The forecast: where a key result lands at the cycle's end on its recent pace."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from checkins.forecast import forecast

START = date(2026, 10, 1)
END = START + timedelta(days=90)


def _weekly(*values: float, first: date = START) -> list[tuple[date, float]]:
    return [(first + timedelta(weeks=i), value) for i, value in enumerate(values)]


def test_steady_pace_lands_on_the_straight_line():
    # 0.05 a week for 4 weeks, then 62 days more at that pace.
    points = _weekly(0.0, 0.05, 0.1, 0.15, 0.2)
    today = START + timedelta(weeks=4)
    assert forecast(points, start=START, end=END, today=today) == pytest.approx(
        0.2 + 0.05 / 7 * (END - today).days
    )


def test_accelerating_pace_forecasts_more_than_the_average_pace():
    points = _weekly(0.0, 0.0, 0.0, 0.02, 0.05, 0.1, 0.2, 0.3)
    today = START + timedelta(weeks=7)
    landing = forecast(points, start=START, end=END, today=today)
    average_pace = 0.3 / (7 * 7)
    assert landing is not None
    # Only the last 6 weeks count, and they are steeper than the whole cycle's average.
    assert landing > 0.3 + average_pace * (END - today).days


def test_flat_series_stays_where_it_is():
    points = _weekly(0.4, 0.4, 0.4, 0.4)
    assert forecast(points, start=START, end=END, today=START + timedelta(weeks=3)) == 0.4


def test_decreasing_series_is_clamped_at_zero():
    points = _weekly(0.5, 0.4, 0.3, 0.2)
    assert forecast(points, start=START, end=END, today=START + timedelta(weeks=3)) == 0.0


def test_fast_series_is_clamped_at_one():
    points = _weekly(0.0, 0.3, 0.6)
    assert forecast(points, start=START, end=END, today=START + timedelta(weeks=2)) == 1.0


def test_one_point_gives_no_forecast():
    assert forecast([(START, 0.3)], start=START, end=END, today=START + timedelta(days=10)) is None


def test_several_points_on_one_day_count_once():
    points = [(START + timedelta(days=3), 0.1), (START + timedelta(days=3), 0.2)]
    assert forecast(points, start=START, end=END, today=START + timedelta(days=4)) is None


def test_no_time_elapsed_gives_no_forecast():
    assert forecast(_weekly(0.1, 0.2), start=START, end=END, today=START) is None


def test_points_after_the_end_or_after_today_are_ignored():
    points = [*_weekly(0.0, 0.05, 0.1), (END + timedelta(days=3), 0.0)]
    today = START + timedelta(weeks=2)
    future = [(today + timedelta(days=5), 0.0)]
    expected = 0.1 + 0.05 / 7 * (END - today).days
    assert forecast(points, start=START, end=END, today=today) == pytest.approx(expected)
    assert forecast(points[:3] + future, start=START, end=END, today=today) == pytest.approx(
        expected
    )


def test_after_the_cycle_the_forecast_is_the_last_state_in_the_cycle():
    points = _weekly(0.0, 0.3, 0.6, 0.7)
    assert forecast(points, start=START, end=START + timedelta(weeks=3), today=END) == 0.7


def test_old_points_outside_the_window_are_ignored():
    # A fast start 10 weeks ago, then flat for the last 6 weeks: the forecast is flat.
    points = _weekly(0.0, 0.2, 0.4, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5)
    assert forecast(points, start=START, end=END, today=START + timedelta(weeks=9)) == 0.5
