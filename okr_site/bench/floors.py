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


# A team's objectives as the tree's nodes show them: owner, team, parent, how many are
# aligned to each, staleness and attention (read from the objective's row, as the page
# does), and what each supports.
TREE_NODES = """
    SELECT o.id, o.title, o.kind, o.visibility, o.progress, o.lowest_confidence,
           o.stalest_checkin_at <= %s AS stale, t.name AS team, u.username, u.first_name,
           u.last_name, p.title AS parent,
           (SELECT COUNT(*) FROM goals_objective c
            WHERE c.parent_id = o.id AND c.archived_at IS NULL) AS aligned,
           (SELECT json_agg(s.title) FROM goals_objective_supports l
            JOIN goals_objective s ON s.id = l.to_objective_id
            WHERE l.from_objective_id = o.id) AS supports
    FROM goals_objective o
    JOIN alignment_team t ON t.id = o.team_id
    JOIN alignment_user u ON u.id = o.owner_id
    LEFT JOIN goals_objective p ON p.id = o.parent_id
    WHERE o.cycle_id = %s AND o.team_id = %s AND o.archived_at IS NULL
    ORDER BY o.created_at, o.id LIMIT 100
"""
# The counts each team's summary line is made of, per team of the subtree (summed up the
# tree as the page does): its own objectives, their mean progress and those needing
# attention. The company's subtree is every team: like the page, no list of them.
TEAM_COUNTS = """
    SELECT o.team_id, COUNT(*) AS objectives, AVG(o.progress) AS score,
           COUNT(*) FILTER (WHERE o.progress < %s OR o.lowest_confidence <= 4
                            OR o.stalest_checkin_at <= %s) AS attention
    FROM goals_objective o
    WHERE o.cycle_id = %s AND o.archived_at IS NULL {subtree}
    GROUP BY o.team_id
"""
SUBTREE = """AND o.team_id IN (
        WITH RECURSIVE subtree(id) AS (
            SELECT %s::bigint
            UNION SELECT t.id FROM alignment_team t JOIN subtree s ON t.parent_id = s.id
        ) SELECT id FROM subtree)"""


BEHIND_PACE = 0.25  # progress under which an objective trails the pace (the page's own)


def _stale_before() -> dt.datetime:
    return timezone.now() - dt.timedelta(days=14)


def tree(cycle_id: int, team_id: int, *, root: bool) -> Floor:
    """One level of the tree: the team's objectives as nodes, its sub-teams' lines with
    the counts of everything below them (the first page: the company, the ``root``)."""
    stale = _stale_before()
    counts = [BEHIND_PACE, stale, cycle_id]
    if root:
        counts_sql = TEAM_COUNTS.format(subtree="")
    else:
        counts_sql = TEAM_COUNTS.format(subtree=SUBTREE)
        counts.append(team_id)
    return document(
        objectives=(TREE_NODES, [stale, cycle_id, team_id]),
        counts=(counts_sql, counts),
        sub_teams=(
            "SELECT id, name, slug FROM alignment_team WHERE parent_id = %s "
            "AND archived_at IS NULL ORDER BY name",
            [team_id],
        ),
    )


def objective(objective_id: int) -> Floor:
    """The objective, its key results with their initiatives, goalpost changes and this
    cycle's check-ins (the chart), the objectives aligned to it, its line up the
    cascade, its links and dependencies, its guardrail KPIs and the coach's count of
    the team's objectives (its change history loads when scrolled to)."""
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
        goalpost_changes=(
            f"SELECT * FROM goals_goalpostchange WHERE key_result_id IN ({key_results})",
            [objective_id],
        ),
        supports=(
            """SELECT o.id, o.title, l.from_objective_id = %s AS supports
            FROM goals_objective_supports l JOIN goals_objective o
              ON o.id = CASE WHEN l.from_objective_id = %s THEN l.to_objective_id
                             ELSE l.from_objective_id END
            WHERE l.from_objective_id = %s OR l.to_objective_id = %s""",
            [objective_id] * 4,
        ),
        dependencies=(
            "SELECT * FROM goals_dependency "
            "WHERE requesting_objective_id = %s OR providing_objective_id = %s",
            [objective_id, objective_id],
        ),
        guardrails=(
            """SELECT k.id, k.name, k.latest_value, k.green_threshold, k.red_threshold
            FROM goals_kpi k JOIN goals_kpi_guarded_objectives g ON g.kpi_id = k.id
            WHERE g.objective_id = %s AND k.archived_at IS NULL""",
            [objective_id],
        ),
        team_load=(  # the coach's: the team's objectives this cycle, and its parent's
            """SELECT
              (SELECT COUNT(*) FROM goals_objective o WHERE o.cycle_id = x.cycle_id
               AND o.team_id = x.team_id AND o.archived_at IS NULL) AS own,
              (SELECT COUNT(*) FROM goals_objective o WHERE o.cycle_id = x.cycle_id
               AND o.team_id = t.parent_id AND o.archived_at IS NULL) AS parent
            FROM goals_objective x JOIN alignment_team t ON t.id = x.team_id
            WHERE x.id = %s""",
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
    """The report's check-ins of the last two weeks with the confidence each replaced
    (what changed), the pair's previous one-to-one, and the action items with owners."""
    return document(
        checkins=(
            """SELECT ci.id, ci.value, ci.confidence, ci.note, ci.blocker, ci.created_at,
                   kr.id AS key_result_id, kr.title, kr.objective_id, u.username,
                   (SELECT p.confidence FROM checkins_checkin p
                    WHERE p.key_result_id = ci.key_result_id AND p.created_at < ci.created_at
                    ORDER BY p.created_at DESC, p.id DESC LIMIT 1) AS previous_confidence
            FROM checkins_checkin ci JOIN goals_keyresult kr ON kr.id = ci.key_result_id
            JOIN alignment_user u ON u.id = ci.author_id
            WHERE ci.author_id = %s AND ci.created_at >= %s
            ORDER BY ci.created_at DESC, ci.id DESC""",
            [report_id, _week_ago() - dt.timedelta(days=7)],
        ),
        previous=(
            """SELECT p.* FROM checkins_oneonone p JOIN checkins_oneonone o
              ON p.manager_id = o.manager_id AND p.report_id = o.report_id
            WHERE o.id = %s AND p.scheduled_for < o.scheduled_for
            ORDER BY p.scheduled_for DESC, p.id DESC LIMIT 1""",
            [one_on_one_id],
        ),
        action_items=(
            """SELECT a.*, u.username FROM checkins_actionitem a
            JOIN alignment_user u ON u.id = a.owner_id WHERE a.one_on_one_id = %s""",
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
            """SELECT ci.id, ci.value, ci.confidence, ci.blocker, ci.created_at, kr.title,
                u.username, u.first_name, u.last_name
            FROM checkins_checkin ci
            JOIN goals_keyresult kr ON kr.id = ci.key_result_id
            JOIN alignment_user u ON u.id = ci.author_id
            ORDER BY ci.created_at DESC, ci.id DESC LIMIT 50""",
            [],
        )
    )
