"""Non-trivial reads of goals. Each returns everything its page needs in a fixed number
of queries, whatever the size of the organisation.

Functions that read objectives take ``visible``, the reader's
``Objective.objects.visible_to(user)``: building it costs the visibility query, so a
page builds it once and every read below narrows it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    DateField,
    ExpressionWrapper,
    F,
    FloatField,
    JSONField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, TruncDate, TruncWeek

from alignment.models import Membership, Team, User
from goals import calibration
from goals import progress as math
from goals.models import Cycle, KeyResult, Kpi, Objective, Reflection


class IdsOf(Subquery):
    """The ids in one column of a subquery, as a list in each row (JSON, ``[]`` for
    none): a page reads its rows' links within its own query, not in one more."""

    output_field = JSONField()
    template = "(SELECT json_group_array(linked_id) FROM (%(subquery)s))"

    def __init__(self, queryset: QuerySet, column: str) -> None:
        super().__init__(queryset.order_by().values(linked_id=F(column)))

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="to_jsonb(ARRAY(%(subquery)s))", **extra)


def active_cycles() -> list[Cycle]:
    return list(Cycle.objects.filter(state=Cycle.State.ACTIVE).order_by("start_date", "name"))


def all_cycles() -> list[Cycle]:
    """Every cycle, newest first (one query: cycles are few, one every quarter or year)."""
    return list(Cycle.objects.order_by("-start_date", "name"))


def for_cards(objectives: QuerySet[Objective]) -> QuerySet[Objective]:
    """What ``goals/_objective_card.html`` reads, in three more queries: the team, owner
    and cycle joined; the active key results (with their owners) and the active guardrail
    KPIs (for ``goals/_guardrail_flags.html``) prefetched."""
    key_results = KeyResult.objects.filter(archived_at__isnull=True).select_related("owner")
    guardrails = Kpi.objects.filter(archived_at__isnull=True)
    return objectives.select_related("team", "owner", "cycle").prefetch_related(
        Prefetch("key_results", queryset=key_results),
        Prefetch("guardrails", queryset=guardrails),
    )


def objectives_of_person(
    visible: QuerySet[Objective], person: User, cycles: Iterable[Cycle]
) -> QuerySet[Objective]:
    """The active objectives in ``cycles`` that ``person`` owns or holds an active key
    result of, among those the reader may see."""
    return for_cards(
        visible.active()
        .filter(cycle__in=cycles)
        .filter(Q(owner=person) | Q(pk__in=key_result_objectives(person)))
        .order_by("cycle__start_date", "team__name", "created_at")
    )


def key_result_objectives(person: User) -> QuerySet[KeyResult]:
    """The objectives ``person`` holds an active key result of, as a subquery: the
    planner reads their key results by owner (a join with ``DISTINCT`` read all of
    them, 120,000 at the L tier)."""
    return KeyResult.objects.filter(owner=person, archived_at__isnull=True).values("objective")


def team_objectives(
    visible: QuerySet[Objective], team: Team, cycles: Iterable[Cycle]
) -> QuerySet[Objective]:
    """A team's active objectives in ``cycles`` (its own, not its sub-teams')."""
    return for_cards(
        visible.active()
        .filter(team=team, cycle__in=cycles)
        .order_by("cycle__start_date", "created_at")
    )


def attention_condition(
    expected: float, stale_before: dt.datetime | None
) -> tuple[Q, ExpressionWrapper | Value]:
    """The condition under which an objective needs attention, as SQL on its own row
    (the roll-up keeps its key results' lowest confidence and oldest check-in there):
    its progress trails ``expected`` by more than the attention gap, one of its active
    key results has low confidence, or, with ``stale_before``, one has had no check-in
    since then. Also returns the staleness for a query to annotate."""
    condition = Q(progress__lt=expected - math.ATTENTION_GAP) | Q(
        lowest_confidence__lte=math.LOW_CONFIDENCE
    )
    if stale_before is None:
        return condition, Value(False)
    stale = Q(stalest_checkin_at__lte=stale_before)
    return condition | stale, ExpressionWrapper(stale, output_field=BooleanField())


@dataclass
class TeamSummary:
    """One team's line in a cycle overview."""

    team_id: int
    name: str
    slug: str
    score: float
    objectives: int
    attention: int
    key_results: int = 0  # active key results in check-in mode
    checked_in: int = 0  # of those, with a check-in since the rate's start

    @property
    def checkin_rate(self) -> float | None:
        return self.checked_in / self.key_results if self.key_results else None


