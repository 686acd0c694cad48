"""Reads for the links of one objective: its parent, what it supports, its dependencies,
and the choices offered when aligning it or cascading from one of its key results.

Every function here costs a fixed number of queries, whatever the size of the
organisation; each docstring says how many.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone

from alignment.forms import DependencyResponseForm
from alignment.models import Membership, Team, User
from alignment.queries import TeamAccess, TeamTree, team_access_for
from goals import access
from goals import progress as math
from goals.models import Cycle, Dependency, KeyResult, Objective

# How many search results the pickers show; the 31st only says "refine the search".
SEARCH_LIMIT = 30
CASCADE_NOT_YOURS = (
    "Only the objective's owner, leads of its team or above, leads of a team below it "
    "and admins can cascade from its key results."
)
NO_TEAM_TO_CASCADE_INTO = (
    "You can create objectives only in your own teams, or in teams you lead, and none of "
    "them is this objective's team or below it."
)

# Objectives below one objective, at any depth. UNION (not UNION ALL) ends the walk
# even if the forest were ever broken into a loop.
_DESCENDANTS_SQL = """
WITH RECURSIVE below(id) AS (
    SELECT id FROM goals_objective WHERE parent_id = %s
    UNION
    SELECT child.id FROM goals_objective AS child JOIN below ON child.parent_id = below.id
)
SELECT id FROM below
"""


def overlapping(cycle: Cycle, prefix: str = "cycle__") -> Q:
    """Objectives (or rows reached through ``prefix``) in cycles overlapping ``cycle``."""
    return Q(
        **{f"{prefix}start_date__lte": cycle.end_date, f"{prefix}end_date__gte": cycle.start_date}
    )


def descendants(objective: Objective) -> RawSQL:
    """The objectives aligned below ``objective`` at any depth, as a subquery to use in
    ``pk__in`` (no query of its own)."""
    # A constant statement; the id travels as a parameter.
    return RawSQL(_DESCENDANTS_SQL, [objective.pk])  # noqa: S611


def parent_choices(visible: QuerySet[Objective], objective: Objective) -> QuerySet[Objective]:
    """Objectives ``objective`` may count towards: visible, active, in an overlapping
    cycle, neither itself nor below it (that would make a loop)."""
    return (
        visible.active()
        .filter(overlapping(objective.cycle))
        .exclude(pk=objective.pk)
        .exclude(pk__in=descendants(objective))
        .select_related("team", "owner", "cycle")
    )


@dataclass
class ParentGroup:
    """The objectives of one team offered as parents, with how the team relates."""

    team: Team
    relation: str
    objectives: list[Objective] = field(default_factory=list)


def nearby_parents(
    visible: QuerySet[Objective], objective: Objective, tree: TeamTree
) -> list[ParentGroup]:
    """The parents offered first: the objective's own team's and its ancestor teams',
    nearest team first (one query)."""
    teams = [objective.team_id, *tree.ancestors(objective.team_id)]
    groups: dict[int, ParentGroup] = {}
    rows = parent_choices(visible, objective).filter(team_id__in=teams)
    for row in rows.order_by("cycle__start_date", "created_at"):
        depth = teams.index(row.team_id)
        if row.team_id not in groups:
            groups[row.team_id] = ParentGroup(row.team, _relation(depth, len(teams)))
        groups[row.team_id].objectives.append(row)
    return sorted(groups.values(), key=lambda group: teams.index(group.team.pk))


def _relation(depth: int, levels: int) -> str:
    if depth == 0:
        return "this team"
    if depth == levels - 1:
        return "the company"
    return "parent team" if depth == 1 else "above the parent team"


def search(
    choices: QuerySet[Objective], text: str, *, leave_out: QuerySet[Objective] | None = None
) -> tuple[list[Objective], bool]:
    """Up to ``SEARCH_LIMIT`` of ``choices`` whose title contains ``text``, and whether
    there were more (one query; none for an empty search)."""
    text = text.strip()
    if not text:
        return [], False
    rows = choices.filter(title__icontains=text)
    if leave_out is not None:
        rows = rows.exclude(pk__in=leave_out.values("pk"))
    found = list(rows.order_by("-cycle__start_date", "team__name", "title")[: SEARCH_LIMIT + 1])
    return found[:SEARCH_LIMIT], len(found) > SEARCH_LIMIT


def key_results_of(parent: Objective | None) -> list[KeyResult]:
    """The active key results a child of ``parent`` may serve (one query)."""
    if parent is None:
        return []
    return list(parent.key_results.filter(archived_at__isnull=True).order_by("position", "pk"))


# --- Cascading from a key result -------------------------------------------------------


def cascade_refusal(
    user: User, objective: Objective, *, team_access: TeamAccess, tree: TeamTree | None = None
) -> str | None:
    """Why ``user`` may not cascade from the key results of ``objective``, or None.
    Its writers may, and so may leads of a team below its team (one query for the team
    tree when it is needed and not given)."""
    refusal = access.objective_write_refusal(user, objective, access=team_access)
    if refusal != access.NOT_YOURS:  # allowed, or refused whoever asks (closed, archived)
        return refusal
    if team_access.leads_over:
        tree = tree or TeamTree.load()
        if team_access.leads_over & tree.descendants(objective.team_id):
            return None
    return CASCADE_NOT_YOURS


def cascade_teams(user: User, objective: Objective, *, team_access: TeamAccess) -> list[Team]:
    """The teams a cascade from ``objective`` may create in: its team and the teams below,
    where ``user`` may create objectives, in tree order with ``depth`` set (two queries)."""
    tree = TeamTree.load()
    subtree = {objective.team_id, *tree.descendants(objective.team_id)}
    allowed = (
        subtree if user.is_superuser else subtree & (team_access.leads_over | team_access.member_of)
    )
    teams = {
        team.pk: team for team in Team.objects.filter(pk__in=subtree, archived_at__isnull=True)
    }
    ordered: list[Team] = []
    stack = [(objective.team_id, 0)]
    while stack:
        team_id, depth = stack.pop()
        if team_id not in teams:
            continue  # archived, with what lies below it
        if team_id in allowed:
            teams[team_id].depth = depth
            ordered.append(teams[team_id])
        children = [child for child in tree.children_of.get(team_id, []) if child in teams]
        children.sort(key=lambda child: teams[child].name, reverse=True)  # popped A to Z
        stack.extend((child, depth + 1) for child in children)
    return ordered


def default_owner(user: User, team: Team, *, team_access: TeamAccess) -> User:
    """Who owns a cascaded objective unless someone is named: the team's lead when
    ``user`` may create objectives for others there, otherwise ``user`` (one query)."""
    if user.is_superuser or team.pk in team_access.leads_over:
        lead = (
            Membership.objects.filter(team=team, role=Membership.Role.LEAD)
            .select_related("user")
            .order_by("user__username")
            .first()
        )
        if lead is not None:
            return lead.user
    return user


def people_of(teams: list[Team], limit: int = 300) -> QuerySet[User]:
    """Owner suggestions for a cascade: the people of ``teams`` (one query)."""
    return (
        User.objects.filter(is_active=True, memberships__team__in=[team.pk for team in teams])
        .order_by("first_name", "last_name")
        .distinct()[:limit]
    )


# --- The objective page's links section ------------------------------------------------


@dataclass
class DependencyRow:
    """A dependency as one side sees it: the other objective (None when the reader may
    not see it), what the reader may do, and why it is flagged."""

    dependency: Dependency
    other: Objective | None
    can_respond: bool = False
    can_withdraw: bool = False
    late: bool = False
    attention: math.Attention | None = None
    options: list[Objective] = field(default_factory=list)
    form: DependencyResponseForm | None = None  # to answer a pending request

    @property
    def flagged(self) -> bool:
        return self.late or bool(self.attention)


@dataclass
class ObjectiveLinks:
    """What ``alignment/_links.html`` shows for one objective."""

    parent: Objective | None
    served: KeyResult | None  # the parent's key result this objective serves
    parent_hidden: bool
    can_write: bool
    can_cascade: bool
    supports: list[Objective]
    supported_by: list[Objective]
    needs: list[DependencyRow]
    provides: list[DependencyRow]
    notice: str = ""
    error: str = ""

    @property
    def dependency_groups(self) -> list[tuple[str, list[DependencyRow], str]]:
        """``(heading, rows, side)`` for each side that has dependencies."""
        groups = [
            ("Needs from other teams", self.needs, "needs"),
            ("Delivers to other teams", self.provides, "provides"),
        ]
        return [group for group in groups if group[1]]


# What the links section shows of an objective's parent.
PARENT_RELATED = ("parent__team", "parent__cycle", "parent_key_result")


def objective_links(
    user: User, objective: Objective, *, team_access: TeamAccess | None = None
) -> ObjectiveLinks:
    """The links section of ``objective``'s page, for ``user``. At most nine queries,
    whatever the number of links: the reader's team access (unless given), the parent,
    the support links (and, if there are any, the objectives at their other end), its
    dependencies (and, if it has any, the objectives on both sides), the objectives
    that could deliver the requests the reader may answer, and the team tree for a lead
    who is not a writer (to know whether they lead a team below)."""
    team_access = team_access or team_access_for(user)
    visible = Objective.objects.visible_to(user, access=team_access)
    parent, served = None, None
    if objective.parent_id:
        linked = objective  # a view that has just aligned it holds its parent
        if not Objective._meta.get_field("parent").is_cached(objective):
            linked = Objective.objects.select_related(*PARENT_RELATED).get(pk=objective.pk)
        parent, served = linked.parent, linked.parent_key_result
    parent_hidden = parent is not None and not access.can_read_objective(
        user, parent, access=team_access
    )
    rows = [
        _dependency_row(user, objective, dependency, team_access)
        for dependency in _dependencies(objective)
    ]
    needs = [row for row in rows if row.dependency.requesting_objective_id == objective.pk]
    _attach_options(visible, objective, [row for row in needs if row.can_respond])
    return ObjectiveLinks(
        parent=None if parent_hidden else parent,
        served=None if parent_hidden else served,
        parent_hidden=parent_hidden,
        can_write=access.can_write_objective(user, objective, access=team_access),
        can_cascade=cascade_refusal(user, objective, team_access=team_access) is None,
        **_support_links(visible, objective),
        needs=needs,
        provides=[row for row in rows if row.dependency.requesting_objective_id != objective.pk],
    )


def _support_links(visible: QuerySet[Objective], objective: Objective) -> dict:
    """The readable objectives ``objective`` supports and those that support it: one
    query on the links (most objectives have none) and, when there are some, one for
    those objectives, in the objectives' usual order."""
    pairs = list(
        Objective.supports.through.objects.filter(
            Q(from_objective=objective) | Q(to_objective=objective)
        ).values_list("from_objective_id", "to_objective_id")
    )
    supported = {to_id for from_id, to_id in pairs if from_id == objective.pk}
    supporters = {from_id for from_id, to_id in pairs if to_id == objective.pk}
    if not supported and not supporters:
        return {"supports": [], "supported_by": []}
    others = list(visible.filter(pk__in=supported | supporters).select_related("team", "cycle"))
    return {
        "supports": [other for other in others if other.pk in supported],
        "supported_by": [other for other in others if other.pk in supporters],
    }


