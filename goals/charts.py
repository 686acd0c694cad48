"""Line charts as SVG geometry: plain functions with no Django imports.

A chart here is dates across and numbers up. ``line_chart`` turns ``(date, value)``
points into everything a template needs to draw them with SVG elements and presentation
attributes only (no inline styles, no script, so a strict Content-Security-Policy holds):
the polyline and its dots, axis ticks with labels, horizontal reference lines, shaded
bands, and an optional straight "expected" line between two points.

Coordinates are SVG user units inside a ``Frame`` (its viewBox), y growing downwards,
rounded to 2 decimals. The pieces (``nice_ticks``, ``date_ticks``, ``Scale``) are public
too, for charts that want to lay themselves out differently.

Two uses, for example::

    # A KPI: readings, its thresholds as lines, the red zone shaded.
    line_chart(readings, references={"green": 90, "red": 70}, bands={"bad": (-inf, 70)})

    # A key result across its cycle: check-ins as steps held until today, against the
    # expected pace from nothing at the start to everything at the end.
    line_chart(
        checkins,
        x_range=(cycle.start_date, cycle.end_date),
        y_range=(0, 1),
        step=True,
        hold_until=today,
        expected=((cycle.start_date, 0), (cycle.end_date, 1)),
        y_label=lambda v: f"{v:.0%}",
    )
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

Number = Decimal | float | int
Point = tuple[date, Number]

# Multiples of a power of ten that make round tick steps (…, 0.25, 0.5, 1, 2, 2.5, 5, 10, …).
NICE_FACTORS = (1, 2, 2.5, 5)
# Date tick spacings tried in turn, finest first: days from the start, weeks from a Monday,
# months from a January (1st of each month, of every other one, quarters, halves).
DAY_STEPS = (1, 2, 3)
WEEK_STEPS = (1, 2)
MONTH_STEPS = (1, 2, 3, 6)


def coordinate(value: float) -> str:
    """37.5 → "37.5", 100.0 → "100": a coordinate as it is written in SVG."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def number_label(value: float, decimals: int = 0) -> str:
    """8500 → "8,500", -0.5 with 1 decimal → "-0.5"; never "-0"."""
    return f"{round(value, decimals) + 0.0:,.{decimals}f}"  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True)
class Frame:
    """The SVG viewBox and the margins around the plot area, where tick labels go."""

    width: float = 600
    height: float = 200
    left: float = 48
    right: float = 12
    top: float = 10
    bottom: float = 24

    @property
    def view_box(self) -> str:
        return f"0 0 {coordinate(self.width)} {coordinate(self.height)}"

    @property
    def plot_right(self) -> float:
        return self.width - self.right

    @property
    def plot_bottom(self) -> float:
        return self.height - self.bottom

    @property
    def plot_width(self) -> float:
        return self.plot_right - self.left

    @property
    def plot_height(self) -> float:
        return self.plot_bottom - self.top


@dataclass(frozen=True)
class Scale:
    """Maps dates to x and values to y inside a frame's plot area. A range of zero width
    (one date, one value) maps to the middle of the plot."""

    frame: Frame
    x_start: date
    x_end: date
    y_low: float
    y_high: float

    def x(self, day: date) -> float:
        span = (self.x_end - self.x_start).days
        if span <= 0:
            return round(self.frame.left + self.frame.plot_width / 2, 2)
        fraction = (day - self.x_start).days / span
        return round(self.frame.left + fraction * self.frame.plot_width, 2)

    def y(self, value: Number) -> float:
        span = self.y_high - self.y_low
        if span <= 0:
            return round(self.frame.top + self.frame.plot_height / 2, 2)
        fraction = (float(value) - self.y_low) / span
        return round(self.frame.plot_bottom - fraction * self.frame.plot_height, 2)


@dataclass(frozen=True)
class Tick:
    """``position`` is x for a date tick and y for a value tick."""

    position: float
    value: float | date
    label: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    day: date
    value: Number


@dataclass(frozen=True)
class Rule:
    """A horizontal line across the plot at ``value``; ``name`` is the caller's key."""

    name: str
    value: float
    y: float
    x1: float
    x2: float


@dataclass(frozen=True)
class Band:
    """A shaded rectangle across the plot between two values; ``name`` is the caller's key."""

    name: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Segment:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Chart:
    frame: Frame
    line: str  # polyline points, "x,y x,y …"; empty without points
    dots: list[Dot]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    rules: list[Rule]
    bands: list[Band]
    expected: Segment | None

    @property
    def is_empty(self) -> bool:
        return not self.dots


# --- Value ticks ------------------------------------------------------------------------


def _pad(value: float) -> tuple[float, float]:
    """A range around a single value, so that a flat series still has a scale."""
    pad = abs(value) * 0.1 or 1.0
    return value - pad, value + pad


