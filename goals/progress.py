"""Progress math: plain functions with no Django imports, so they are cheap to test.

Progress is always a float in [0, 1]. Values arrive as ``Decimal`` or ``float``; the
formulas only need ordering and division, so both work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

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
