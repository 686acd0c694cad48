"""Feeding the quality coach: drafts built from saved rows or from a form being typed,
and the per-cycle report. The rules themselves live in ``goals.coach``."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db.models import Avg, Count, Prefetch, Q, Subquery
from django.http import QueryDict
from django.utils import timezone

from alignment.models import Team
from goals import coach
from goals.coach import Hint, KeyResultDraft, ObjectiveDraft
from goals.models import Cycle, KeyResult, Objective


def _key_result_draft(key_result: KeyResult, now) -> KeyResultDraft:
    return KeyResultDraft(
        title=key_result.title,
        start_value=key_result.start_value,
        target_value=key_result.target_value,
        is_milestone=key_result.is_milestone,
        # Roll-up key results are never checked in directly, so never "forgotten".
        checkin_count=None
        if key_result.progress_source == KeyResult.ProgressSource.ROLLUP
        else int(key_result.last_checkin_at is not None),
        days_since_created=(now - key_result.created_at).days,
    )


def _team_context(team_id: int, cycle_id: int) -> tuple[int, bool]:
    """(objectives of the team in the cycle, whether the parent team has any): one
    query over the two teams' rows of the cycle."""
    parent = Team.objects.filter(pk=team_id).values("parent_id")
    counts = (
        Objective.objects.active()
        .filter(Q(team_id=team_id) | Q(team_id=Subquery(parent)), cycle_id=cycle_id)
        .aggregate(
            own=Count("pk", filter=Q(team_id=team_id)),
            parent=Count("pk", filter=~Q(team_id=team_id)),
        )
    )
    return counts["own"], counts["parent"] > 0


@dataclass
class ObjectiveHints:
    objective: list[Hint] = field(default_factory=list)
    key_results: dict[int, list[Hint]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.objective) + sum(len(hints) for hints in self.key_results.values())


def _saved_objective_hints(
    objective: Objective, key_results: list[KeyResult], *, parent_team_has_objectives: bool
) -> ObjectiveHints:
    """Hints on a saved objective and its loaded key results (the team's load is a team
    hint, reported once per team rather than on each objective)."""
    now = timezone.now()
    drafts = [_key_result_draft(kr, now) for kr in key_results]
    return ObjectiveHints(
        objective=coach.objective_hints(
            ObjectiveDraft(
                objective.title,
                drafts,
                is_aligned=objective.parent_id is not None,
                parent_team_has_objectives=parent_team_has_objectives,
            )
        ),
        key_results={
            kr.pk: coach.key_result_hints(draft)
            for kr, draft in zip(key_results, drafts, strict=True)
        },
    )


def hints_for_objective(objective: Objective, key_results: list[KeyResult]) -> ObjectiveHints:
    """Hints on a saved objective and its (already loaded) active key results, including
    its team's load this cycle."""
    count, parent_has = _team_context(objective.team_id, objective.cycle_id)
    hints = _saved_objective_hints(objective, key_results, parent_team_has_objectives=parent_has)
    hints.objective.extend(coach.team_hints(count))
    return hints


def _small_int(text: str | None) -> int | None:
    """A positive id or count from raw form data; None for anything else (the coach
    reads what is typed, so it must never fail on it)."""
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) <= 12 else None


def _decimal(text: str | None) -> Decimal | None:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def hints_for_draft(data: QueryDict, *, prefix: str = "kr") -> list[Hint]:
    """Hints on an objective still being typed (the create form's raw POST data)."""
    drafts = []
    for index in range(min(_small_int(data.get(f"{prefix}-TOTAL_FORMS")) or 0, 20)):
        title = (data.get(f"{prefix}-{index}-title") or "").strip()
        if not title:
            continue
        drafts.append(
            KeyResultDraft(
                title,
                _decimal(data.get(f"{prefix}-{index}-start_value")),
                _decimal(data.get(f"{prefix}-{index}-target_value")),
                is_milestone=data.get(f"{prefix}-{index}-kind") == KeyResult.Kind.MILESTONE,
            )
        )
    team_id, cycle_id = _small_int(data.get("team")), _small_int(data.get("cycle"))
    count, parent_has = (0, False)
    if team_id and cycle_id:
        count, parent_has = _team_context(team_id, cycle_id)
    objective = ObjectiveDraft(
        (data.get("title") or "").strip(),
        drafts,
        is_aligned=False,
        parent_team_has_objectives=parent_has,
        team_objective_count=count + 1,  # the one being written
    )
    hints = coach.objective_hints(objective)
    for draft in drafts:
        hints.extend(coach.key_result_hints(draft))
    return hints


@dataclass
class TeamReport:
    team: Team
    team_hints: list[Hint]
    objectives: list[tuple[Objective, ObjectiveHints]]

    @property
    def count(self) -> int:
        return len(self.team_hints) + sum(hints.count for _, hints in self.objectives)


def cycle_report(objectives, cycle: Cycle) -> list[TeamReport]:
    """Every hint for ``objectives`` (a visible, active queryset of one cycle), grouped by
    team, with each team's calibration from closed cycles. Five queries in all."""
    key_results = KeyResult.objects.filter(archived_at__isnull=True).order_by("position", "pk")
    rows = list(
        objectives.select_related("team")
        .prefetch_related(Prefetch("key_results", queryset=key_results))
        .order_by("team__name", "created_at")
    )
    counts = dict(
        Objective.objects.active()
        .filter(cycle=cycle)
        .values("team")
        .annotate(n=Count("pk"))
        .values_list("team", "n")
    )
    parents = dict(Team.objects.filter(pk__in=counts).values_list("pk", "parent_id"))
    # The team's graded key results of closed cycles (the calibration report's measure).
    past = {
        row["objective__team"]: row
        for row in KeyResult.objects.filter(
            archived_at__isnull=True,
            objective__archived_at__isnull=True,
            objective__cycle__state=Cycle.State.CLOSED,
            grade__isnull=False,
        )
        .values("objective__team")
        .annotate(mean=Avg("grade"), graded=Count("pk"))
    }
    by_team: dict[int, TeamReport] = {}
    for objective in rows:
        report = by_team.get(objective.team_id)
        if report is None:
            history = past.get(objective.team_id, {})
            report = by_team[objective.team_id] = TeamReport(
                objective.team,
                _team_hints(counts.get(objective.team_id, 0), history),
                [],
            )
        parent_team = parents.get(objective.team_id)
        hints = _saved_objective_hints(
            objective,
            list(objective.key_results.all()),
            parent_team_has_objectives=bool(parent_team) and parent_team in counts,
        )
        report.objectives.append((objective, hints))
    # Teams with nothing to say are left out: the report is a to-do list.
    reports = [report for report in by_team.values() if report.count]
    return sorted(reports, key=lambda report: report.team.name)


def _team_hints(objective_count: int, history: dict) -> list[Hint]:
    return coach.team_hints(objective_count) + coach.calibration_hints(
        history.get("mean"), history.get("graded", 0)
    )
