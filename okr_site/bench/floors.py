"""The floor of each page and API list: every row it shows, fetched with one raw SQL
query and serialised to JSON. A page cannot beat it; its ratio to it says how much the
page costs beyond the data itself.

A page shows several lists (key results, members, blockers…): its floor is one query
returning one JSON document with a section per list (PostgreSQL's ``json_agg``), which
the benchmark parses and serialises again, as a page would render it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone


@dataclass(frozen=True)
class Floor:
    sql: str
    params: Sequence[object] = ()

    def __call__(self) -> str:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            document = cursor.fetchone()[0]
        if isinstance(document, str):
            document = json.loads(document)
        return json.dumps(document)


def document(**sections: tuple[str, Sequence[object]]) -> Floor:
    """One query: ``{section: [row, …], …}`` from each section's ``(sql, params)``."""
    parts, params = [], []
    for name, (sql, section_params) in sections.items():
        parts.append(f"'{name}', (SELECT COALESCE(json_agg(r), '[]') FROM ({sql}) r)")
        params.extend(section_params)
    return Floor(f"SELECT json_build_object({', '.join(parts)})", params)


ACTIVE_KEY_RESULTS = """
    SELECT o.id AS objective_id, o.title AS objective, o.progress AS objective_progress,
           o.lowest_confidence, o.team_id, t.name AS team,
           kr.id, kr.title, kr.kind, kr.unit, kr.start_value, kr.target_value,
           kr.current_value, kr.confidence, kr.progress, kr.last_checkin_at,
           u.username AS owner, u.first_name, u.last_name
    FROM goals_keyresult kr
    JOIN goals_objective o ON o.id = kr.objective_id
    JOIN goals_cycle c ON c.id = o.cycle_id
    JOIN alignment_team t ON t.id = o.team_id
    JOIN alignment_user u ON u.id = kr.owner_id
    WHERE c.state = 'active' AND o.archived_at IS NULL AND kr.archived_at IS NULL
"""
BLOCKERS = """
    SELECT ci.id, ci.blocker, ci.created_at, kr.title, u.username
    FROM checkins_checkin ci
    JOIN goals_keyresult kr ON kr.id = ci.key_result_id
    JOIN goals_objective o ON o.id = kr.objective_id
    JOIN alignment_user u ON u.id = ci.author_id
    WHERE ci.created_at >= %s AND ci.blocker <> '' AND o.team_id IN (
        SELECT team_id FROM alignment_membership WHERE user_id = %s)
    ORDER BY ci.created_at DESC LIMIT 10
"""
MEMBERS = """
    SELECT u.id, u.username, u.first_name, u.last_name, u.job_title, m.role
    FROM alignment_membership m JOIN alignment_user u ON u.id = m.user_id
    WHERE m.team_id = %s
"""


def _week_ago() -> dt.datetime:
    return timezone.now() - dt.timedelta(days=7)


def home(user_id: int) -> Floor:
    """My objectives and key results in the active cycles, and my teams' blockers."""
    return document(
        key_results=(
            ACTIVE_KEY_RESULTS + " AND (o.owner_id = %s OR kr.owner_id = %s)",
            [user_id, user_id],
        ),
        blockers=(BLOCKERS, [_week_ago(), user_id]),
    )


def weekly(user_id: int) -> Floor:
    """The key results I own in the active cycles, and my update of the week."""
    return document(
        key_results=(ACTIVE_KEY_RESULTS + " AND kr.owner_id = %s", [user_id]),
        update=(
            "SELECT * FROM checkins_weeklyupdate WHERE author_id = %s "
            "ORDER BY week_start DESC LIMIT 1",
            [user_id],
        ),
    )


def team(team_id: int) -> Floor:
    """The team's objectives and key results in the active cycles, its sub-teams'
    scores, its members and its KPIs."""
    return document(
        key_results=(ACTIVE_KEY_RESULTS + " AND o.team_id = %s", [team_id]),
        sub_teams=(
            """SELECT t.id, t.name, t.slug, AVG(o.progress) AS score, COUNT(o.id) AS objectives
            FROM alignment_team t
            LEFT JOIN goals_objective o ON o.team_id = t.id AND o.archived_at IS NULL
                AND o.cycle_id IN (SELECT id FROM goals_cycle WHERE state = 'active')
            WHERE t.parent_id = %s AND t.archived_at IS NULL GROUP BY t.id, t.name, t.slug""",
            [team_id],
        ),
        members=(MEMBERS, [team_id]),
        kpis=("SELECT * FROM goals_kpi WHERE team_id = %s AND archived_at IS NULL", [team_id]),
    )


def cycle_overview(cycle_id: int) -> Floor:
    """Every team's score in the cycle, its objectives needing attention, and its key
    results checked in this week."""
    return document(
        teams=(
            """SELECT t.id, t.name, t.slug, AVG(o.progress) AS score, COUNT(*) AS objectives,
                   COUNT(*) FILTER (WHERE o.lowest_confidence <= 4) AS attention
            FROM goals_objective o JOIN alignment_team t ON t.id = o.team_id
            WHERE o.cycle_id = %s AND o.archived_at IS NULL
            GROUP BY t.id, t.name, t.slug ORDER BY score DESC LIMIT 50""",
            [cycle_id],
        ),
        checked_in=(
            """SELECT o.team_id, COUNT(*) AS total,
                   COUNT(*) FILTER (WHERE kr.last_checkin_at >= %s) AS recent
            FROM goals_keyresult kr JOIN goals_objective o ON o.id = kr.objective_id
            WHERE o.cycle_id = %s AND kr.archived_at IS NULL GROUP BY o.team_id""",
            [_week_ago(), cycle_id],
        ),
        attention=(
            """SELECT o.id, o.title, o.progress, o.lowest_confidence, t.name, u.username
            FROM goals_objective o JOIN alignment_team t ON t.id = o.team_id
            JOIN alignment_user u ON u.id = o.owner_id
            WHERE o.cycle_id = %s AND o.archived_at IS NULL AND o.lowest_confidence <= 4
            ORDER BY o.progress LIMIT 50""",
            [cycle_id],
        ),
    )


