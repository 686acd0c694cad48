"""The progress math of PRODUCT.md, on hand-computed values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from goals import progress as math


@pytest.mark.parametrize(
    ("start", "target", "current", "expected"),
    [
        (0, 100, 0, 0.0),
        (0, 100, 25, 0.25),
        (0, 100, 100, 1.0),
        (10, 20, 15, 0.5),
        (0, 100, 150, 1.0),  # overshooting is clamped
        (0, 100, -20, 0.0),  # going backwards is clamped
        (8, 4, 6, 0.5),  # decreasing: churn from 8% to 4%, now 6%
        (8, 4, 4, 1.0),
        (8, 4, 3, 1.0),  # beat a decreasing target: still 1
        (8, 4, 9, 0.0),  # got worse on a decreasing target
        (Decimal("1.5"), Decimal("0.5"), Decimal("1.25"), 0.25),
        (-10, 10, 0, 0.5),
    ],
)
def test_key_result_progress(start, target, current, expected):
    assert math.key_result_progress(start, target, current) == pytest.approx(expected)


def test_milestone_is_zero_until_done_then_one():
    assert math.key_result_progress(0, 1, 0, milestone=True) == 0.0
    assert math.key_result_progress(0, 1, 1, milestone=True) == 1.0


def test_start_equal_to_target_is_refused():
    with pytest.raises(ValueError, match="target different"):
        math.key_result_progress(5, 5, 5)


def test_objective_progress_is_weighted_mean_of_key_results():
    # (0.5 * 1 + 1.0 * 3) / 4 = 0.875
    assert math.objective_progress([(0.5, 1), (1.0, 3)]) == pytest.approx(0.875)
    assert math.objective_progress([(0.2, Decimal("0.5")), (0.8, Decimal("1.5"))]) == (
        pytest.approx(0.65)
    )


def test_objective_without_key_results_has_no_progress():
    assert math.objective_progress([]) == 0.0


def test_team_score_is_plain_mean_of_objectives():
    assert math.team_score([0.2, 0.4, 0.9]) == pytest.approx(0.5)
    assert math.team_score([]) == 0.0


def test_expected_progress_is_fraction_of_cycle_elapsed():
    start, end = dt.date(2026, 10, 1), dt.date(2026, 12, 31)  # 91 days
    assert math.expected_progress(start, end, start) == 0.0
    assert math.expected_progress(start, end, dt.date(2026, 11, 15)) == pytest.approx(45 / 91)
    assert math.expected_progress(start, end, end) == 1.0
    assert math.expected_progress(start, end, dt.date(2026, 9, 1)) == 0.0
    assert math.expected_progress(start, end, dt.date(2027, 2, 1)) == 1.0


def test_expected_progress_needs_a_cycle_that_ends_after_it_starts():
    with pytest.raises(ValueError, match="end after"):
        math.expected_progress(dt.date(2026, 1, 2), dt.date(2026, 1, 1), dt.date(2026, 1, 1))


def test_on_pace_with_good_confidence_needs_no_attention():
    assert not math.needs_attention(progress=0.5, expected=0.6, confidence=7)


def test_trailing_the_pace_by_a_wide_margin_needs_attention():
    attention = math.needs_attention(progress=0.2, expected=0.6, confidence=8)
    assert attention
    assert attention.reasons == ("40% behind the expected pace",)
    assert attention.behind_pace


def test_exactly_at_the_margin_is_not_yet_attention():
    assert not math.needs_attention(progress=0.25, expected=0.5, confidence=None)


def test_low_confidence_needs_attention_even_on_pace():
    attention = math.needs_attention(progress=0.9, expected=0.5, confidence=3)
    assert attention.reasons == ("low confidence (3/10)",)
    assert not attention.behind_pace


def test_both_reasons_are_given():
    attention = math.needs_attention(progress=0.0, expected=0.9, confidence=1)
    assert len(attention.reasons) == 2


@pytest.mark.parametrize(
    ("confidence", "band"),
    [
        (None, "none"),
        (1, "low"),
        (4, "low"),
        (5, "medium"),
        (6, "medium"),
        (7, "high"),
        (10, "high"),
    ],
)
def test_confidence_bands(confidence, band):
    assert math.confidence_band(confidence) == band


# --- Grading ------------------------------------------------------------------------------


def test_objective_grade_is_the_weighted_mean_of_graded_key_results():
    # (0.4 * 1 + 1.0 * 3) / 4 = 0.85
    assert math.objective_grade([(Decimal("0.4"), 1), (Decimal("1.0"), Decimal(3))]) == (
        pytest.approx(0.85)
    )
    # Equal weights: (0.3 + 0.6 + 0.9) / 3 = 0.6
    assert math.objective_grade([(0.3, 1), (0.6, 1), (0.9, 1)]) == pytest.approx(0.6)


def test_objective_grade_leaves_out_ungraded_key_results_and_says_it_is_partial():
    rows = [(Decimal("0.5"), 1), (None, 5)]
    assert math.objective_grade(rows) == pytest.approx(0.5)
    assert math.grading_is_partial(rows)
    assert not math.grading_is_partial([(Decimal("0.5"), 1)])
    assert not math.grading_is_partial([(None, 1)])


def test_objective_grade_is_none_when_nothing_is_graded():
    assert math.objective_grade([]) is None
    assert math.objective_grade([(None, 1), (None, 2)]) is None


@pytest.mark.parametrize(
    ("grade", "band"),
    [
        (0, "missed"),
        (Decimal("0.3"), "missed"),
        (Decimal("0.34"), "missed"),
        (Decimal("0.35"), "progress"),  # rounds half up to 0.4
        (0.6, "progress"),
        (Decimal("0.64"), "progress"),
        (Decimal("0.65"), "delivered"),
        (1, "delivered"),
        (None, None),
    ],
)
def test_grade_band_by_the_grade_rounded_to_one_decimal(grade, band):
    assert math.grade_band(grade) == band


def test_verdicts_for_committed_and_aspirational_objectives():
    assert math.grade_verdict("committed", Decimal("0.9")) == "deserves an explanation"
    assert math.grade_verdict("committed", 0.999) is None  # 1.00 to two decimals
    assert math.grade_verdict("committed", Decimal("1.0")) is None
    assert math.grade_verdict("aspirational", Decimal("0.7")) == "a good result"
    assert math.grade_verdict("aspirational", Decimal("0.6")) is None
    assert math.grade_verdict("committed", None) is None


def test_suggested_grade_and_reason_rule():
    assert math.suggested_grade(0.85) == Decimal("0.9")
    assert math.suggested_grade(0.04) == Decimal("0.0")
    assert math.suggested_grade(1.0) == Decimal("1.0")
    # Exactly 0.1 away is still fine; more needs a reason (no float noise: 0.6 - 0.5).
    assert not math.grade_needs_reason(Decimal("0.6"), 0.5)
    assert not math.grade_needs_reason(Decimal("0.4"), 0.5)
    assert math.grade_needs_reason(Decimal("0.61"), 0.5)
    assert math.grade_needs_reason(Decimal("0.3"), 0.64)