def _nice(low: float, high: float, max_ticks: int) -> tuple[list[float], int]:
    """Ticks and the decimals their labels need."""
    if max_ticks < 2:
        raise ValueError("A scale needs at least two ticks.")
    low, high = sorted((float(low), float(high)))
    if low == high:
        low, high = _pad(low)
    exponent = math.floor(math.log10((high - low) / (max_ticks - 1)))
    while True:
        for factor in NICE_FACTORS:
            step = factor * 10.0**exponent
            # The epsilon keeps 0.3 / 0.1 = 2.9999… from adding a tick below 0.3.
            first = math.floor(low / step + 1e-9)
            last = math.ceil(high / step - 1e-9)
            if last - first + 1 <= max_ticks:
                decimals = max(0, -exponent + (1 if factor == 2.5 else 0))
                return [round(k * step, decimals) for k in range(first, last + 1)], decimals
        exponent += 1


def nice_ticks(low: Number, high: Number, *, max_ticks: int = 6) -> list[float]:
    """Evenly spaced round numbers from at or below ``low`` to at or above ``high``.

    The step is 1, 2, 2.5 or 5 times a power of ten, the smallest that needs at most
    ``max_ticks`` ticks: (7000, 9100) → [7000, 7500, 8000, 8500, 9000, 9500]. Equal ends
    are widened by 10 % (or by 1 around zero) so that a flat series still gets a scale.
    """
    return _nice(float(low), float(high), max_ticks)[0]


# --- Date ticks -------------------------------------------------------------------------


def _day_label(day: date) -> str:
    return f"{day.day} {day:%b}"


def _every_day(start: date, end: date, days: int, first: date) -> Iterator[date]:
    day = first
    while day <= end:
        if day >= start:
            yield day
        day += timedelta(days=days)


def _month_starts(start: date, end: date, months: int) -> Iterator[date]:
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        day = date(year, month, 1)
        if day >= start and (month - 1) % months == 0:
            yield day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _year_starts(start: date, end: date, years: int) -> Iterator[date]:
    for year in range(start.year, end.year + 1):
        day = date(year, 1, 1)
        if day >= start and year % years == 0:
            yield day


def _month_labels(days: list[date]) -> list[str]:
    """Month labels with the year on the first tick and on each January: "Nov 2025",
    "Dec", "Jan 2026"."""
    return [
        f"{day:%b %Y}" if index == 0 or day.month == 1 else f"{day:%b}"
        for index, day in enumerate(days)
    ]


def _date_candidates(start: date, end: date) -> Iterator[tuple[Iterator[date], str]]:
    """Tick series from the finest to the coarsest, each with how its labels read."""
    monday = start + timedelta(days=-start.weekday() % 7)
    for days in DAY_STEPS:
        yield _every_day(start, end, days, start), "day"
    for weeks in WEEK_STEPS:
        yield _every_day(start, end, 7 * weeks, monday), "day"
    for months in MONTH_STEPS:
        yield _month_starts(start, end, months), "month"
    for power in itertools.count():
        for factor in (1, 2, 5):
            yield _year_starts(start, end, factor * 10**power), "year"


def date_ticks(start: date, end: date, *, max_ticks: int = 8) -> list[tuple[date, str]]:
    """Labelled dates between ``start`` and ``end`` (inclusive), at most ``max_ticks``.

    The finest series that fits wins: every 1, 2 or 3 days from ``start``, Mondays, every
    other Monday, month starts (every 1, 2, 3 or 6 months), then years (every 1, 2, 5,
    10, 20… years). Days and weeks read "5 Jan", months "Jan" (with the year on the
    first tick and on each January), years "2026". When no tick of a series that fits
    falls inside the range, ``start`` alone is the tick.
    """
    if end < start:
        start, end = end, start
    for series, unit in _date_candidates(start, end):
        days = list(itertools.islice(series, max_ticks + 1))
        if len(days) > max_ticks:
            continue
        if not days:
            break
        if unit == "month":
            return list(zip(days, _month_labels(days), strict=True))
        if unit == "year":
            return [(day, str(day.year)) for day in days]
        return [(day, _day_label(day)) for day in days]
    return [(start, _day_label(start))]


# --- The chart --------------------------------------------------------------------------


def _steps(points: Sequence[tuple[date, float]]) -> list[tuple[date, float]]:
    """Each value held until the next point's date, then a vertical jump."""
    stepped: list[tuple[date, float]] = []
    for (day, value), (next_day, _) in itertools.pairwise(points):
        stepped += [(day, value), (next_day, value)]
    return [*stepped, points[-1]] if points else []


