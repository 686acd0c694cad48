"""Where a key result lands at the end of its cycle on the pace its check-ins show.

Plain functions with no Django imports, like ``goals.progress``.
"""

from __future__ import annotations

from datetime import date, timedelta

# Only the recent pace counts: check-ins older than this before the latest one are ignored.
FORECAST_WINDOW = timedelta(weeks=6)


def forecast(
    points: list[tuple[date, float]], *, start: date, end: date, today: date
) -> float | None:
    """The progress (0-1) a key result reaches on ``end`` if it keeps its recent pace.

    Method:

    1. Keep the points (day, progress) inside the cycle up to ``today``
       (``start <= day <= min(today, end)``); several points on one day count as that
       day's last one.
    2. Keep those within ``FORECAST_WINDOW`` (6 weeks) of the latest point.
    3. Fit a least-squares line of progress against days; its slope is the pace in
       progress per day. Fewer than two distinct days (or none of the cycle elapsed)
       gives no pace, and the answer is None.
    4. Extrapolate from the latest point (not from the line's intercept, so the forecast
       starts where the key result really is) to ``end``: latest + slope x days left.
    5. Clamp to [0, 1]: a falling key result bottoms out at 0, a fast one at 1.
    """
    if end <= start or today <= start:
        return None
    last_day = min(today, end)
    by_day: dict[date, float] = {}
    for day, progress in sorted(points, key=lambda point: point[0]):
        if start <= day <= last_day:
            by_day[day] = float(progress)
    if len(by_day) < 2:
        return None
    latest_day = max(by_day)
    recent = [(day, value) for day, value in by_day.items() if latest_day - day <= FORECAST_WINDOW]
    if len(recent) < 2:
        return None

    xs = [(day - latest_day).days for day, _ in recent]
    ys = [value for _, value in recent]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread

    landing = by_day[latest_day] + slope * (end - latest_day).days
    return max(0.0, min(1.0, landing))
