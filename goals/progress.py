"""Progress math: plain functions with no Django imports, so they are cheap to test.

Progress is always a float in [0, 1]. Values arrive as ``Decimal`` or ``float``; the
formulas only need ordering and division, so both work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

Number = Decimal | float | int

# A key result trailing the cycle's elapsed fraction by more than this needs attention.
ATTENTION_GAP = 0.25
# Confidence (1-10) at or below this needs attention, whatever the progress says.
LOW_CONFIDENCE = 4


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def key_result_progress(
    start: Number, target: Number, current: Number, *, milestone: bool = False
) -> float:
    """(current - start) / (target - start), clamped to [0, 1].

    Works for decreasing key results too ("churn from 8% to 4%"): both differences are
    negative, so the ratio is still the fraction of the way travelled. A milestone is
    done (1) once its current value reaches the target, otherwise 0.
    """
    if start == target:
        raise ValueError("A key result needs a target different from its start.")
    if milestone:
        return 1.0 if current == target else 0.0
    return clamp(float(current - start) / float(target - start))


def weighted_mean(pairs: Iterable[tuple[float, Number]]) -> float:
    """Weighted mean of ``(progress, weight)`` pairs; 0 when there is nothing to average."""
    total = 0.0
    weights = 0.0
    for progress, weight in pairs:
        total += progress * float(weight)
        weights += float(weight)
    return total / weights if weights else 0.0


def objective_progress(key_results: Iterable[tuple[float, Number]]) -> float:
    """An objective's progress: weighted mean of its key results' ``(progress, weight)``."""
    return weighted_mean(key_results)


def team_score(objective_progresses: Iterable[float]) -> float:
    """A team's score for a cycle: plain mean of its objectives' progress."""
    return weighted_mean((progress, 1) for progress in objective_progresses)


def expected_progress(start: date, end: date, on: date) -> float:
    """The fraction of the cycle elapsed on ``on`` (0 before it starts, 1 after it ends)."""
    if end <= start:
        raise ValueError("A cycle must end after it starts.")
    return clamp((on - start).days / (end - start).days)


@dataclass(frozen=True)
class Attention:
    """Why a key result or objective needs attention; empty when it does not."""

    reasons: tuple[str, ...] = ()
    behind_pace: bool = False

    def __bool__(self) -> bool:
        return bool(self.reasons)


def needs_attention(progress: float, expected: float, confidence: int | None) -> Attention:
    """Trailing the expected pace by a wide margin, or low confidence, needs attention."""
    reasons = []
    behind_pace = expected - progress > ATTENTION_GAP
    if behind_pace:
        reasons.append(f"{expected - progress:.0%} behind the expected pace")
    if confidence is not None and confidence <= LOW_CONFIDENCE:
        reasons.append(f"low confidence ({confidence}/10)")
    return Attention(tuple(reasons), behind_pace)


def confidence_band(confidence: int | None) -> str:
    """A colour band for a confidence of 1-10: ``low``, ``medium``, ``high`` or ``none``."""
    if confidence is None:
        return "none"
    if confidence <= LOW_CONFIDENCE:
        return "low"
    if confidence <= 6:
        return "medium"
    return "high"


# --- Grading --------------------------------------------------------------------------------

# A grade this far from the progress (or further) says why it departs.
GRADE_REASON_GAP = Decimal("0.1")
# The grade bands, by the grade rounded to one decimal.
MISSED, PROGRESS, DELIVERED = "missed", "progress", "delivered"
BAND_LABELS = {
    MISSED: "Missed",
    PROGRESS: "Progress made",
    DELIVERED: "Delivered",
}
COMMITTED_SHORT = "deserves an explanation"
ASPIRATIONAL_GOOD = "a good result"
ONE_DECIMAL = Decimal("0.1")


def _decimal(value: Number) -> Decimal:
    """A float as the decimal it prints as (0.1 → Decimal("0.1"), not 0.1000000000000000055…)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def one_decimal(value: Number) -> Decimal:
    """``value`` rounded half up to one decimal: 0.65 → 0.7, 0.349 → 0.3."""
    return _decimal(value).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def suggested_grade(progress: Number) -> Decimal:
    """The grade a key result starts from: its progress rounded to 0.1, within 0–1."""
    return min(max(one_decimal(progress), Decimal(0)), Decimal(1))


def grade_needs_reason(grade: Number, progress: Number) -> bool:
    """A grade more than 0.1 away from the progress must say why."""
    return abs(_decimal(grade) - _decimal(progress)) > GRADE_REASON_GAP


def objective_grade(rows: Iterable[tuple[Number | None, Number]]) -> float | None:
    """An objective's grade: the weighted mean of its key results' ``(grade, weight)``.

    Ungraded key results (grade None) are left out, so a half-graded objective shows the
    mean of what is graded (``grading_is_partial`` says so); None when nothing is graded.
    """
    graded = [(float(grade), weight) for grade, weight in rows if grade is not None]
    if not graded:
        return None
    if not sum(float(weight) for _, weight in graded):
        return round(sum(grade for grade, _ in graded) / len(graded), 6)
    # Rounded so that 0.6 and 0.7 make 0.65 (band "delivered"), not 0.6499999….
    return round(weighted_mean(graded), 6)


def grading_is_partial(rows: Iterable[tuple[Number | None, Number]]) -> bool:
    """Some key results are graded and some are not."""
    grades = [grade for grade, _ in rows]
    return any(grade is None for grade in grades) and any(grade is not None for grade in grades)


def grade_band(grade: Number | None) -> str | None:
    """``missed`` (0.0–0.3), ``progress`` (0.4–0.6) or ``delivered`` (0.7–1.0), by the
    grade rounded to one decimal; None for no grade."""
    if grade is None:
        return None
    rounded = one_decimal(grade)
    if rounded <= Decimal("0.3"):
        return MISSED
    if rounded <= Decimal("0.6"):
        return PROGRESS
    return DELIVERED


def grade_verdict(kind: str, grade: Number | None) -> str | None:
    """What a grade means for the kind of objective: a committed one below 1.0 deserves
    an explanation; 0.7 or more on an aspirational one is a good result."""
    if grade is None:
        return None
    if kind == "committed" and _decimal(grade).quantize(Decimal("0.01"), ROUND_HALF_UP) < 1:
        return COMMITTED_SHORT
    if kind == "aspirational" and one_decimal(grade) >= Decimal("0.7"):
        return ASPIRATIONAL_GOOD
    return None
