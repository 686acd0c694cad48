"""Calibration: how a team (or a person) sets targets and how honest its confidence is,
read from the key results of closed cycles. Plain functions over plain rows, no Django.

Definitions (the calibration page repeats them in plain words):

- **Rows.** One per active key result of an active objective in a closed cycle. A key
  result counts as its objective's kind (committed or aspirational). Ungraded key
  results only count towards the check-in rhythm.
- **Grade distribution.** Graded key results per band, by the grade rounded to one
  decimal (``goals.progress.grade_band``): missed 0.0–0.3, progress 0.4–0.6,
  delivered 0.7–1.0.
- **Means.** The plain (unweighted) mean grade of the graded key results, over all of
  them and separately for committed and aspirational ones: each key result is one
  target someone set, whatever its weight in its objective.
- **Signals.** The quality coach's rule (``goals.coach.calibration_hints``): with at
  least ``MIN_GRADES_FOR_CALIBRATION`` graded key results, a mean at or above
  ``TIMID_GRADE`` says the targets were too timid, at or below ``ABSURD_GRADE`` too absurd.
- **Check-in rhythm.** For a key result checked in by check-ins (not rolled up from
  aligned objectives): the share of the ISO weeks its cycle touches (Monday of the
  start date's week to the end date's week) in which it had at least one check-in
  dated within the cycle. A group's rhythm is the mean of its key results' shares.
- **Brier score.** For each graded key result with at least one check-in within its
  cycle, the forecast ``p`` is the mean confidence of those check-ins divided by 10 and
  the outcome ``o`` is 1 when the grade is in the delivered band (0.7 or more once
  rounded to one decimal), else 0. The score is the mean of ``(p - o)²``: 0 is perfect,
  0.25 is what always answering 5/10 earns, 1 is always certain and always wrong.
- **Reliability.** The same forecasts in buckets of mean confidence (rounded half up to
  a whole number): 1–3, 4–6, 7–8, 9–10, each with the share of its key results delivered.
  A well-calibrated "8/10" is delivered about eight times in ten.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from goals import coach
from goals import progress as math

Number = Decimal | float | int
BANDS = (math.MISSED, math.PROGRESS, math.DELIVERED)
# Confidence buckets of the reliability table: (label, lowest, highest), inclusive.
BUCKETS = (("1–3", 1, 3), ("4–6", 4, 6), ("7–8", 7, 8), ("9–10", 9, 10))
# Brier readings, from the best: a score up to the bound reads as the label.
WELL_CALIBRATED = 0.15
ROUGHLY_CALIBRATED = 0.25  # what answering 5/10 every time would earn
# Forecasts this far above (below) the share delivered read as over- (under-) confident.
CONFIDENCE_BIAS = 0.1


@dataclass(frozen=True)
class KeyResultRow:
    """One key result of a closed cycle, with what its check-ins said during the cycle."""

    key_result_id: int
    team_id: int
    owner_id: int
    kind: str  # its objective's kind: "committed" or "aspirational"
    grade: Number | None
    weight: Number
    cycle_start: date
    cycle_end: date
    checks_in: bool = True  # False when its progress rolls up from aligned objectives
    checkin_weeks: frozenset[date] = frozenset()  # Mondays of weeks with a check-in in the cycle
    mean_confidence: float | None = None  # of its check-ins within the cycle

    @property
    def band(self) -> str | None:
        return math.grade_band(self.grade)

    @property
    def delivered(self) -> bool:
        return self.band == math.DELIVERED


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def cycle_weeks(start: date, end: date) -> int:
    """How many ISO weeks the days ``start``..``end`` touch."""
    return (monday(end) - monday(start)).days // 7 + 1


def rhythm(row: KeyResultRow) -> float:
    """The share of its cycle's weeks in which the key result was checked in."""
    first, last = monday(row.cycle_start), monday(row.cycle_end)
    weeks = sum(1 for week in row.checkin_weeks if first <= week <= last)
    return weeks / cycle_weeks(row.cycle_start, row.cycle_end)