_NAMED_OBJECTIVES = Objective.objects.select_related("team", "cycle", "owner")


def _dependencies(objective: Objective) -> QuerySet[Dependency]:
    """What ``objective`` asked of other teams (but not what it withdrew), what it delivers
    (accepted), with both objectives and the lowest confidence of the deliverer's key
    results, for its attention flag (one query)."""
    lowest_confidence = (
        KeyResult.objects.filter(
            objective=OuterRef("providing_objective"), archived_at__isnull=True
        )
        .order_by()
        .values("objective")
        .annotate(lowest=Min("confidence"))
        .values("lowest")
    )
    return (
        Dependency.objects.filter(
            Q(requesting_objective=objective) & ~Q(state=Dependency.State.WITHDRAWN)
            | Q(providing_objective=objective, state=Dependency.State.ACCEPTED)
        )
        .select_related("providing_team", "requested_by", "responded_by")
        # Fetched only when there are dependencies (most objectives have none): joining
        # both objectives with their team, cycle and owner made a thirteen-table query
        # that took PostgreSQL ten times longer to plan than to run.
        .prefetch_related(
            Prefetch("requesting_objective", queryset=_NAMED_OBJECTIVES),
            Prefetch("providing_objective", queryset=_NAMED_OBJECTIVES),
        )
        .annotate(providing_confidence=Subquery(lowest_confidence))
        .order_by("needed_by", "pk")
    )


