"""Reads for the alignment tree and its gaps report.

Each function reads one level of the tree (or the whole report) in a fixed number of
queries, whatever the size of the organisation: how many objectives are aligned to each
node and the lowest confidence of its key results are computed by the database as
correlated subqueries, never fetched node by node. Every read narrows ``Scope.visible``
(the reader's ``Objective.objects.visible_to(user)``, active only), so an objective the
reader may not see is neither listed nor counted; where one sits in a chain it is
handed over as ``None`` for templates to call "a private objective".
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    Avg,
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from alignment.models import Team, User
from alignment.queries import TeamAccess, TeamTree, team_access_for
from goals import access, queries
from goals import progress as math
from goals.models import Cycle, Dependency, KeyResult, Objective

# The most nodes one request renders in one list; the rest are counted, not sent.
NODE_LIMIT = 100
# A dependency request unanswered for longer than this is listed as waiting.
WAITING_DAYS = 7


# --- The organisation ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrgTeam:
    """A team as the tree pages read it: a row, not a model instance (a large
    organisation's thousand teams load in a fifth of the time)."""

    pk: int
    name: str
    slug: str
    parent_id: int | None
    archived_at: dt.datetime | None

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("goals:team", args=[self.slug])


@dataclass
class Org:
    """Every team, loaded once (one query) and walked in memory, like ``TeamTree``."""

    teams: dict[int, OrgTeam]
    tree: TeamTree

    @classmethod
    def load(cls) -> Org:
        fields = ("pk", "name", "slug", "parent_id", "archived_at")
        rows = Team.objects.order_by("name").values_list(*fields)
        teams = {row[0]: OrgTeam(*row) for row in rows}
        children: dict[int | None, list[int]] = defaultdict(list)
        for team in teams.values():  # by name, so each list of children is too
            children[team.parent_id].append(team.pk)
        tree = TeamTree({pk: team.parent_id for pk, team in teams.items()}, dict(children))
        return cls(teams=teams, tree=tree)

    def children(self, team_id: int | None) -> list[OrgTeam]:
        """The live teams directly below ``team_id``; below an archived team, its own
        sub-teams take its place."""
        found: list[OrgTeam] = []
        for child_id in self.tree.children_of.get(team_id, []):
            child = self.teams[child_id]
            found.extend([child] if child.archived_at is None else self.children(child_id))
        return found

    @property
    def company(self) -> OrgTeam | None:
        return next(iter(self.children(None)), None)

    def by_slug(self, slug: str) -> OrgTeam | None:
        if not slug:
            return None
        return next((t for t in self.teams.values() if t.slug == slug and not t.archived_at), None)

    def find(self, text: str) -> tuple[OrgTeam | None, list[OrgTeam]]:
        """The live team ``text`` names, by slug (links) or by name as typed in the
        team filter, in any case. When several teams share that name: no team, and
        the ones to choose from."""
        text = text.strip()
        team = self.by_slug(text)
        if team is not None or not text:
            return team, []
        named = [
            team
            for team in self.teams.values()
            if team.archived_at is None and team.name.casefold() == text.casefold()
        ]
        return (named[0], []) if len(named) == 1 else (None, named)

    def first(self, count: int) -> list[OrgTeam]:
        """The first ``count`` live teams level by level: the company, the teams
        right below it, then theirs."""
        found: list[OrgTeam] = []
        level = self.children(None)
        while level and len(found) < count:
            found.extend(level[: count - len(found)])
            level = [child for team in level for child in self.children(team.pk)]
        return found

    def path(self, team: OrgTeam) -> str:
        """``Company › Division › Team``: which team of a shared name this is."""
        return " › ".join(above.name for above in [*self.ancestors(team), team])

    def subtree(self, team: OrgTeam) -> set[int]:
        return {team.pk, *self.tree.descendants(team.pk)}

    def ancestors(self, team: OrgTeam) -> list[OrgTeam]:
        """The live teams above ``team``, the company first."""
        above = [self.teams[pk] for pk in reversed(self.tree.ancestors(team.pk))]
        return [team for team in above if team.archived_at is None]

    def options(self) -> list[tuple[OrgTeam, str]]:
        """Live teams in tree order, each labelled with an indent for its depth."""
        options: list[tuple[OrgTeam, str]] = []
        stack = [(team, 0) for team in reversed(self.children(None))]
        while stack:
            team, depth = stack.pop()
            options.append((team, "\u00a0\u00a0\u00a0" * depth + team.name))
            stack.extend((child, depth + 1) for child in reversed(self.children(team.pk)))
        return options


# --- The reader -----------------------------------------------------------------------------


@dataclass
class Scope:
    """Who reads which cycle, and what every read below narrows."""

    user: User
    access: TeamAccess
    visible: QuerySet[Objective]  # visible to the reader and not archived
    cycle: Cycle
    today: dt.date
    expected: float
    needs_attention: Q  # the cycle overview's rule, as SQL
    stale: Exists | Value  # whether a key result had no check-in for too long, as SQL

    @classmethod
    def of(cls, user: User, cycle: Cycle, now: dt.datetime) -> Scope:
        """Costs the visibility query (the reader's team access)."""
        team_access = team_access_for(user)
        today = timezone.localdate(now)
        expected = cycle.expected_progress(today)
        stale_before = now - dt.timedelta(days=settings.WAYMARK["STALE_AFTER_DAYS"])
        # Nobody checks in before a cycle starts or after it closes.
        if cycle.state != Cycle.State.ACTIVE:
            stale_before = None
        needs_attention, stale = queries.attention_condition(expected, stale_before)
        return cls(
            user=user,
            access=team_access,
            visible=Objective.objects.visible_to(user, access=team_access).active(),
            cycle=cycle,
            today=today,
            expected=expected,
            needs_attention=needs_attention,
            stale=stale,
        )

    def can_read(self, objective: Objective) -> bool:
        return access.can_read_objective(self.user, objective, access=self.access)


# --- Objective nodes ------------------------------------------------------------------------


@dataclass
class Node:
    """An objective as the tree shows it. ``objective`` carries ``children_count`` (the
    visible objectives aligned to it), ``stale``,
    ``parent_team_has_objectives`` and ``visible_supports``."""

    objective: Objective
    expected: float
    reasons: list[str]
    behind: bool
    confidence_band: str
    parent_readable: bool
    chain: list[Objective | None] = field(default_factory=list)  # the top first

    @property
    def unaligned(self) -> bool:
        """No parent while the team above has objectives in the cycle (the coach's rule)."""
        return self.objective.parent_id is None and self.objective.parent_team_has_objectives


def objective_rows(scope: Scope) -> QuerySet[Objective]:
    """The visible objectives with what a node shows, for one query (and one more for
    the objectives each supports) however many rows are read."""
    visible = scope.visible
    aligned = (
        visible.filter(parent=OuterRef("pk"))
        .order_by()
        .values("parent")
        .annotate(count=Count("pk"))
        .values("count")
    )
    supports = visible.order_by("title").only("pk", "title")
    return (
        visible.select_related("team", "owner", "cycle", "parent", "parent_key_result")
        .annotate(
            children_count=Coalesce(Subquery(aligned), Value(0)),
            stale=scope.stale,
            parent_team_has_objectives=Exists(
                visible.filter(cycle=OuterRef("cycle"), team=OuterRef("team__parent"))
            ),
        )
        .prefetch_related(Prefetch("supports", queryset=supports, to_attr="visible_supports"))
    )


def _node(scope: Scope, objective: Objective) -> Node:
    """Why ``objective`` needs attention, on the pace of its own cycle (a child may sit
    in a quarter under a yearly parent). No query."""
    cycle = objective.cycle
    expected = (
        scope.expected if cycle.pk == scope.cycle.pk else cycle.expected_progress(scope.today)
    )
    attention = math.needs_attention(objective.progress, expected, objective.lowest_confidence)
    reasons = list(attention.reasons)
    if objective.stale and cycle.state == Cycle.State.ACTIVE:
        reasons.append("a key result is stale")
    parent = objective.parent if objective.parent_id else None
    return Node(
        objective=objective,
        expected=expected,
        reasons=reasons,
        behind=attention.behind_pace,
        confidence_band=math.confidence_band(objective.lowest_confidence),
        parent_readable=parent is not None and scope.can_read(parent),
    )


def nodes(scope: Scope, rows: QuerySet[Objective]) -> list[Node]:
    return [_node(scope, objective) for objective in rows]


# --- One level of the tree ------------------------------------------------------------------


@dataclass
class TeamSummary:
    """A team in a cycle: its own objectives, and those of every team below it."""

    team: OrgTeam
    objectives: int = 0
    score: float = 0.0  # mean progress of its own objectives
    below: int = 0  # objectives of the teams below it
    attention: int = 0  # in the team and below it
    sub_teams: int = 0

    @property
    def total(self) -> int:
        return self.objectives + self.below


@dataclass
class TeamLevel:
    """What opening a team shows: its objectives and its sub-teams."""

    team: TeamSummary
    objectives: list[Node]
    sub_teams: list[TeamSummary]

    @property
    def more_objectives(self) -> int:
        return self.team.objectives - len(self.objectives)

    @property
    def more_sub_teams(self) -> int:
        return self.team.sub_teams - len(self.sub_teams)


def team_level(scope: Scope, org: Org, team: OrgTeam) -> TeamLevel:
    """``team``'s objectives in the cycle and its sub-teams with their counts (three
    queries: the objectives, what they support, and the counts per team of its
    subtree)."""
    subtree = org.subtree(team)
    rows = scope.visible.filter(cycle=scope.cycle)
    if team.parent_id is not None:  # the company's subtree is everything: no list of ids
        rows = rows.filter(team_id__in=subtree)
    counts = {
        row["team_id"]: row
        for row in rows.order_by()
        .values("team_id")
        .annotate(
            count=Count("pk"),
            score=Avg("progress"),
            attention=Count("pk", filter=scope.needs_attention),
        )
    }

    def summary(of: OrgTeam) -> TeamSummary:
        result = TeamSummary(team=of, sub_teams=len(org.children(of.pk)))
        own = counts.get(of.pk)
        if own:
            result.objectives, result.score = own["count"], own["score"] or 0.0
        for pk in org.subtree(of):
            result.attention += counts[pk]["attention"] if pk in counts else 0
            if pk != of.pk and pk in counts:
                result.below += counts[pk]["count"]
        return result

    objectives = objective_rows(scope).filter(cycle=scope.cycle, team_id=team.pk)
    return TeamLevel(
        team=summary(team),
        objectives=nodes(scope, objectives.order_by("created_at", "pk")[:NODE_LIMIT]),
        sub_teams=[summary(child) for child in org.children(team.pk)[:NODE_LIMIT]],
    )


@dataclass
class ObjectiveLevel:
    """What opening an objective shows: the objectives aligned to it, in any team."""

    parent: Node
    children: list[Node]

    @property
    def more(self) -> int:
        return self.parent.objective.children_count - len(self.children)


def objective_level(scope: Scope, objective_pk: int) -> ObjectiveLevel | None:
    """The objective ``objective_pk`` and the objectives aligned to it, or None if the
    reader may not see it (four queries)."""
    rows = objective_rows(scope)
    parent = rows.filter(pk=objective_pk).first()
    if parent is None:
        return None
    children = rows.filter(parent=parent).order_by("team__name", "created_at", "pk")
    return ObjectiveLevel(parent=_node(scope, parent), children=nodes(scope, children[:NODE_LIMIT]))


def chains(scope: Scope, objectives: list[Objective]) -> dict[int, list[Objective | None]]:
    """Each objective's ancestors, the top of the cascade first, with those the reader
    may not see as None (one query)."""
    found = queries.ancestor_chains(objective.pk for objective in objectives)
    return {
        pk: [ancestor if scope.can_read(ancestor) else None for ancestor in chain]
        for pk, chain in found.items()
    }


def matching_objectives(
    scope: Scope, *, team_ids: set[int] | None, owner: User | None, attention: bool
) -> tuple[list[Node], int]:
    """The cycle's objectives owned by ``owner`` and/or needing attention (in
    ``team_ids`` when given), furthest behind first when filtering on attention, each
    with its chain up to the top; and how many match in all (four queries)."""
    rows = objective_rows(scope).filter(cycle=scope.cycle)
    if team_ids is not None:
        rows = rows.filter(team_id__in=team_ids)
    if owner is not None:
        rows = rows.filter(owner=owner)
    if attention:
        rows = rows.filter(scope.needs_attention).order_by("progress", "team__name", "title")
    else:
        rows = rows.order_by("team__name", "created_at", "pk")
    found = nodes(scope, rows[:NODE_LIMIT])
    lines = chains(scope, [node.objective for node in found])
    for node in found:
        node.chain = lines.get(node.objective.pk, [])
    return found, rows.count()


# --- Gaps -----------------------------------------------------------------------------------


@dataclass
class TopGap:
    """An objective of the top team that nothing is aligned to, or with key results that
    nothing contributes to."""

    node: Node
    key_results: list[KeyResult]  # nobody contributes to these

    @property
    def nothing_aligned(self) -> bool:
        return self.node.objective.children_count == 0


@dataclass
class DependencyGap:
    """A dependency, with what the reader may see of each side and why it is at risk."""

    dependency: Dependency
    requesting_readable: bool
    providing_readable: bool
    late: bool = False  # needed by a day gone, and the objective needing it not done
    provider_reasons: list[str] = field(default_factory=list)  # why the provider needs attention


@dataclass
class Gaps:
    top: OrgTeam
    orphans: list[Node]
    orphans_total: int
    top_objectives: int
    top_gaps: list[TopGap]
    uncontributed: int  # key results of the top team's objectives nobody contributes to
    at_risk: list[DependencyGap]
    at_risk_total: int
    waiting: list[DependencyGap]
    waiting_total: int
    waiting_days: int = WAITING_DAYS

    @property
    def unaligned_top(self) -> int:
        return sum(gap.nothing_aligned for gap in self.top_gaps)


def gaps(scope: Scope, *, top: OrgTeam, team_ids: set[int] | None, now: dt.datetime) -> Gaps:
    """The cycle's gaps in the cascade, over what the reader may see, in ``team_ids``
    when given (eight queries): objectives not aligned while their team's parent has
    objectives; objectives of ``top`` that nothing is aligned to and its key results
    nothing contributes to; accepted dependencies at risk; requests left unanswered."""
    rows = objective_rows(scope)
    orphans = rows.filter(
        cycle=scope.cycle, parent__isnull=True, parent_team_has_objectives=True
    ).order_by("team__name", "created_at", "pk")
    if team_ids is not None:
        orphans = orphans.filter(team_id__in=team_ids)

    top_rows = rows.filter(cycle=scope.cycle, team_id=top.pk).order_by("created_at", "pk")
    top_nodes = nodes(scope, top_rows[:NODE_LIMIT])
    uncontributed = list(
        KeyResult.objects.filter(
            archived_at__isnull=True, objective__in=[node.objective.pk for node in top_nodes]
        )
        .exclude(Exists(scope.visible.filter(parent_key_result=OuterRef("pk"))))
        .order_by("position", "pk")
    )
    by_objective: dict[int, list[KeyResult]] = defaultdict(list)
    for key_result in uncontributed:
        by_objective[key_result.objective_id].append(key_result)
    top_gaps = [
        TopGap(node=node, key_results=by_objective[node.objective.pk])
        for node in top_nodes
        if node.objective.children_count == 0 or by_objective[node.objective.pk]
    ]

    at_risk, waiting = _dependency_gaps(scope, team_ids=team_ids, now=now)
    return Gaps(
        top=top,
        orphans=nodes(scope, orphans[:NODE_LIMIT]),
        orphans_total=orphans.count(),
        top_objectives=len(top_nodes),
        top_gaps=top_gaps,
        uncontributed=len(uncontributed),
        at_risk=at_risk[:NODE_LIMIT],
        at_risk_total=len(at_risk),
        waiting=waiting[:NODE_LIMIT],
        waiting_total=len(waiting),
    )


def _dependency_gaps(
    scope: Scope, *, team_ids: set[int] | None, now: dt.datetime
) -> tuple[list[DependencyGap], list[DependencyGap]]:
    """Accepted dependencies of the cycle's objectives that are at risk, and requests
    unanswered for more than ``WAITING_DAYS`` (three queries: the dependencies, then
    the providing objectives as nodes to judge their attention). A side the reader may
    not see is not judged, only named "a private objective"; a dependency with neither
    side visible is left out."""
    visible_ids = scope.visible.values("pk")
    dependencies = (
        Dependency.objects.filter(
            Q(requesting_objective__cycle=scope.cycle) | Q(providing_objective__cycle=scope.cycle),
            Q(requesting_objective__in=visible_ids) | Q(providing_objective__in=visible_ids),
            Q(state=Dependency.State.ACCEPTED)
            | Q(
                state=Dependency.State.REQUESTED,
                created_at__lte=now - dt.timedelta(days=WAITING_DAYS),
            ),
            requesting_objective__archived_at__isnull=True,
        )
        .select_related(
            "requesting_objective__team",
            "requesting_objective__owner",
            "providing_team",
            "providing_objective__team",
            "providing_objective__owner",
        )
        .order_by("needed_by", "pk")
    )
    if team_ids is not None:
        dependencies = dependencies.filter(
            Q(requesting_objective__team_id__in=team_ids) | Q(providing_team_id__in=team_ids)
        )
    dependencies = list(dependencies)
    providers = objective_rows(scope).filter(
        pk__in={d.providing_objective_id for d in dependencies if d.providing_objective_id}
    )
    provider_reasons = {node.objective.pk: node.reasons for node in nodes(scope, providers)}
    at_risk, waiting = [], []
    for dependency in dependencies:
        requesting, providing = dependency.requesting_objective, dependency.providing_objective
        gap = DependencyGap(
            dependency=dependency,
            requesting_readable=scope.can_read(requesting),
            providing_readable=providing is not None and scope.can_read(providing),
        )
        if dependency.state == Dependency.State.REQUESTED:
            waiting.append(gap)
            continue
        gap.late = dependency.needed_by < scope.today and requesting.progress < 1
        if gap.providing_readable:
            gap.provider_reasons = provider_reasons.get(dependency.providing_objective_id, [])
        if gap.late or gap.provider_reasons:
            at_risk.append(gap)
    return at_risk, waiting