# A cycle overview lists this many teams; a large organisation narrows it by team.
TEAMS_SHOWN = 50


@dataclass
class CycleOverview:
    teams: list[TeamSummary]
    attention: list[Objective]  # annotated with ``stale``
    attention_total: int
    objectives: int = field(init=False)
    key_results: int = field(init=False)
    checked_in: int = field(init=False)

    def __post_init__(self) -> None:
        self.objectives = sum(team.objectives for team in self.teams)
        self.key_results = sum(team.key_results for team in self.teams)
        self.checked_in = sum(team.checked_in for team in self.teams)

    @property
    def checkin_rate(self) -> float | None:
        return self.checked_in / self.key_results if self.key_results else None

    @property
    def shown_teams(self) -> list[TeamSummary]:
        return self.teams[:TEAMS_SHOWN]

    @property
    def more_teams(self) -> int:
        return max(len(self.teams) - TEAMS_SHOWN, 0)


def cycle_overview(
    visible: QuerySet[Objective],
    cycle: Cycle,
    *,
    team_ids: Collection[int] | None,
    expected: float,
    now: dt.datetime,
    checkin_since: dt.datetime,
    attention_limit: int = 50,
) -> CycleOverview:
    """Team scores, objectives needing attention and check-in rates for ``cycle``, over
    the active objectives the reader may see (of ``team_ids`` only, when given).

    Staleness counts only while the cycle is active: nobody checks in before it starts
    or after it closes. Three queries: team scores with their counts; key results
    checked in per team; the ``attention_limit`` objectives needing attention that
    trail the most."""
    objectives = visible.active().filter(cycle=cycle)
    if team_ids is not None:
        objectives = objectives.filter(team_id__in=team_ids)
    stale_before = now - dt.timedelta(days=settings.WAYMARK["STALE_AFTER_DAYS"])
    if cycle.state != Cycle.State.ACTIVE:
        stale_before = None
    needs_attention, stale = attention_condition(expected, stale_before)

    rows = (
        objectives.order_by()
        .values("team_id", "team__name", "team__slug")
        .annotate(
            score=Avg("progress"),
            count=Count("pk"),
            attention=Count("pk", filter=needs_attention),
        )
    )
    teams = {
        row["team_id"]: TeamSummary(
            team_id=row["team_id"],
            name=row["team__name"],
            slug=row["team__slug"],
            score=row["score"] or 0.0,
            objectives=row["count"],
            attention=row["attention"],
        )
        for row in rows
    }
    checkin_rows = (
        KeyResult.objects.filter(
            objective__in=objectives.values("pk"),
            archived_at__isnull=True,
            progress_source=KeyResult.ProgressSource.CHECKINS,
        )
        .order_by()
        .values("objective__team_id")
        .annotate(
            total=Count("pk"),
            recent=Count("pk", filter=Q(last_checkin_at__gte=checkin_since)),
        )
    )
    for row in checkin_rows:
        summary = teams[row["objective__team_id"]]
        summary.key_results, summary.checked_in = row["total"], row["recent"]

    attention = list(
        objectives.filter(needs_attention)
        .annotate(stale=stale)
        .select_related("team", "owner")
        .order_by("progress", "team__name", "title")[:attention_limit]
    )
    ordered = sorted(teams.values(), key=lambda team: (-team.score, team.name))
    return CycleOverview(
        teams=ordered,
        attention=attention,
        attention_total=sum(team.attention for team in ordered),
    )


def team_scores(
    visible: QuerySet[Objective], cycles: Iterable[Cycle], team_ids: Collection[int]
) -> dict[tuple[int, int], tuple[float, int]]:
    """``(team id, cycle id) → (score, objectives)`` for ``team_ids`` in ``cycles``, over
    the active objectives the reader may see (one query)."""
    rows = (
        visible.active()
        .filter(cycle__in=cycles, team_id__in=team_ids)
        .order_by()
        .values("team_id", "cycle_id")
        .annotate(score=Avg("progress"), count=Count("pk"))
    )
    return {(row["team_id"], row["cycle_id"]): (row["score"] or 0.0, row["count"]) for row in rows}