OBJECTIVES_OF_TEAMS = """
    SELECT t.id AS team_id, t.name AS team, o.id, o.title, o.progress, o.parent_id,
           o.lowest_confidence, u.username AS owner,
           kr.id AS key_result_id, kr.title AS key_result, kr.progress AS kr_progress,
           kr.confidence
    FROM goals_objective o
    JOIN alignment_team t ON t.id = o.team_id
    JOIN alignment_user u ON u.id = o.owner_id
    LEFT JOIN goals_keyresult kr ON kr.objective_id = o.id AND kr.archived_at IS NULL
    WHERE o.cycle_id = %s AND o.archived_at IS NULL AND (t.id = %s OR t.parent_id = %s)
"""


def tree(cycle_id: int, company_id: int) -> Floor:
    """The first two levels: the company's objectives and those of the teams below it."""
    return document(objectives=(OBJECTIVES_OF_TEAMS, [cycle_id, company_id, company_id]))


def tree_team(cycle_id: int, team_id: int) -> Floor:
    """One expansion: a team's objectives and its sub-teams'."""
    return document(objectives=(OBJECTIVES_OF_TEAMS, [cycle_id, team_id, team_id]))


def objective(objective_id: int) -> Floor:
    """The objective, its key results with their initiatives and this cycle's check-ins
    (the chart), the objectives aligned to it and its line up the cascade (its change
    history loads when scrolled to)."""
    key_results = "SELECT id FROM goals_keyresult WHERE objective_id = %s"
    return document(
        objective=(
            """SELECT o.*, t.name AS team, u.username AS owner
            FROM goals_objective o JOIN alignment_team t ON t.id = o.team_id
            JOIN alignment_user u ON u.id = o.owner_id WHERE o.id = %s""",
            [objective_id],
        ),
        key_results=(
            "SELECT * FROM goals_keyresult WHERE objective_id = %s AND archived_at IS NULL",
            [objective_id],
        ),
        initiatives=(
            f"SELECT * FROM goals_initiative WHERE key_result_id IN ({key_results})",
            [objective_id],
        ),
        checkins=(
            f"SELECT key_result_id, value, created_at FROM checkins_checkin "
            f"WHERE key_result_id IN ({key_results}) ORDER BY created_at",
            [objective_id],
        ),
        children=(
            "SELECT id, title, progress FROM goals_objective WHERE parent_id = %s",
            [objective_id],
        ),
        ancestors=(
            """WITH RECURSIVE up AS (
                SELECT id, parent_id, title, progress FROM goals_objective WHERE id = %s
                UNION ALL SELECT o.id, o.parent_id, o.title, o.progress
                FROM goals_objective o JOIN up ON o.id = up.parent_id)
            SELECT * FROM up""",
            [objective_id],
        ),
    )


def team_review(team_id: int) -> Floor:
    """The team's key results in the active cycles with this week's check-ins, and its
    members (who has not checked in)."""
    return document(
        key_results=(ACTIVE_KEY_RESULTS + " AND o.team_id = %s", [team_id]),
        checkins=(
            """SELECT ci.*, u.username FROM checkins_checkin ci
            JOIN goals_keyresult kr ON kr.id = ci.key_result_id
            JOIN goals_objective o ON o.id = kr.objective_id
            JOIN alignment_user u ON u.id = ci.author_id
            WHERE o.team_id = %s AND ci.created_at >= %s""",
            [team_id, _week_ago()],
        ),
        members=(MEMBERS, [team_id]),
    )


def one_on_one(one_on_one_id: int, report_id: int) -> Floor:
    """The report's check-ins of the last two weeks, and the pair's action items."""
    return document(
        checkins=(
            """SELECT ci.id, ci.value, ci.confidence, ci.note, ci.blocker, ci.created_at,
                   kr.id AS key_result_id, kr.title
            FROM checkins_checkin ci JOIN goals_keyresult kr ON kr.id = ci.key_result_id
            WHERE ci.author_id = %s AND ci.created_at >= %s ORDER BY ci.created_at""",
            [report_id, _week_ago() - dt.timedelta(days=7)],
        ),
        action_items=(
            "SELECT * FROM checkins_actionitem WHERE one_on_one_id = %s",
            [one_on_one_id],
        ),
    )


def first_page(table: str, columns: str, order: str, where: str = "TRUE", params=()) -> Floor:
    """An API list's first page: 50 rows."""
    return document(
        results=(f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {order} LIMIT 50", params)
    )


def admin_checkins() -> Floor:
    """The admin changelist's 50 newest check-ins with their key result and author."""
    return document(
        results=(
            """SELECT ci.id, ci.value, ci.confidence, ci.created_at, kr.title, u.username
            FROM checkins_checkin ci
            JOIN goals_keyresult kr ON kr.id = ci.key_result_id
            JOIN alignment_user u ON u.id = ci.author_id
            ORDER BY ci.created_at DESC, ci.id DESC LIMIT 50""",
            [],
        )
    )