def _dependency_row(
    user: User, objective: Objective, dependency: Dependency, team_access: TeamAccess
) -> DependencyRow:
    requesting = dependency.requesting_objective_id == objective.pk
    other = dependency.providing_objective if requesting else dependency.requesting_objective
    if other is not None and not access.can_read_objective(user, other, access=team_access):
        other = None
    pending = dependency.state == Dependency.State.REQUESTED
    open_cycle = user.is_superuser or not objective.cycle.is_closed
    row = DependencyRow(dependency, other)
    if requesting and pending and open_cycle:
        row.can_respond = (
            access.dependency_respond_refusal(user, dependency, access=team_access) is None
        )
        row.can_withdraw = withdraw_refusal(user, dependency, team_access=team_access) is None
    row.late, row.attention = dependency_flags(dependency)
    if row.attention is not None and requesting and other is None:
        row.attention = None  # how a private objective fares is not the reader's to know
    return row


def dependency_flags(dependency: Dependency) -> tuple[bool, math.Attention | None]:
    """Whether ``dependency`` is late (its date has passed and its deliverer is not
    done) and whether its deliverer needs attention (trailing its cycle's expected pace
    by ``ATTENTION_GAP``, or low confidence). Reads ``providing_confidence`` (annotated
    by the page's query) when there is one; no query."""
    if dependency.state not in (Dependency.State.REQUESTED, Dependency.State.ACCEPTED):
        return False, None
    deliverer = dependency.providing_objective
    done = deliverer is not None and deliverer.progress >= 1
    late = dependency.needed_by < timezone.localdate() and not done
    if deliverer is None or done or dependency.state != Dependency.State.ACCEPTED:
        return late, None
    attention = math.needs_attention(
        deliverer.progress,
        deliverer.cycle.expected_progress(),
        getattr(dependency, "providing_confidence", None),
    )
    return late, attention if attention else None


