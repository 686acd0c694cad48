"""The quality coach's rules, each on a case that should and one that should not fire."""

from __future__ import annotations

import pytest

from goals import coach
from goals.coach import KeyResultDraft, ObjectiveDraft


def rules(hints) -> list[str]:
    return [hint.rule for hint in hints]


@pytest.mark.parametrize(
    "title",
    ["Launch the new onboarding flow", "Hire 3 engineers", "Run 5 customer sessions", "ship v2"],
)
def test_activities_are_flagged_as_initiatives(title):
    hints = coach.key_result_hints(KeyResultDraft(title, start_value=0, target_value=1))
    assert rules(hints) == ["activity"]
    assert "initiative" in hints[0].why


@pytest.mark.parametrize(
    "title",
    [
        "Reduce churn from 8% to 4%",
        "Weekly active riders from 1,200 to 2,000",
        "Launch conversion increase from 2% to 3%",
        "Net promoter score 30 → 45",
    ],
)
def test_measurable_outcomes_are_not_activities(title):
    assert coach.key_result_hints(KeyResultDraft(title, start_value=1, target_value=2)) == []


def test_missing_baseline_or_target_is_flagged_but_not_for_milestones():
    assert rules(coach.key_result_hints(KeyResultDraft("Revenue", start_value=None))) == [
        "no-baseline"
    ]
    assert coach.key_result_hints(KeyResultDraft("SOC 2 report signed", is_milestone=True)) == []


def test_never_checked_in_fires_only_once_a_check_in_is_due():
    fresh = KeyResultDraft("NPS", 1, 2, checkin_count=0, days_since_created=2)
    forgotten = KeyResultDraft("NPS", 1, 2, checkin_count=0, days_since_created=9)
    assert coach.key_result_hints(fresh) == []
    assert rules(coach.key_result_hints(forgotten)) == ["never-checked-in"]


def krs(count: int) -> tuple[KeyResultDraft, ...]:
    return tuple(KeyResultDraft(f"Metric {n}", 0, 1) for n in range(count))


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, ["too-few-key-results"]),
        (1, ["too-few-key-results"]),
        (2, []),
        (4, []),
        (5, ["too-many-key-results"]),
    ],
)
def test_two_to_four_key_results(count, expected):
    assert rules(coach.objective_hints(ObjectiveDraft("Delight riders", krs(count)))) == expected


def test_more_than_five_objectives_for_a_team_is_flagged():
    assert coach.objective_hints(ObjectiveDraft("X", krs(3), team_objective_count=5)) == []
    assert rules(coach.objective_hints(ObjectiveDraft("X", krs(3), team_objective_count=6))) == [
        "too-many-objectives"
    ]


def test_unaligned_objective_is_flagged_only_when_the_parent_team_has_objectives():
    lonely = ObjectiveDraft("X", krs(3), is_aligned=False, parent_team_has_objectives=True)
    assert rules(coach.objective_hints(lonely)) == ["not-aligned"]
    assert (
        coach.objective_hints(ObjectiveDraft("X", krs(3), parent_team_has_objectives=False)) == []
    )
    aligned = ObjectiveDraft("X", krs(3), is_aligned=True, parent_team_has_objectives=True)
    assert coach.objective_hints(aligned) == []


def test_calibration_flags_timid_and_absurd_teams_with_enough_history():
    assert rules(coach.calibration_hints(0.98, graded=4)) == ["too-timid"]
    assert rules(coach.calibration_hints(0.1, graded=12)) == ["too-absurd"]
    assert coach.calibration_hints(0.65, graded=12) == []
    assert coach.calibration_hints(1.0, graded=2) == []  # too little history to judge
    assert coach.calibration_hints(None, graded=0) == []