def _leads_first() -> Case:
    return Case(When(role=Membership.Role.LEAD, then=Value(0)), default=Value(1))


def team_members(team: Team) -> QuerySet[Membership]:
    """The team's active members, leads first, then by name (one query)."""
    return (
        team.memberships.filter(user__is_active=True)
        .select_related("user")
        .order_by(_leads_first(), "user__first_name", "user__last_name", "user__username")
    )


def person_memberships(person: User) -> QuerySet[Membership]:
    """The teams ``person`` is in, the ones they lead first (one query)."""
    return person.memberships.select_related("team").order_by(_leads_first(), "team__name")


def team_kpis(team: Team) -> QuerySet[Kpi]:
    return team.kpis.filter(archived_at__isnull=True).order_by("name")


# How many levels of the cascade are loaded above an objective, in one query.
ANCESTOR_DEPTH = 6


# Each objective's ancestors, nearest first (depth 1 is the parent), in one query that
# reads only them: a recursive walk up ``parent_id``, stopped at ``ANCESTOR_DEPTH``.
ANCESTORS = """
    WITH RECURSIVE up(start_id, id, depth) AS (
        SELECT id, parent_id, 1 FROM {objective} WHERE id IN ({ids}) AND parent_id IS NOT NULL
        UNION ALL
        SELECT up.start_id, o.parent_id, up.depth + 1
        FROM up JOIN {objective} o ON o.id = up.id
        WHERE o.parent_id IS NOT NULL AND up.depth < %s
    )
    SELECT o.*, up.start_id AS chain_of, up.depth AS chain_depth
    FROM up JOIN {objective} o ON o.id = up.id
"""


def ancestor_chains(objective_ids: Iterable[int]) -> dict[int, list[Objective]]:
    """For each objective, its ancestors from the top of the cascade (at most
    ``ANCESTOR_DEPTH`` levels up) down to its parent, in one query."""
    ids = list(dict.fromkeys(objective_ids))
    chains: dict[int, list[Objective]] = {pk: [] for pk in ids}
    if not ids:
        return chains
    table = connection.ops.quote_name(Objective._meta.db_table)
    sql = ANCESTORS.format(objective=table, ids=", ".join(["%s"] * len(ids)))
    found = sorted(
        Objective.objects.raw(sql, [*ids, ANCESTOR_DEPTH]),
        key=lambda row: -row.chain_depth,
    )
    for ancestor in found:
        chains[ancestor.chain_of].append(ancestor)
    return chains


def company_objectives_served(objectives: Iterable[Objective]) -> list[Objective]:
    """The company objectives (of the team without a parent) at the top of the cascade
    above ``objectives``, each once, in order of first appearance (two queries)."""
    objectives = list(objectives)
    company = Team.objects.filter(parent__isnull=True).values_list("pk", flat=True).first()
    chains = ancestor_chains(objective.pk for objective in objectives)
    served: dict[int, Objective] = {}
    for objective in objectives:
        top = (chains.get(objective.pk) or [objective])[0]
        if top.team_id == company and top.pk not in served:
            served[top.pk] = top
    return list(served.values())


