"""Reads over the organisation tree.

The tree is small next to goals (hundreds or a few thousand teams), so it is loaded as
one ``(id, parent_id)`` list and walked in memory instead of with recursive SQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

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
    """Two queries: the person's memberships, and (if they lead anything) the tree."""
    memberships = list(Membership.objects.filter(user=user).values_list("team_id", "role"))
    member_of = frozenset(team_id for team_id, _ in memberships)
    led = [team_id for team_id, role in memberships if role == Membership.Role.LEAD]
    leads_over: set[int] = set(led)
    every_team = False
    if led:
        tree = TeamTree.load()
        for team_id in led:
            leads_over |= tree.descendants(team_id)
        every_team = set(tree.children_of.get(None, [])) <= leads_over
    return TeamAccess(member_of=member_of, leads_over=frozenset(leads_over), every_team=every_team)
