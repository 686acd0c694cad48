"""The floor of each page and API list: the rows it shows, fetched with one raw SQL
query and serialised to JSON. A page cannot beat it; its ratio to it says how much the
page costs beyond the data itself."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class Floor:
    sql: str
    params: Sequence[object] = ()

    def __call__(self) -> str:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            columns = [column[0] for column in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        return json.dumps(rows, default=str)


ACTIVE_KEY_RESULTS = """
    SELECT o.id AS objective_id, o.title AS objective, o.progress AS objective_progress,
           kr.id, kr.title, kr.kind, kr.start_value, kr.target_value, kr.current_value,
           kr.confidence, kr.progress, kr.last_checkin_at
    FROM goals_keyresult kr
    JOIN goals_objective o ON o.id = kr.objective_id
    JOIN goals_cycle c ON c.id = o.cycle_id
    WHERE c.state = 'active' AND o.archived_at IS NULL AND kr.archived_at IS NULL
"""


def home(user_id: int) -> Floor:
    """My objectives and key results in the active cycles."""
    return Floor(
        ACTIVE_KEY_RESULTS + " AND (o.owner_id = %s OR kr.owner_id = %s) ORDER BY o.id, kr.id",
        [user_id, user_id],
    )


def weekly(user_id: int) -> Floor:
    """The key results I own in the active cycles."""
    return Floor(ACTIVE_KEY_RESULTS + " AND kr.owner_id = %s ORDER BY o.id, kr.id", [user_id])


def team(team_id: int) -> Floor:
    """The team's objectives and key results in the active cycles, and its members."""
    return Floor(
        ACTIVE_KEY_RESULTS
        + """ AND o.team_id = %s
        UNION ALL
        SELECT NULL, u.username, NULL, u.id, u.first_name || ' ' || u.last_name, m.role,
               NULL, NULL, NULL, NULL, NULL, NULL
        FROM alignment_membership m JOIN alignment_user u ON u.id = m.user_id
        WHERE m.team_id = %s""",
        [team_id, team_id],
    )


def cycle_overview(cycle_id: int) -> Floor:
    """Every team's score in the cycle, and its objectives' lowest confidence."""
    return Floor(
        """
        SELECT t.id, t.name, t.slug, t.parent_id, AVG(o.progress) AS score,
               COUNT(DISTINCT o.id) AS objectives, MIN(kr.confidence) AS lowest_confidence
        FROM alignment_team t
        JOIN goals_objective o ON o.team_id = t.id AND o.archived_at IS NULL
        JOIN goals_keyresult kr ON kr.objective_id = o.id AND kr.archived_at IS NULL
        WHERE o.cycle_id = %s AND t.archived_at IS NULL
        GROUP BY t.id, t.name, t.slug, t.parent_id ORDER BY t.name""",
        [cycle_id],
    )


def _objectives_of_teams(where: str, params: list[object]) -> Floor:
    return Floor(
        f"""
        SELECT t.id AS team_id, t.name AS team, o.id, o.title, o.progress, o.parent_id,
               kr.id AS key_result_id, kr.title AS key_result, kr.progress AS kr_progress,
               kr.confidence
        FROM goals_objective o
        JOIN alignment_team t ON t.id = o.team_id
        LEFT JOIN goals_keyresult kr ON kr.objective_id = o.id AND kr.archived_at IS NULL
        WHERE o.cycle_id = %s AND o.archived_at IS NULL AND ({where})
        ORDER BY t.name, o.id, kr.position""",
        params,
    )


def tree(cycle_id: int, company_id: int) -> Floor:
    """The first two levels: the company's objectives and those of the teams below it."""
    return _objectives_of_teams("t.id = %s OR t.parent_id = %s", [cycle_id, company_id, company_id])


def tree_team(cycle_id: int, team_id: int) -> Floor:
    """One expansion: a team's objectives and its sub-teams'."""
    return _objectives_of_teams("t.id = %s OR t.parent_id = %s", [cycle_id, team_id, team_id])


def objective(objective_id: int) -> Floor:
    """The objective, its key results, and the objectives aligned to it."""
    return Floor(
        """
        SELECT o.id, o.title, o.description, o.progress, kr.id AS key_result_id,
               kr.title AS key_result, kr.current_value, kr.target_value, kr.progress,
               kr.confidence
        FROM goals_objective o
        LEFT JOIN goals_keyresult kr ON kr.objective_id = o.id AND kr.archived_at IS NULL
        WHERE o.id = %s OR o.parent_id = %s ORDER BY o.id, kr.position""",
        [objective_id, objective_id],
    )


def team_review(team_id: int, since: object) -> Floor:
    """The team's key results in the active cycles with this week's check-ins."""
    return Floor(
        """
        SELECT kr.id, kr.title, kr.progress, kr.confidence, kr.last_checkin_at,
               ci.id AS checkin_id, ci.value, ci.confidence AS new_confidence, ci.note,
               ci.blocker, ci.created_at
        FROM goals_keyresult kr
        JOIN goals_objective o ON o.id = kr.objective_id
        JOIN goals_cycle c ON c.id = o.cycle_id
        LEFT JOIN checkins_checkin ci ON ci.key_result_id = kr.id AND ci.created_at >= %s
        WHERE c.state = 'active' AND o.team_id = %s AND kr.archived_at IS NULL
        ORDER BY kr.id, ci.created_at""",
        [since, team_id],
    )


def one_on_one(report_id: int, since: object) -> Floor:
    """The report's check-ins since the previous one-to-one."""
    return Floor(
        """
        SELECT ci.id, ci.value, ci.confidence, ci.note, ci.blocker, ci.created_at,
               kr.id AS key_result_id, kr.title
        FROM checkins_checkin ci JOIN goals_keyresult kr ON kr.id = ci.key_result_id
        WHERE ci.author_id = %s AND ci.created_at >= %s ORDER BY ci.created_at""",
        [report_id, since],
    )


def first_page(table: str, columns: str, order: str, where: str = "TRUE", params=()) -> Floor:
    """An API list's first page: 50 rows."""
    return Floor(
        f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {order} LIMIT 50",
        list(params),
    )


def admin_checkins() -> Floor:
    """The admin changelist's 100 newest check-ins with their key result and author."""
    return Floor(
        """
        SELECT ci.id, ci.value, ci.confidence, ci.created_at, kr.title, u.username
        FROM checkins_checkin ci
        JOIN goals_keyresult kr ON kr.id = ci.key_result_id
        JOIN alignment_user u ON u.id = ci.author_id
        ORDER BY ci.created_at DESC, ci.id DESC LIMIT 100"""
    )