def calibration_rows(
    visible: QuerySet[Objective], *, team_ids: Collection[int] | None = None
) -> list[calibration.KeyResultRow]:
    """The rows ``goals.calibration`` reads: every active key result of the visible,
    active objectives of closed cycles (of ``team_ids`` only, when given), with the weeks
    of its cycle in which it was checked in and the mean confidence of those check-ins.

    Two queries, whatever the history: the key results with their objective's kind and
    team and their cycle's dates; and their check-ins within the cycle grouped by key
    result and week (counted and summed in the database)."""
    from checkins.models import CheckIn

    objectives = visible.active().filter(cycle__state=Cycle.State.CLOSED)
    if team_ids is not None:
        objectives = objectives.filter(team_id__in=team_ids)
    key_results = KeyResult.objects.filter(
        objective__in=objectives.values("pk"), archived_at__isnull=True
    )
    rows = list(
        key_results.order_by("pk").values_list(
            "pk",
            "objective__team_id",
            "owner_id",
            "objective__kind",
            "grade",
            "weight",
            "objective__cycle__start_date",
            "objective__cycle__end_date",
            "progress_source",
        )
    )
    # A check-in counts on its local date, which must fall within its key result's cycle.
    weeks = (
        CheckIn.objects.annotate(day=TruncDate("created_at"))
        .filter(
            key_result__in=key_results.values("pk"),
            day__gte=F("key_result__objective__cycle__start_date"),
            day__lte=F("key_result__objective__cycle__end_date"),
        )
        .annotate(week=TruncWeek("day", output_field=DateField()))
        .order_by()
        .values("key_result_id", "week")
        .annotate(checkins=Count("pk"), confidence=Sum("confidence"))
    )
    checkin_weeks: dict[int, set[dt.date]] = defaultdict(set)
    confidence: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in weeks:
        week = row["week"]
        checkin_weeks[row["key_result_id"]].add(
            week.date() if isinstance(week, dt.datetime) else week
        )
        tally = confidence[row["key_result_id"]]
        tally[0] += row["checkins"]
        tally[1] += row["confidence"]
    result = []
    for pk, team_id, owner_id, kind, grade, weight, start, end, source in rows:
        count, total = confidence.get(pk, (0, 0))
        result.append(
            calibration.KeyResultRow(
                key_result_id=pk,
                team_id=team_id,
                owner_id=owner_id,
                kind=kind,
                grade=grade,
                weight=weight,
                cycle_start=start,
                cycle_end=end,
                checks_in=source == KeyResult.ProgressSource.CHECKINS,
                checkin_weeks=frozenset(checkin_weeks.get(pk, ())),
                mean_confidence=total / count if count else None,
            )
        )
    return result


# Objective grades at or above these bounds fall in the progress / delivered bands once
# rounded to one decimal (0.35 → 0.4, 0.65 → 0.7); the slack absorbs float noise such as
# 0.34999999999999998, which prints (and so rounds) as 0.35.
OUTCOME_FLOORS = {math.PROGRESS: 0.35 - 1e-9, math.DELIVERED: 0.65 - 1e-9}
REFLECTION_TEXTS = ("what_changed", "what_worked", "what_did_not", "learned", "next_focus")


def objective_grade_expression() -> Subquery:
    """An objective's grade in SQL: the weighted mean of its active graded key results'
    grades (``goals.progress.objective_grade``), NULL when none is graded. Refer to the
    objective as ``objective`` from the outer query."""
    graded = (
        KeyResult.objects.filter(
            objective=OuterRef("objective"), archived_at__isnull=True, grade__isnull=False
        )
        .order_by()
        .values("objective")
        .annotate(
            mean=Sum(Cast("grade", FloatField()) * Cast("weight", FloatField()))
            / Sum(Cast("weight", FloatField()))
        )
        .values("mean")
    )
    return Subquery(graded, output_field=FloatField())


def lessons(
    visible: QuerySet[Objective],
    *,
    text: str = "",
    team_ids: Collection[int] | None = None,
    outcome: str = "",
) -> QuerySet[Reflection]:
    """Reflections on the visible, active objectives of closed cycles, newest first,
    annotated with the objective's ``grade``: those mentioning ``text`` (in an answer or
    the objective's title), of ``team_ids``, in the ``outcome`` band (missed, progress or
    delivered). One query per page of results, plus the paginator's count."""
    reflections = (
        Reflection.objects.filter(
            objective__in=visible.active().filter(cycle__state=Cycle.State.CLOSED).values("pk")
        )
        .annotate(grade=objective_grade_expression())
        .select_related("objective__team", "objective__cycle", "author")
        .order_by("-objective__cycle__end_date", "-updated_at", "-pk")
    )
    if text:
        condition = Q(objective__title__icontains=text)
        for name in REFLECTION_TEXTS:
            condition |= Q(**{f"{name}__icontains": text})
        reflections = reflections.filter(condition)
    if team_ids is not None:
        reflections = reflections.filter(objective__team_id__in=team_ids)
    if outcome == math.MISSED:
        reflections = reflections.filter(grade__lt=OUTCOME_FLOORS[math.PROGRESS])
    elif outcome == math.PROGRESS:
        reflections = reflections.filter(
            grade__gte=OUTCOME_FLOORS[math.PROGRESS], grade__lt=OUTCOME_FLOORS[math.DELIVERED]
        )
    elif outcome == math.DELIVERED:
        reflections = reflections.filter(grade__gte=OUTCOME_FLOORS[math.DELIVERED])
    return reflections
