"""Reads over the organisation tree.

The tree is small next to goals (hundreds or a few thousand teams), so it is loaded as
one ``(id, parent_id)`` list and walked in memory instead of with recursive SQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection

from alignment.models import Membership, Team, User


@dataclass
class TeamTree:
    parent_of: dict[int, int | None]
    children_of: dict[int | None, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> TeamTree:
        """One query: every team's id and parent id."""
        parent_of = dict(Team.objects.values_list("pk", "parent_id"))
        children: dict[int | None, list[int]] = defaultdict(list)
        for team_id, parent_id in parent_of.items():
            children[parent_id].append(team_id)
        return cls(parent_of=parent_of, children_of=dict(children))

    def ancestors(self, team_id: int) -> list[int]:
        """Ids above ``team_id``, nearest first (the company last)."""
        result: list[int] = []
        current = self.parent_of.get(team_id)
        while current is not None and current not in result:
            result.append(current)
            current = self.parent_of.get(current)
        return result

    def descendants(self, team_id: int) -> set[int]:
        """Ids below ``team_id`` (not including it)."""
        found: set[int] = set()
        stack = list(self.children_of.get(team_id, []))
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(self.children_of.get(current, []))
        return found


@dataclass(frozen=True)
class TeamAccess:
    """The teams whose private goals a person may read."""

    member_of: frozenset[int]
    leads_over: frozenset[int]  # teams the person leads, and every team below them
    # Leads every top-level team, so reads every team's private goals: queries can skip
    # the filter instead of passing every team id of a large organisation.
    every_team: bool = False

    @property
    def readable_private(self) -> frozenset[int]:
        return self.member_of | self.leads_over


def team_access_for(user: User) -> TeamAccess:
    """Two queries: the person's memberships, and (if they lead anything) the teams
    below the ones they lead."""
    memberships = list(Membership.objects.filter(user=user).values_list("team_id", "role"))
    member_of = frozenset(team_id for team_id, _ in memberships)
    led = [team_id for team_id, role in memberships if role == Membership.Role.LEAD]
    if not led:
        return TeamAccess(member_of=member_of, leads_over=frozenset())
    leads_over, every_team = _subtrees(led)
    return TeamAccess(member_of=member_of, leads_over=leads_over, every_team=every_team)


# The teams ``led`` and every team below them, each marked when it is a top-level team,
# with how many top-level teams there are: one query, reading only those teams (a team
# lead's few, not the whole organisation's thousands).
SUBTREES = """
    WITH RECURSIVE below(id) AS (
        SELECT id FROM {team} WHERE id IN ({led})
        UNION
        SELECT t.id FROM {team} t JOIN below b ON t.parent_id = b.id
    )
    SELECT b.id, t.parent_id IS NULL, (SELECT COUNT(*) FROM {team} WHERE parent_id IS NULL)
    FROM below b JOIN {team} t ON t.id = b.id
"""


def _subtrees(led: list[int]) -> tuple[frozenset[int], bool]:
    """The teams ``led`` and those below them; and whether they hold every top-level
    team (UNION, not UNION ALL: a loop in the tree cannot make it run forever)."""
    team = connection.ops.quote_name(Team._meta.db_table)
    sql = SUBTREES.format(team=team, led=", ".join(["%s"] * len(led)))
    with connection.cursor() as cursor:
        cursor.execute(sql, led)
        rows = cursor.fetchall()
    top_levels = sum(1 for _, is_top, _ in rows if is_top)
    return frozenset(pk for pk, _, _ in rows), bool(rows) and top_levels == rows[0][2]
