"""Reads over the organisation tree.

The tree is small next to goals (hundreds or a few thousand teams), so it is loaded as
one ``(id, parent_id)`` list and walked in memory instead of with recursive SQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models.expressions import RawSQL

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
    """One query: the person's memberships and, below each team they lead, every team
    under it (read only for those teams: a team lead's few, not the organisation's
    thousands)."""
    member_of: set[int] = set()
    leads_over: set[int] = set()
    led_top_levels = top_levels = 0
    with connection.cursor() as cursor:
        cursor.execute(_ACCESS_SQL, [user.pk, Membership.Role.LEAD, user.pk])
        for kind, team_id, is_top in cursor.fetchall():
            if kind == "member":
                member_of.add(team_id)
            elif kind == "below":
                leads_over.add(team_id)
                led_top_levels += is_top
            else:
                top_levels = is_top
    return TeamAccess(
        member_of=frozenset(member_of),
        leads_over=frozenset(leads_over),
        every_team=bool(leads_over) and led_top_levels == top_levels,
    )


# Rows of (kind, team id, flag): "member" for each membership; "below" for each team
# led or under one led, flagged 1 when it is a top-level team (only a led team can be:
# the rest have a parent); and one "tops" row whose flag is how many top-level teams
# there are. UNION, not UNION ALL, in the walk: a loop in the tree cannot make it run
# forever.
_ACCESS_SQL = """
    WITH RECURSIVE below(id, is_top) AS (
        SELECT t.id, CASE WHEN t.parent_id IS NULL THEN 1 ELSE 0 END
        FROM alignment_membership m JOIN alignment_team t ON t.id = m.team_id
        WHERE m.user_id = %s AND m.role = %s
        UNION
        SELECT t.id, 0 FROM alignment_team t JOIN below b ON t.parent_id = b.id
    )
    SELECT 'member', team_id, 0 FROM alignment_membership WHERE user_id = %s
    UNION ALL
    SELECT 'below', id, is_top FROM below
    UNION ALL
    SELECT 'tops', NULL, COUNT(*) FROM alignment_team WHERE parent_id IS NULL
"""


def readable_private_teams(user: User) -> RawSQL:
    """``TeamAccess.readable_private`` as a subquery: a list that needs nothing else of
    the person's access reads it inside its own query, not in a query beforehand."""
    # A constant statement with bound parameters (a recursive walk the ORM cannot write).
    return RawSQL(_READABLE_PRIVATE_SQL, [user.pk, Membership.Role.LEAD, user.pk])  # noqa: S611


# The teams the person is in, those they lead and every team under one they lead.
_READABLE_PRIVATE_SQL = """
    WITH RECURSIVE below(id) AS (
        SELECT team_id FROM alignment_membership WHERE user_id = %s AND role = %s
        UNION
        SELECT t.id FROM alignment_team t JOIN below b ON t.parent_id = b.id
    )
    SELECT team_id FROM alignment_membership WHERE user_id = %s
    UNION ALL
    SELECT id FROM below
"""