def _y_domain(
    values: list[float], y_range: tuple[Number, Number] | None, max_ticks: int, margin: float
) -> tuple[float, float, list[float], int]:
    if y_range is not None:
        low, high = sorted((float(y_range[0]), float(y_range[1])))
        ticks, decimals = _nice(low, high, max_ticks)
        inside = [tick for tick in ticks if low - 1e-9 <= tick <= high + 1e-9]
        return low, high, inside, decimals
    low, high = min(values, default=0.0), max(values, default=1.0)
    room = (high - low) * margin
    ticks, decimals = _nice(low - room, high + room, max_ticks)
    return ticks[0], ticks[-1], ticks, decimals


def line_chart(
    points: Iterable[Point],
    *,
    frame: Frame | None = None,
    x_range: tuple[date, date] | None = None,
    y_range: tuple[Number, Number] | None = None,
    references: Mapping[str, Number] | None = None,
    bands: Mapping[str, tuple[Number, Number]] | None = None,
    expected: tuple[Point, Point] | None = None,
    step: bool = False,
    hold_until: date | None = None,
    max_x_ticks: int = 8,
    max_y_ticks: int = 6,
    y_margin: float = 0.0,
    y_label: Callable[[float], str] | None = None,
) -> Chart:
    """The geometry of a line chart of ``points`` (in any order; drawn by date).

    - ``x_range``: the dates across (default: from the first to the last date of the
      points, ``hold_until`` and ``expected``).
    - ``y_range``: the values up, exactly (default: round numbers around every value of
      the points, ``references``, finite ``bands`` ends and ``expected``, widened first
      by ``y_margin`` times their spread on both sides so nothing sits on the edge).
    - ``references``: name → value, a horizontal ``Rule`` each (thresholds, targets).
    - ``bands``: name → (low, high), a shaded ``Band`` each, clipped to the plot; use
      ``math.inf`` / ``-math.inf`` for a band that runs to the edge.
    - ``expected``: two points joined by a straight ``Segment`` (e.g. the expected pace).
    - ``step``: hold each value until the next point (check-ins) instead of joining the
      points with slopes; ``hold_until`` extends the last value to that date.
    - ``y_label``: formats value tick labels (default: thousands separated, as many
      decimals as the tick step needs).
    """
    frame = frame or Frame()
    ordered = sorted(points, key=lambda point: point[0])
    series = [(day, float(value)) for day, value in ordered]
    references = references or {}
    bands = bands or {}
    drawn = _steps(series) if step else list(series)
    if hold_until is not None and series and hold_until > series[-1][0]:
        drawn.append((hold_until, series[-1][1]))

    days = [day for day, _ in drawn] + [day for day, _ in expected or ()]
    x_start, x_end = x_range or (min(days, default=date.min), max(days, default=date.min))
    values = [value for _, value in series] + [float(value) for value in references.values()]
    values += [float(end) for band in bands.values() for end in band if math.isfinite(end)]
    values += [float(value) for _, value in expected or ()]
    y_low, y_high, y_values, decimals = _y_domain(values, y_range, max_y_ticks, y_margin)
    scale = Scale(frame, x_start, x_end, y_low, y_high)

    label = y_label or (lambda value: number_label(value, decimals))
    x_ticks = (
        [
            Tick(scale.x(day), day, text)
            for day, text in date_ticks(x_start, x_end, max_ticks=max_x_ticks)
        ]
        if x_range or days
        else []
    )
    return Chart(
        frame=frame,
        line=" ".join(f"{coordinate(scale.x(d))},{coordinate(scale.y(v))}" for d, v in drawn),
        dots=[
            Dot(scale.x(day), scale.y(value), day, original)
            for (day, value), (_, original) in zip(series, ordered, strict=True)
        ],
        x_ticks=x_ticks,
        y_ticks=[Tick(scale.y(value), value, label(value)) for value in y_values],
        rules=[
            Rule(name, float(value), scale.y(value), frame.left, frame.plot_right)
            for name, value in references.items()
        ],
        bands=[
            band
            for name, (low, high) in bands.items()
            if (band := _band(scale, name, float(low), float(high))) is not None
        ],
        expected=(
            Segment(
                scale.x(expected[0][0]),
                scale.y(expected[0][1]),
                scale.x(expected[1][0]),
                scale.y(expected[1][1]),
            )
            if expected
            else None
        ),
    )


def _band(scale: Scale, name: str, low: float, high: float) -> Band | None:
    """The part of [low, high] inside the plot, or None when nothing of it shows."""
    low, high = sorted((low, high))
    low, high = max(low, scale.y_low), min(high, scale.y_high)
    if high <= low:
        return None
    top, bottom = scale.y(high), scale.y(low)
    frame = scale.frame
    return Band(name, frame.left, top, round(frame.plot_width, 2), round(bottom - top, 2))