def confidence_bucket(mean_confidence: float) -> str:
    """The reliability bucket of a mean confidence, rounded half up: 6.5 → "7–8"."""
    whole = int(Decimal(str(mean_confidence)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    for label, low, high in BUCKETS:
        if low <= whole <= high:
            return label
    raise ValueError(f"A confidence goes from 1 to 10, not {mean_confidence}.")


def brier_reading(score: float | None) -> str:
    if score is None:
        return "no forecasts"
    if score <= WELL_CALIBRATED:
        return "well calibrated"
    if score <= ROUGHLY_CALIBRATED:
        return "roughly calibrated"
    return "poorly calibrated"


@dataclass(frozen=True)
class Bucket:
    label: str
    forecasts: int
    delivered: int

    @property
    def share(self) -> float | None:
        return self.delivered / self.forecasts if self.forecasts else None


@dataclass(frozen=True)
class Segment:
    """One band's part of a stacked bar, in SVG units of a 100-wide bar."""

    band: str
    count: int
    x: float
    width: float


@dataclass
class GroupCalibration:
    key: Hashable
    key_results: int = 0
    graded: int = 0
    distribution: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BANDS, 0))
    mean: float | None = None
    committed: int = 0
    committed_mean: float | None = None
    aspirational: int = 0
    aspirational_mean: float | None = None
    signals: list[coach.Hint] = field(default_factory=list)
    rhythm: float | None = None
    forecasts: int = 0
    brier: float | None = None
    mean_forecast: float | None = None
    delivered_share: float | None = None  # of the key results with a forecast
    reliability: list[Bucket] = field(default_factory=list)

    @property
    def reading(self) -> str:
        return brier_reading(self.brier)

    @property
    def bias(self) -> str:
        """ "over-confident", "under-confident" or "" from forecasts against outcomes."""
        if self.mean_forecast is None or self.delivered_share is None:
            return ""
        gap = self.mean_forecast - self.delivered_share
        if gap > CONFIDENCE_BIAS:
            return "over-confident"
        if gap < -CONFIDENCE_BIAS:
            return "under-confident"
        return ""

    @property
    def enough(self) -> bool:
        """Enough graded key results for the signals and the score to say something."""
        return self.graded >= coach.MIN_GRADES_FOR_CALIBRATION

    @property
    def segments(self) -> list[Segment]:
        return stacked_segments(self.distribution)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def stacked_segments(distribution: dict[str, int]) -> list[Segment]:
    """The bands of ``distribution`` as consecutive segments of a 100-unit bar; empty
    bands are left out, and the last segment ends exactly at 100."""
    total = sum(distribution.values())
    segments: list[Segment] = []
    x = 0.0
    for band in BANDS:
        count = distribution.get(band, 0)
        if not count:
            continue
        width = round(100 * count / total, 2)
        segments.append(Segment(band, count, round(x, 2), width))
        x += width
    if segments:
        last = segments[-1]
        segments[-1] = Segment(last.band, last.count, last.x, round(100 - last.x, 2))
    return segments


def calibrate(rows: Iterable[KeyResultRow]) -> GroupCalibration:
    """Everything the calibration page says about one group's ``rows``."""
    rows = list(rows)
    result = GroupCalibration(key=None, key_results=len(rows))
    graded = [row for row in rows if row.grade is not None]
    grades = [float(row.grade) for row in graded]  # type: ignore[arg-type]
    result.graded = len(graded)
    for row in graded:
        result.distribution[row.band] += 1  # type: ignore[index]
    result.mean = _mean(grades)
    committed = [float(r.grade) for r in graded if r.kind == "committed"]  # type: ignore[arg-type]
    aspirational = [float(r.grade) for r in graded if r.kind == "aspirational"]  # type: ignore[arg-type]
    result.committed, result.committed_mean = len(committed), _mean(committed)
    result.aspirational, result.aspirational_mean = len(aspirational), _mean(aspirational)
    result.signals = coach.calibration_hints(result.mean, result.graded)
    result.rhythm = _mean([rhythm(row) for row in rows if row.checks_in])

    forecasts = [row for row in graded if row.mean_confidence is not None]
    result.forecasts = len(forecasts)
    if forecasts:
        pairs = [(row.mean_confidence / 10, 1.0 if row.delivered else 0.0) for row in forecasts]  # type: ignore[operator]
        result.brier = sum((p - o) ** 2 for p, o in pairs) / len(pairs)
        result.mean_forecast = sum(p for p, _ in pairs) / len(pairs)
        result.delivered_share = sum(o for _, o in pairs) / len(pairs)
    counts: dict[str, list[int]] = {label: [0, 0] for label, _, _ in BUCKETS}
    for row in forecasts:
        tally = counts[confidence_bucket(row.mean_confidence)]  # type: ignore[arg-type]
        tally[0] += 1
        tally[1] += row.delivered
    result.reliability = [Bucket(label, *counts[label]) for label, _, _ in BUCKETS]
    return result


def calibrate_by(
    rows: Iterable[KeyResultRow], key: Callable[[KeyResultRow], Hashable]
) -> dict[Hashable, GroupCalibration]:
    """``calibrate`` per group, the groups named by ``key(row)`` (a team id, an owner id)."""
    groups: dict[Hashable, list[KeyResultRow]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    results = {}
    for group, members in groups.items():
        result = calibrate(members)
        result.key = group
        results[group] = result
    return results