def _attach_options(
    visible: QuerySet[Objective], objective: Objective, rows: list[DependencyRow]
) -> None:
    """The objectives that may deliver each request: the asked team's visible active
    objectives in cycles overlapping the requesting one's (one query, none without
    a request to answer)."""
    if not rows:
        return
    options: dict[int, list[Objective]] = {}
    for option in delivery_options(
        visible, objective, {row.dependency.providing_team_id for row in rows}
    ):
        options.setdefault(option.team_id, []).append(option)
    for row in rows:
        row.options = options.get(row.dependency.providing_team_id, [])
        row.form = DependencyResponseForm(
            prefix=f"answer-{row.dependency.pk}",
            options=row.options,
            team=row.dependency.providing_team,
        )


def delivery_options(
    visible: QuerySet[Objective], requesting: Objective, team_ids: set[int]
) -> QuerySet[Objective]:
    """Objectives of ``team_ids`` that may deliver what ``requesting`` asked for."""
    return (
        visible.active()
        .filter(overlapping(requesting.cycle), team_id__in=team_ids)
        .exclude(pk=requesting.pk)
        .select_related("cycle")
        .order_by("-cycle__start_date", "title")
    )


def withdraw_refusal(
    user: User, dependency: Dependency, *, team_access: TeamAccess | None = None
) -> str | None:
    """The person who asked, and the requesting objective's writers, withdraw a request."""
    if (
        dependency.requested_by_id == user.pk
        and not dependency.requesting_objective.cycle.is_closed
    ):
        return None
    if access.can_write_objective(user, dependency.requesting_objective, access=team_access):
        return None
    return "Only the person who asked and the requesting objective's writers can withdraw it."
