"""The quality coach: explainable hints on objectives and key results.

Every rule is a plain function over plain data (no Django), returning hints a person can
act on. The same rules run live while someone writes (on unsaved form data) and in the
per-cycle report (on saved rows), so the inputs are small dataclasses both can build.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

MIN_KEY_RESULTS = 2
MAX_KEY_RESULTS = 4
MAX_OBJECTIVES_PER_TEAM = 5
# Grades of a team's past cycles averaging above / below these look too timid / too absurd.
TIMID_GRADE = 0.95
ABSURD_GRADE = 0.15
MIN_GRADES_FOR_CALIBRATION = 4

# Verbs that name work to do rather than a change to measure.
_ACTIVITY_WORDS = """
    launch ship release build create write draft hire recruit run hold organise organize
    host attend implement develop design migrate deploy roll complete finish deliver start
    set introduce publish prepare plan conduct do make add redesign rewrite set-up setup
"""
ACTIVITY_VERBS = frozenset(_ACTIVITY_WORDS.split())


@dataclass(frozen=True)
class Hint:
    rule: str
    message: str
    why: str


@dataclass(frozen=True)
class KeyResultDraft:
    title: str
    start_value: object = None
    target_value: object = None
    is_milestone: bool = False
    checkin_count: int | None = None  # None while drafting: not checked yet
    days_since_created: int = 0


@dataclass(frozen=True)
class ObjectiveDraft:
    title: str
    key_results: Sequence[KeyResultDraft] = field(default_factory=tuple)
    is_aligned: bool = False
    parent_team_has_objectives: bool = False
    team_objective_count: int = 1


def key_result_hints(draft: KeyResultDraft, *, due_after_days: int = 6) -> list[Hint]:
    hints = []
    if reads_like_activity(draft.title):
        hints.append(
            Hint(
                "activity",
                f"“{draft.title}” reads like an activity.",
                "Launching, hiring or running sessions is an initiative. What measurable "
                "change will it cause? Make that the key result, and list the work under it.",
            )
        )
    if not draft.is_milestone and (draft.start_value is None or draft.target_value is None):
        hints.append(
            Hint(
                "no-baseline",
                "Say where it starts and where it should end.",
                "A key result goes from X to Y. Without a baseline nobody can tell whether "
                "the number moved because of the work or was there already.",
            )
        )
    if draft.checkin_count == 0 and draft.days_since_created >= due_after_days:
        hints.append(
            Hint(
                "never-checked-in",
                "Never checked in.",
                "A key result nobody updates is a goal nobody discusses. A one-minute weekly "
                "check-in keeps it alive.",
            )
        )
    return hints


def objective_hints(draft: ObjectiveDraft) -> list[Hint]:
    hints = []
    count = len(draft.key_results)
    if count < MIN_KEY_RESULTS:
        hints.append(
            Hint(
                "too-few-key-results",
                f"{count} key result{'s' if count != 1 else ''}: add at least {MIN_KEY_RESULTS}.",
                "One number is easy to game and rarely captures an objective. Two to four "
                "key results show whether you really got there.",
            )
        )
    elif count > MAX_KEY_RESULTS:
        hints.append(
            Hint(
                "too-many-key-results",
                f"{count} key results: keep it to {MAX_KEY_RESULTS} or fewer.",
                "More key results dilute focus. Keep the ones that best prove the objective, "
                "and track the rest as KPIs.",
            )
        )
    hints.extend(team_hints(draft.team_objective_count))
    if not draft.is_aligned and draft.parent_team_has_objectives:
        hints.append(
            Hint(
                "not-aligned",
                "Not aligned to the parent team's objectives.",
                "The team above has objectives this cycle. Align this one to the objective "
                "it serves, so the cascade shows how the work connects.",
            )
        )
    return hints


def team_hints(objective_count: int) -> list[Hint]:
    """Hints on a team's load: more than a handful of objectives means no priorities."""
    if objective_count <= MAX_OBJECTIVES_PER_TEAM:
        return []
    return [
        Hint(
            "too-many-objectives",
            f"The team has {objective_count} objectives this cycle.",
            f"More than {MAX_OBJECTIVES_PER_TEAM} objectives means nothing is a priority. "
            "Pick the few that matter most.",
        )
    ]


def calibration_hints(mean: float | None, graded: int) -> list[Hint]:
    """Hints on a team whose ``graded`` past results average near 1 (timid) or near 0
    (absurd). Too little history says nothing."""
    if mean is None or graded < MIN_GRADES_FOR_CALIBRATION:
        return []
    if mean >= TIMID_GRADE:
        return [
            Hint(
                "too-timid",
                f"Past key results averaged {mean:.2f}: targets may be too timid.",
                "Always hitting 1.0 means the targets were safe bets. Aim where 0.7 feels "
                "like a real achievement.",
            )
        ]
    if mean <= ABSURD_GRADE:
        return [
            Hint(
                "too-absurd",
                f"Past key results averaged {mean:.2f}: targets may be out of reach.",
                "Grades near zero every cycle stop motivating anyone. Set targets that are "
                "hard but believable.",
            )
        ]
    return []


_WORD = re.compile(r"[a-z][a-z-]*")


def reads_like_activity(title: str) -> bool:
    """True when the title starts with a verb of work ("Launch …", "Run 5 sessions")
    and names no change to measure ("from … to …", "increase", "%")."""
    words = _WORD.findall(title.lower())
    if not words or words[0] not in ACTIVITY_VERBS:
        return False
    measures = {"from", "increase", "reduce", "decrease", "grow", "raise", "cut", "improve"}
    return not (measures & set(words) or "%" in title)
