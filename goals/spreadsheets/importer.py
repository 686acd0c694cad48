"""Importing a cycle's objectives and key results from a spreadsheet (``layout``).

``import_goals`` reads the file, checks every row and always runs the writes through the
services (``goals.services``, ``checkins.services``) inside one transaction, so a dry run
applies exactly the rules a commit would. The transaction is rolled back unless the
caller asked to commit *and* no problem was found: a file with one bad row saves
nothing. Every problem is reported with the row number and column header the person
sees in their spreadsheet.

Matching makes a re-import idempotent: an objective is the cycle's active objective
with the same team and title, a key result its objective's active key result with the
same title. Rows whose values equal the stored ones call no service at all.

A committing import locks the cycle's row first, so two imports of one file at once
queue up and the second finds what the first created.

Queries: about a dozen up front whatever the size (access, teams, the team tree,
people, memberships, cycles, the cycle's objectives and key results, parent
candidates), none per unchanged row, and per created or changed row what its services
cost: about 25 statements (half of them savepoints, most of the rest the model's
constraint checks) for an objective or a key result and 18 for a check-in, plus two per
level of the cascade above it for the roll-up.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, transaction

from alignment.models import Membership, Team, User
from alignment.queries import TeamAccess, TeamTree, team_access_for
from checkins.access import checkin_refusal
from checkins.services import checkin_record
from goals import access, services
from goals.models import CONFIDENCE_MESSAGE, Cycle, KeyResult, Objective
from goals.spreadsheets.layout import (
    FORMULA_STARTS,
    HEADERS,
    MAX_ROWS,
    OBJECTIVE_COLUMNS,
    REQUIRED_HEADERS,
    normalise_header,
)
from goals.spreadsheets.reading import Cell, FileRefused, Sheet, read_upload

NOT_ALLOWED = "Only admins and team leads can import goals."
CLOSED = "This cycle is closed: its goals are read-only, so nothing can be imported into it."
MAX_DIGITS_BEFORE_POINT = 14
DECIMALS = 4
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")

# Where a service's field error belongs in the spreadsheet.
OBJECTIVE_FIELDS = {
    "title": "objective",
    "description": "objective_description",
    "owner": "objective_owner",
    "kind": "kind",
    "visibility": "visibility",
    "parent": "parent_objective",
    "parent_key_result": "parent_key_result",
    "team": "team",
    NON_FIELD_ERRORS: "objective",
}
KEY_RESULT_FIELDS = {
    "title": "key_result",
    "owner": "key_result_owner",
    "kind": "kr_kind",
    "unit": "unit",
    "start_value": "start_value",
    "target_value": "target_value",
    "current_value": "current_value",
    "weight": "weight",
    "confidence": "confidence",
    "progress_source": "progress_from",
    "reason": "target_value",
    NON_FIELD_ERRORS: "key_result",
}
CHECKIN_FIELDS = {
    "value": "current_value",
    "confidence": "confidence",
    NON_FIELD_ERRORS: "current_value",
}
PROGRESS_FROM = {
    "checkins": KeyResult.ProgressSource.CHECKINS,
    "rollup": KeyResult.ProgressSource.ROLLUP,
}


@dataclass(frozen=True)
class Problem:
    """One thing to fix: ``row`` as numbered in the spreadsheet (None for the whole
    file), ``column`` its header ("" when no single column is at fault)."""

    row: int | None
    column: str
    message: str


@dataclass
class RowOutcome:
    """What importing one row does (or would do)."""

    row: int
    team: str
    objective: str
    key_result: str
    action: str = "unchanged"  # "create", "update" or "unchanged"
    changes: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    filename: str
    cycle: Cycle
    problems: list[Problem] = field(default_factory=list)
    rows: list[RowOutcome] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    committed: bool = False

    @property
    def clean(self) -> bool:
        return not self.problems

    @property
    def writes(self) -> int:
        """Objectives, key results and check-ins to create or change."""
        counts = self.counts
        return sum(
            counts[name]
            for name in (
                "objectives_created",
                "objectives_updated",
                "key_results_created",
                "key_results_updated",
                "checkins",
            )
        )

    @property
    def changing(self) -> int:
        """Rows that create or change something."""
        return sum(1 for row in self.rows if row.action != "unchanged")

    def sorted_problems(self) -> list[Problem]:
        order = {name: index for index, name in enumerate(HEADERS)}
        return sorted(
            self.problems,
            key=lambda p: (p.row or 0, order.get(p.column, len(order)), p.message),
        )


def import_refusal(user, cycle: Cycle, *, team_access: TeamAccess | None = None) -> str | None:
    """Why ``user`` may not import into ``cycle`` at all: admins and team leads may
    (each row is then checked against ``goals.access``), and no one into a closed cycle."""
    if not user.is_superuser:
        team_access = team_access if team_access is not None else team_access_for(user)
        if not team_access.leads_over:
            return NOT_ALLOWED
    if cycle.is_closed:
        return CLOSED
    return None


def import_goals(
    *,
    data: bytes,
    filename: str,
    cycle: Cycle,
    user,
    commit: bool,
    max_writes: int | None = None,
) -> ImportReport:
    """Check ``data`` row by row and run it through the services for ``user``; keep the
    result only when ``commit`` and nothing is wrong. Never raises for bad input.

    ``max_writes`` caps the objectives, key results and check-ins a file may create or
    change (unchanged rows cost nothing): each costs its services' queries, and a web
    request must finish before the server's timeout."""
    return _Import(data=data, filename=filename, cycle=cycle, user=user).run(
        commit=commit, max_writes=max_writes
    )


# --- Rows as read ------------------------------------------------------------------------


@dataclass(eq=False)
class _Row:
    number: int
    cells: dict[str, Cell]
    values: dict[str, Any] = field(default_factory=dict)
    bad: set[str] = field(default_factory=set)  # columns with a problem


@dataclass(eq=False)
class _KeyResultRow:
    row: _Row
    title: str
    existing: KeyResult | None = None
    instance: KeyResult | None = None
    blocked: bool = False
    changed: bool = False  # a service must save it
    checkin: tuple[Decimal, int] | None = None  # (value, confidence) to record


@dataclass(eq=False)
class _ObjectiveRows:
    team_text: str
    title: str
    rows: list[_Row] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # objective columns, first given
    value_rows: dict[str, int] = field(default_factory=dict)  # the row each value came from
    team: Team | None = None
    owner: User | None = None
    existing: Objective | None = None
    parent: _ObjectiveRows | Objective | None = None
    parent_key_result_title: str = ""
    parent_cycle: Cycle | None = None
    key_results: list[_KeyResultRow] = field(default_factory=list)
    instance: Objective | None = None
    blocked: bool = False
    changed: bool = False  # a service must save it
    # Why the importer may not change this existing objective: a problem only if the
    # file changes it (an export re-imported whole leaves other teams' rows alone).
    refusal: tuple[str, str] | None = None  # (column, message)

    @property
    def first(self) -> _Row:
        return self.rows[0]

    def row_of(self, column: str) -> int:
        return self.value_rows.get(column, self.first.number)


class _Import:
    def __init__(self, *, data: bytes, filename: str, cycle: Cycle, user) -> None:
        self.data = data
        self.user = user
        self.cycle = cycle
        self.report = ImportReport(filename=filename, cycle=cycle)
        self.reason = f"Imported from {filename}"
        self.rows: list[_Row] = []
        self.objectives: dict[tuple[str, str], _ObjectiveRows] = {}

    # Reporting ----------------------------------------------------------------------------

    def problem(self, row: int | None, column: str, message: str) -> None:
        self.report.problems.append(Problem(row, column, message))

    def row_problem(self, row: _Row, column: str, message: str) -> None:
        row.bad.add(column)
        self.problem(row.number, column, message)

    def service_problems(self, row: _Row, error: ValidationError, columns: dict) -> None:
        if hasattr(error, "error_dict"):
            for name, errors in error.message_dict.items():
                column = columns.get(name, columns[NON_FIELD_ERRORS])
                for message in errors:
                    self.row_problem(row, column, message)
        else:
            for message in error.messages:
                self.row_problem(row, columns[NON_FIELD_ERRORS], message)

    # The steps ----------------------------------------------------------------------------

    def run(self, *, commit: bool, max_writes: int | None = None) -> ImportReport:
        if self.user.is_superuser:
            self.team_access = TeamAccess(frozenset(), frozenset())
        else:
            self.team_access = team_access_for(self.user)
        refusal = import_refusal(self.user, self.cycle, team_access=self.team_access)
        if refusal:
            self.problem(None, "", refusal)
            return self.report
        try:
            sheet = read_upload(self.data)
        except FileRefused as refused:
            self.problem(None, "", str(refused))
            return self.report
        if sheet.too_many_rows:
            self.problem(
                None,
                "",
                f"The file has more than {MAX_ROWS:,} rows: split it into files of at most "
                f"{MAX_ROWS:,} rows and import them one after the other.",
            )
            return self.report
        if not self.read_rows(sheet):
            return self.report
        if not self.rows:
            self.problem(None, "", "The file has a header row but no rows below it.")
            return self.report
        with transaction.atomic():
            if commit:
                # Imports into one cycle queue up here, so the second matches the rows
                # the first created instead of creating them again (PostgreSQL; SQLite
                # runs one write transaction at a time anyway).
                Cycle.objects.select_for_update().filter(pk=self.cycle.pk).first()
            self.group()
            self.resolve()
            self.plan()
            writes = self.report.writes
            if max_writes is not None and writes > max_writes:
                self.problem(
                    None,
                    "",
                    f"This file creates or changes {writes:,} objectives, key results and "
                    f"check-ins: more than the {max_writes:,} a browser import can check in "
                    "one go. Split it into smaller files, or ask an admin to run the "
                    "import_goals command with it.",
                )
                return self.report
            self.execute(commit=commit)
        return self.report

    def read_rows(self, sheet: Sheet) -> bool:
        """Map the header row to the layout's columns and parse every cell; False when
        the rows cannot be read (a required or repeated column)."""
        positions: dict[str, int] = {}
        readable = True
        seen: dict[str, int] = {}
        for index in self._unnamed_columns_with_values(sheet):
            letter = _column_letter(index)
            self.problem(1, letter, f"Column {letter} has values but no name in the header row.")
        for index, header in enumerate(sheet.headers):
            name = normalise_header(header)
            letter = _column_letter(index)
            if not name:
                continue
            if name not in HEADERS:
                self.problem(
                    1,
                    str(header).strip(),
                    f"Unknown column “{str(header).strip()}” (column {letter}). The columns "
                    f"are: {', '.join(HEADERS)}.",
                )
                continue
            if name in seen:
                self.problem(
                    1,
                    name,
                    f"The column appears twice (columns {_column_letter(seen[name])} and "
                    f"{letter}): keep one.",
                )
                readable = False
                continue
            seen[name] = index
            positions[name] = index
        for name in REQUIRED_HEADERS:
            if name not in positions:
                self.problem(1, name, f"Missing column “{name}”: every file needs it.")
                readable = False
        if not readable:
            return False
        for number, cells in sheet.rows:
            row = _Row(
                number=number,
                cells={
                    name: cells[index] if index < len(cells) else None
                    for name, index in positions.items()
                },
            )
            self.parse(row, decimal_comma=sheet.decimal_comma)
            self.rows.append(row)
        return True

    @staticmethod
    def _unnamed_columns_with_values(sheet: Sheet) -> list[int]:
        """Columns holding values below an empty header cell, or beyond the header row
        (one pass over the cells)."""
        named = {i for i, header in enumerate(sheet.headers) if normalise_header(header)}
        found: set[int] = set()
        for _number, cells in sheet.rows:
            for index, cell in enumerate(cells):
                if index not in named and index not in found and not _empty(cell):
                    found.add(index)
        return sorted(found)

    def parse(self, row: _Row, *, decimal_comma: bool) -> None:
        values = row.values
        for name in (
            "team",
            "objective",
            "objective_description",
            "objective_owner",
            "parent_cycle",
            "parent_team",
            "parent_objective",
            "parent_key_result",
            "key_result",
            "key_result_owner",
            "unit",
        ):
            values[name] = _text(row.cells.get(name))
        if not values["team"]:
            self.row_problem(row, "team", "Required: the team's short name (e.g. product).")
        if not values["objective"]:
            self.row_problem(row, "objective", "Required: the objective's title.")
        for name, limit in (("objective", 200), ("key_result", 200), ("unit", 20)):
            if len(values[name]) > limit:
                self.row_problem(
                    row, name, f"At most {limit} characters (this has {len(values[name])})."
                )
        for name, choices in (
            ("kind", Objective.Kind.values),
            ("visibility", Objective.Visibility.values),
            ("kr_kind", KeyResult.Kind.values),
            ("progress_from", list(PROGRESS_FROM)),
        ):
            text = _text(row.cells.get(name)).lower()
            if name == "progress_from":
                text = text.replace("-", "").replace(" ", "")
            if text and text not in choices:
                typed = _text(row.cells.get(name))
                self.row_problem(row, name, f"“{typed}” is not one of: {', '.join(choices)}.")
                text = ""
            values[name] = text
        for name in ("start_value", "target_value", "current_value", "weight"):
            number, message = _number(row.cells.get(name), decimal_comma=decimal_comma)
            if message:
                self.row_problem(row, name, message)
            values[name] = number
        if values["weight"] is not None and values["weight"] <= 0:
            self.row_problem(row, "weight", "The weight must be greater than zero.")
        values["confidence"], message = _confidence(row.cells.get("confidence"))
        if message:
            self.row_problem(row, "confidence", message)
        start, target = values["start_value"], values["target_value"]
        if start is not None and start == target:
            self.row_problem(row, "target_value", "The target must differ from the start value.")
        if not values["key_result"]:
            for name in (
                "key_result_owner",
                "kr_kind",
                "unit",
                "start_value",
                "target_value",
                "current_value",
                "weight",
                "confidence",
                "progress_from",
            ):
                if values[name] not in ("", None) and name not in row.bad:
                    self.row_problem(
                        row,
                        "key_result",
                        "Key result values are filled in but its title is empty.",
                    )
                    break

    def group(self) -> None:
        """Rows → objectives (by team and title) with their key results; objective
        columns must agree on all of an objective's rows."""
        seen_key_results: dict[tuple[str, str, str], int] = {}
        for row in self.rows:
            team_text, title = row.values["team"], row.values["objective"]
            if not team_text or not title:
                continue
            key = (team_text.lower(), title)
            objective = self.objectives.get(key)
            if objective is None:
                objective = self.objectives[key] = _ObjectiveRows(team_text, title)
            objective.rows.append(row)
            for name in OBJECTIVE_COLUMNS:
                value = row.values.get(name)
                if name in ("team", "objective") or value in ("", None) or name in row.bad:
                    continue
                if name not in objective.values:
                    objective.values[name] = value
                    objective.value_rows[name] = row.number
                elif objective.values[name] != value:
                    self.row_problem(
                        row,
                        name,
                        f"Differs from row {objective.value_rows[name]} of the same objective: "
                        "an objective's columns must agree on all its rows (or be left empty "
                        "after its first row).",
                    )
            kr_title = row.values["key_result"]
            duplicate_key = (*key, kr_title)
            if duplicate_key in seen_key_results:
                what = "key result of the same objective" if kr_title else "objective"
                self.row_problem(
                    row,
                    "key_result" if kr_title else "objective",
                    f"Repeats row {seen_key_results[duplicate_key]}: the same {what} is in the "
                    "file twice.",
                )
                continue
            seen_key_results[duplicate_key] = row.number
            if kr_title:
                objective.key_results.append(_KeyResultRow(row=row, title=kr_title))

    def resolve(self) -> None:
        """Teams, people, existing objectives and key results, parents: each looked up
        by its natural key in a fixed number of queries."""
        objectives = list(self.objectives.values())
        slugs = {o.team_text for o in objectives} | {
            o.values["parent_team"] for o in objectives if "parent_team" in o.values
        }
        teams = list(
            Team.objects.filter(slug__in=slugs | {slug.lower() for slug in slugs}).only(
                "pk", "slug", "name", "parent_id", "archived_at"
            )
        )
        by_slug = {team.slug: team for team in teams}
        by_lower = {team.slug.lower(): team for team in teams}

        def team_of(text: str) -> Team | None:
            return by_slug.get(text) or by_lower.get(text.lower())

        usernames = {o.values.get("objective_owner") for o in objectives} | {
            kr.row.values["key_result_owner"] for o in objectives for kr in o.key_results
        }
        people = {
            person.username: person
            for person in User.objects.filter(username__in=usernames - {None, ""}, is_active=True)
        }
        tree = TeamTree.load()
        memberships: dict[int, set[int]] = defaultdict(set)
        leads: dict[int, set[int]] = defaultdict(set)
        for user_id, team_id, role in Membership.objects.filter(
            user__in=[people[name] for name in people]
        ).values_list("user_id", "team_id", "role"):
            memberships[user_id].add(team_id)
            if role == Membership.Role.LEAD:
                leads[user_id].add(team_id)

        for objective in objectives:
            row = objective.first
            team = team_of(objective.team_text)
            if team is None or team.archived_at is not None:
                message = (
                    f"No team has the short name “{objective.team_text}”."
                    if team is None
                    else f"The team {team.name} is archived."
                )
                for each in objective.rows:
                    self.row_problem(each, "team", message)
                objective.blocked = True
                team = None
            objective.team = team
            if "objective" in row.bad:
                objective.blocked = True
            owner_name = objective.values.get("objective_owner")
            if not owner_name:
                self.row_problem(
                    row,
                    "objective_owner",
                    "Required on the objective's first row: the owner's username.",
                )
                objective.blocked = True
            elif owner_name not in people:
                self.row_problem(
                    self._row(objective, "objective_owner"),
                    "objective_owner",
                    f"No active person has the username “{owner_name}”.",
                )
                objective.blocked = True
            else:
                objective.owner = people[owner_name]
                if team is not None and not (
                    team.pk in memberships[objective.owner.pk]
                    or leads[objective.owner.pk] & {team.pk, *tree.ancestors(team.pk)}
                ):
                    self.row_problem(
                        self._row(objective, "objective_owner"),
                        "objective_owner",
                        f"{owner_name} is not a member of {team.name} (nor a lead of a team "
                        "above it): an objective is owned by someone in its team.",
                    )
                    objective.blocked = True
            for key_result in objective.key_results:
                name = key_result.row.values["key_result_owner"]
                if name and name not in people:
                    self.row_problem(
                        key_result.row,
                        "key_result_owner",
                        f"No active person has the username “{name}”.",
                    )
        self.people = people
        self._match_existing()
        self._resolve_parents(team_of)
        self._check_permissions()

    def _row(self, objective: _ObjectiveRows, column: str) -> _Row:
        number = objective.row_of(column)
        return next(row for row in objective.rows if row.number == number)

    def _match_existing(self) -> None:
        team_ids = {o.team.pk for o in self.objectives.values() if o.team is not None}
        existing: dict[tuple[int, str], list[Objective]] = defaultdict(list)
        for objective in (
            Objective.objects.filter(cycle=self.cycle, team__in=team_ids, archived_at__isnull=True)
            .select_related("cycle", "owner", "parent", "parent_key_result")
            .order_by("pk")
        ):
            existing[objective.team_id, objective.title].append(objective)
        for objective in self.objectives.values():
            if objective.team is None:
                continue
            matches = existing.get((objective.team.pk, objective.title), [])
            if len(matches) > 1:
                self.row_problem(
                    objective.first,
                    "objective",
                    f"{len(matches)} objectives of {objective.team.name} in {self.cycle} are "
                    "titled like this: rename or archive all but one in Waymark first.",
                )
                objective.blocked = True
            elif matches:
                objective.existing = matches[0]
        ids = [o.existing.pk for o in self.objectives.values() if o.existing]
        key_results: dict[tuple[int, str], list[KeyResult]] = defaultdict(list)
        for key_result in KeyResult.objects.filter(
            objective__in=ids, archived_at__isnull=True
        ).order_by("position", "pk"):
            key_results[key_result.objective_id, key_result.title].append(key_result)
        self.existing_titles: dict[int, set[str]] = defaultdict(set)
        for objective_id, title in key_results:
            self.existing_titles[objective_id].add(title)
        for objective in self.objectives.values():
            if objective.existing is None:
                continue
            for row in objective.key_results:
                matches = key_results.get((objective.existing.pk, row.title), [])
                if len(matches) > 1:
                    self.row_problem(
                        row.row,
                        "key_result",
                        f"{len(matches)} key results of this objective are titled like this: "
                        "rename or archive all but one in Waymark first.",
                    )
                    row.blocked = True
                elif matches:
                    row.existing = matches[0]
                    row.existing.objective = objective.existing

    def _resolve_parents(self, team_of) -> None:
        wanted = [o for o in self.objectives.values() if "parent_objective" in o.values]
        for objective in self.objectives.values():
            values = objective.values
            if "parent_key_result" in values and "parent_objective" not in values:
                self.row_problem(
                    self._row(objective, "parent_key_result"),
                    "parent_key_result",
                    "Name the parent_objective too: this is one of its key results.",
                )
                objective.blocked = True
        if not wanted:
            return
        names = {o.values["parent_cycle"] for o in wanted if "parent_cycle" in o.values}
        cycles = {c.name: c for c in Cycle.objects.filter(name__in=names)} if names else {}
        cycles[self.cycle.name] = self.cycle
        for objective in wanted:
            name = objective.values.get("parent_cycle", self.cycle.name)
            objective.parent_cycle = cycles.get(name)
            if objective.parent_cycle is None:
                self.row_problem(
                    self._row(objective, "parent_cycle"),
                    "parent_cycle",
                    f"No cycle is named “{name}”.",
                )
                objective.blocked = True
        # Every objective that could be a parent, that the importing person may read.
        candidates: dict[tuple[int, str], list[Objective]] = defaultdict(list)
        titles = {o.values["parent_objective"] for o in wanted}
        cycle_ids = {o.parent_cycle.pk for o in wanted if o.parent_cycle is not None}
        for candidate in (
            Objective.objects.visible_to(self.user, access=self.team_access)
            .filter(cycle__in=cycle_ids, title__in=titles, archived_at__isnull=True)
            .select_related("team", "cycle")
        ):
            candidates[candidate.cycle_id, candidate.title].append(candidate)
        in_file: dict[tuple[int, str], list[_ObjectiveRows]] = defaultdict(list)
        for objective in self.objectives.values():
            if objective.team is not None:
                in_file[self.cycle.pk, objective.title].append(objective)
        parent_key_result_titles: dict[int, set[str]] = defaultdict(set)
        parent_ids = set()
        for objective in wanted:
            if objective.parent_cycle is None:
                continue
            self._resolve_parent(objective, candidates, in_file, team_of)
            if isinstance(objective.parent, Objective):
                parent_ids.add(objective.parent.pk)
        if parent_ids:
            for objective_id, title in KeyResult.objects.filter(
                objective__in=parent_ids, archived_at__isnull=True
            ).values_list("objective_id", "title"):
                parent_key_result_titles[objective_id].add(title)
        for objective in wanted:
            title = objective.values.get("parent_key_result")
            if not title or objective.parent is None:
                continue
            parent = objective.parent
            if isinstance(parent, _ObjectiveRows):
                known = {kr.title for kr in parent.key_results}
                if parent.existing is not None:
                    known |= self.existing_titles[parent.existing.pk]
            else:
                known = parent_key_result_titles[parent.pk]
            if title not in known:
                self.row_problem(
                    self._row(objective, "parent_key_result"),
                    "parent_key_result",
                    f"The parent objective has no key result titled “{title}”.",
                )
                objective.blocked = True
            else:
                objective.parent_key_result_title = title
        self._refuse_loops()

    def _resolve_parent(self, objective, candidates, in_file, team_of) -> None:
        title = objective.values["parent_objective"]
        cycle = objective.parent_cycle
        found: list[_ObjectiveRows | Objective] = []
        file_matches = in_file.get((cycle.pk, title), []) if cycle.pk == self.cycle.pk else []
        found.extend(file_matches)
        matched_existing = {m.existing.pk for m in file_matches if m.existing is not None}
        found.extend(
            candidate
            for candidate in candidates.get((cycle.pk, title), [])
            if candidate.pk not in matched_existing
        )
        team_text = objective.values.get("parent_team")
        if team_text:
            team = team_of(team_text)
            if team is None:
                self.row_problem(
                    self._row(objective, "parent_team"),
                    "parent_team",
                    f"No team has the short name “{team_text}”.",
                )
                objective.blocked = True
                return
            found = [f for f in found if _team_id(f) == team.pk]
        row = self._row(objective, "parent_objective")
        where = f"{cycle}" + (f" in team {team_text}" if team_text else "")
        if not found:
            self.row_problem(
                row,
                "parent_objective",
                f"No objective titled “{title}” in {where}, neither in this file nor one you "
                "can see in Waymark.",
            )
            objective.blocked = True
        elif len(found) > 1:
            teams = sorted({_team_slug(f) for f in found})
            self.row_problem(
                row,
                "parent_objective",
                f"{len(found)} objectives in {cycle} are titled “{title}” (teams "
                f"{', '.join(teams)}): say which with parent_team.",
            )
            objective.blocked = True
        elif found[0] is objective or (
            objective.existing is not None and found[0] is objective.existing
        ):
            self.row_problem(row, "parent_objective", "An objective cannot be aligned to itself.")
            objective.blocked = True
        else:
            objective.parent = found[0]

    def _refuse_loops(self) -> None:
        """Parents within the file must form a forest; loops through objectives that are
        only in Waymark are refused by the service when the rows are written."""
        for objective in self.objectives.values():
            seen = [objective]
            current = objective.parent
            while isinstance(current, _ObjectiveRows) and current not in seen:
                seen.append(current)
                current = current.parent
            if current is objective:
                chain = " → ".join(f"“{o.title}”" for o in [*seen, objective])
                self.row_problem(
                    self._row(objective, "parent_objective"),
                    "parent_objective",
                    f"The alignment makes a loop: {chain}.",
                )
                objective.blocked = True

    def _check_permissions(self) -> None:
        for objective in self.objectives.values():
            if objective.team is None:
                continue
            row = objective.first
            if not self.user.is_superuser and objective.team.pk not in self.team_access.leads_over:
                refusal = (
                    f"You can import only into teams you lead (or teams below them), not "
                    f"into {objective.team.name}."
                )
                if objective.existing is not None:
                    objective.refusal = ("team", refusal)
                    continue
                self.row_problem(row, "team", refusal)
                objective.blocked = True
                continue
            if objective.existing is not None:
                objective.existing.team = objective.team
                refusal = access.objective_write_refusal(
                    self.user, objective.existing, access=self.team_access
                )
                if refusal:
                    objective.refusal = ("objective", refusal)
                    continue
            if objective.owner is not None and (
                objective.existing is None or objective.existing.owner_id != objective.owner.pk
            ):
                refusal = access.objective_create_refusal(
                    self.user,
                    team=objective.team,
                    cycle=self.cycle,
                    owner=objective.owner,
                    access=self.team_access,
                )
                if refusal:
                    self.row_problem(self._row(objective, "objective_owner"), "team", refusal)
                    objective.blocked = True

    # Planning: what changes ---------------------------------------------------------------

    def plan(self) -> None:
        """Decide, for every row, whether it creates, updates or leaves things; the
        checks that need the stored values (a check-in's confidence, an active cycle)
        are made here."""
        for objective in self.objectives.values():
            for row in objective.rows:
                self.report.rows.append(
                    RowOutcome(
                        row=row.number,
                        team=objective.team_text,
                        objective=objective.title,
                        key_result=row.values["key_result"],
                    )
                )
        self.outcomes = {outcome.row: outcome for outcome in self.report.rows}
        for objective in self.objectives.values():
            first = self.outcomes[objective.first.number]
            if objective.existing is None:
                objective.changed = True
                first.action = "create"
                first.changes.append("new objective")
                self.report.counts["objectives_created"] += 1
            else:
                changes = self._objective_changes(objective)
                objective.changed = bool(changes)
                if changes:
                    first.action = "update"
                    first.changes.append("objective: " + ", ".join(changes))
                    self.report.counts["objectives_updated"] += 1
                else:
                    self.report.counts["objectives_unchanged"] += 1
            for key_result in objective.key_results:
                self._plan_key_result(objective, key_result)
        for objective in self.objectives.values():
            changes_something = objective.changed or any(
                key_result.changed or key_result.checkin for key_result in objective.key_results
            )
            if objective.refusal and changes_something:
                self.row_problem(objective.first, *objective.refusal)
                objective.blocked = True
        # Rows blocked by a problem report it instead of an action.
        for row in self.rows:
            if row.bad and row.number in self.outcomes:
                self.outcomes[row.number].action = "problem"
        self.report.rows.sort(key=lambda outcome: outcome.row)

    def _objective_changes(self, objective: _ObjectiveRows) -> list[str]:
        existing, values = objective.existing, objective.values
        changes = []
        if values.get("objective_description", existing.description) != existing.description:
            changes.append("description")
        if objective.owner is not None and objective.owner.pk != existing.owner_id:
            changes.append(f"owner {existing.owner.username} → {objective.owner.username}")
        for name, column in (("kind", "kind"), ("visibility", "visibility")):
            if values.get(column) and values[column] != getattr(existing, name):
                changes.append(f"{name} {getattr(existing, name)} → {values[column]}")
        if objective.parent is not None:
            parent = objective.parent
            if isinstance(parent, _ObjectiveRows):
                parent = parent.existing
            if parent is None or parent.pk != existing.parent_id:
                changes.append("parent objective")
            elif objective.parent_key_result_title and (
                existing.parent_key_result is None
                or existing.parent_key_result.title != objective.parent_key_result_title
            ):
                changes.append("parent key result")
        return changes

    def _plan_key_result(self, objective: _ObjectiveRows, key_result: _KeyResultRow) -> None:
        row, values = key_result.row, key_result.row.values
        outcome = self.outcomes[row.number]
        existing = key_result.existing
        kind = values["kr_kind"] or (existing.kind if existing else KeyResult.Kind.NUMBER)
        source = PROGRESS_FROM.get(values["progress_from"]) or (
            existing.progress_source if existing else KeyResult.ProgressSource.CHECKINS
        )
        if existing is None:
            if kind != KeyResult.Kind.MILESTONE:
                for name in ("start_value", "target_value"):
                    if values[name] is None and name not in row.bad:
                        self.row_problem(
                            row, name, "Required: a key result goes from a start to a target."
                        )
            start = values["start_value"]
            if start is None and kind == KeyResult.Kind.MILESTONE:
                start = Decimal(0)
            stored_value, stored_confidence = start, None
            key_result.changed = True
            outcome.action = "create"
            outcome.changes.append("new key result")
            self.report.counts["key_results_created"] += 1
        else:
            stored_value, stored_confidence = existing.current_value, existing.confidence
            changes = self._key_result_changes(key_result, kind, source)
            key_result.changed = bool(changes)
            if changes:
                outcome.action = "update"
                outcome.changes.append("key result: " + ", ".join(changes))
                self.report.counts["key_results_updated"] += 1
            else:
                self.report.counts["key_results_unchanged"] += 1
        value = values["current_value"] if values["current_value"] is not None else stored_value
        confidence = values["confidence"] if values["confidence"] is not None else stored_confidence
        if (value, confidence) == (stored_value, stored_confidence) or not (
            {"current_value", "confidence"}.isdisjoint(row.bad)
        ):
            return
        column = "current_value" if value != stored_value else "confidence"
        if source == KeyResult.ProgressSource.ROLLUP:
            self.row_problem(
                row,
                column,
                "This key result takes its progress from the objectives aligned to it: leave "
                "current_value and confidence empty (or as they are).",
            )
        elif self.cycle.state != Cycle.State.ACTIVE:
            self.row_problem(
                row,
                column,
                "A new current value or confidence is recorded as a check-in, and check-ins "
                f"are recorded in active cycles only ({self.cycle} is "
                f"{self.cycle.get_state_display().lower()}): leave them empty or as they are.",
            )
        elif confidence is None:
            self.row_problem(
                row,
                "confidence",
                "Give a confidence from 1 to 10: the new current value is recorded as a "
                "check-in, which needs one.",
            )
        else:
            key_result.checkin = (value, confidence)
            if outcome.action == "unchanged":
                outcome.action = "update"
            outcome.changes.append(f"check-in {_shown(value)} (confidence {confidence})")
            self.report.counts["checkins"] += 1

    def _key_result_changes(self, key_result: _KeyResultRow, kind: str, source: str) -> list[str]:
        existing, values = key_result.existing, key_result.row.values
        changes = []
        owner = self.people.get(values["key_result_owner"])
        if owner is not None and owner.pk != existing.owner_id:
            changes.append("owner")
        if kind != existing.kind:
            changes.append(f"kind {existing.kind} → {kind}")
        if values["unit"] and values["unit"] != existing.unit:
            changes.append("unit")
        goalpost = self.cycle.state == Cycle.State.ACTIVE
        for name in ("start_value", "target_value", "weight"):
            new = values[name]
            if new is not None and new != getattr(existing, name):
                change = f"{name} {_shown(getattr(existing, name))} → {_shown(new)}"
                if goalpost and name != "weight":
                    change += " (a moved goalpost, shown at grading)"
                changes.append(change)
        if source != existing.progress_source:
            changes.append(f"progress from {source}")
        return changes

    # Writing ------------------------------------------------------------------------------

    def execute(self, *, commit: bool) -> None:
        """Write every row that can be written through the services in one transaction;
        roll it all back unless committing a file without problems."""
        with transaction.atomic():
            for objective in self._parents_first():
                self._write_objective(objective)
            keep = commit and not self.report.problems
            if not keep:
                transaction.set_rollback(True)
        self.report.committed = keep

    def _parents_first(self) -> list[_ObjectiveRows]:
        ordered: list[_ObjectiveRows] = []
        placed: set[int] = set()

        def place(objective: _ObjectiveRows, depth: int = 0) -> None:
            if id(objective) in placed or depth > len(self.objectives):
                return
            if isinstance(objective.parent, _ObjectiveRows):
                place(objective.parent, depth + 1)
            placed.add(id(objective))
            ordered.append(objective)

        for objective in self.objectives.values():
            place(objective)
        return ordered

    def _write_objective(self, objective: _ObjectiveRows) -> None:
        parent = objective.parent
        if isinstance(parent, _ObjectiveRows):
            if parent.instance is None:
                objective.blocked = True  # the parent's rows say why
            parent = parent.instance
        if objective.blocked:
            return
        if not objective.changed:
            objective.instance = objective.existing
            for key_result in objective.key_results:
                self._write_key_result(objective, key_result)
            return
        instance = objective.existing
        if instance is None:
            instance = Objective(
                cycle=self.cycle,
                team=objective.team,
                title=objective.title,
                kind=objective.values.get("kind") or Objective.Kind.COMMITTED,
                visibility=objective.values.get("visibility") or Objective.Visibility.PUBLIC,
            )
        if objective.owner is not None:
            instance.owner = objective.owner
        if "objective_description" in objective.values:
            instance.description = objective.values["objective_description"]
        for name in ("kind", "visibility"):
            if objective.values.get(name):
                setattr(instance, name, objective.values[name])
        if parent is not None:
            if instance.parent_id != parent.pk:
                instance.parent_key_result = None
            instance.parent = parent
            if objective.parent_key_result_title:
                instance.parent_key_result = self._parent_key_result(parent, objective)
        try:
            with transaction.atomic():
                self._attribute(instance)
                if objective.existing is None:
                    services.objective_create(objective=instance, key_results=[], actor=self.user)
                else:
                    services.objective_save(objective=instance)
        except ValidationError as error:
            self.service_problems(objective.first, error, OBJECTIVE_FIELDS)
            return
        except DatabaseError as error:
            self.row_problem(objective.first, "objective", f"The database refused it: {error}")
            return
        objective.instance = instance
        for key_result in objective.key_results:
            self._write_key_result(objective, key_result)

    def _parent_key_result(self, parent: Objective, objective: _ObjectiveRows) -> KeyResult | None:
        return (
            KeyResult.objects.filter(
                objective=parent, title=objective.parent_key_result_title, archived_at__isnull=True
            )
            .order_by("pk")
            .first()
        )

    def _write_key_result(self, objective: _ObjectiveRows, key_result: _KeyResultRow) -> None:
        row, values = key_result.row, key_result.row.values
        if key_result.blocked or row.bad:
            return
        instance = key_result.existing
        if not key_result.changed:
            key_result.instance = instance
            if key_result.checkin:
                self._check_in(key_result, instance)
            return
        if instance is None:
            instance = KeyResult(objective=objective.instance, title=key_result.title)
            instance.owner = objective.instance.owner
        owner = self.people.get(values["key_result_owner"])
        if owner is not None:
            instance.owner = owner
        if values["kr_kind"]:
            instance.kind = values["kr_kind"]
        if values["unit"]:
            instance.unit = values["unit"]
        for name in ("start_value", "target_value", "weight"):
            if values[name] is not None:
                setattr(instance, name, values[name])
        if values["progress_from"]:
            instance.progress_source = PROGRESS_FROM[values["progress_from"]]
        if instance.kind == KeyResult.Kind.MILESTONE:
            # Model validation checks for missing values before the model fills these in.
            if instance.start_value is None:
                instance.start_value = Decimal(0)
            if instance.target_value is None:
                instance.target_value = Decimal(1)
        try:
            with transaction.atomic():
                self._attribute(instance)
                if key_result.existing is None:
                    services.key_result_add(key_result=instance, actor=self.user)
                else:
                    services.key_result_save(
                        key_result=instance, actor=self.user, reason=self.reason
                    )
        except ValidationError as error:
            self.service_problems(row, error, KEY_RESULT_FIELDS)
            return
        except DatabaseError as error:
            self.row_problem(row, "key_result", f"The database refused it: {error}")
            return
        key_result.instance = instance
        if key_result.checkin:
            self._check_in(key_result, instance)

    def _check_in(self, key_result: _KeyResultRow, instance: KeyResult) -> None:
        row = key_result.row
        value, confidence = key_result.checkin
        refusal = checkin_refusal(self.user, instance)
        if refusal:
            self.row_problem(row, "current_value", refusal)
            return
        try:
            with transaction.atomic():
                checkin_record(
                    key_result=instance,
                    author=self.user,
                    value=value,
                    confidence=confidence,
                    note=self.reason,
                )
        except ValidationError as error:
            self.service_problems(row, error, CHECKIN_FIELDS)
        except DatabaseError as error:
            self.row_problem(row, "current_value", f"The database refused it: {error}")

    def _attribute(self, instance) -> None:
        """The history row of this change names the importing person and the file."""
        instance._history_user = self.user
        instance._change_reason = self.reason[:100]


# --- Cells --------------------------------------------------------------------------------


def _empty(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _text(cell: Cell) -> str:
    """A cell as text: numbers as typed (``12``, not ``12.0``), CSV's formula guard
    (a leading apostrophe before ``=``, ``+``, ``-``, ``@``) dropped, spaces trimmed."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, dt.datetime | dt.date | dt.time):
        return cell.isoformat()
    text = str(cell)
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        text = text[1:]
    return text.strip()


def _number(cell: Cell, *, decimal_comma: bool) -> tuple[Decimal | None, str]:
    """A cell as an exact decimal, or the message saying why it is not one."""
    if _empty(cell):
        return None, ""
    if isinstance(cell, bool | dt.datetime | dt.date | dt.time):
        return None, f"Enter a number, not {_text(cell)}."
    if isinstance(cell, int):
        value = Decimal(cell)
    elif isinstance(cell, float):
        if not math.isfinite(cell):
            return None, "Enter a number."
        value = Decimal(repr(cell))
        # A spreadsheet's float of 0.1 + 0.2 is 0.30000000000000004: keep what it shows.
        rounded = value.quantize(Decimal(1).scaleb(-DECIMALS)) if abs(value) < 10**14 else value
        if abs(rounded - value) < Decimal("1e-9"):
            value = rounded
    else:
        text = _text(cell).replace(" ", "").replace("\u00a0", "")
        if decimal_comma and text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        if not _NUMBER.fullmatch(text):
            if "," in text:
                return None, (
                    f"“{_text(cell)}” is not a number: write it without thousands separators, "
                    "with a point as the decimal mark (1234.5)."
                )
            return None, f"“{_text(cell)}” is not a number (e.g. 1234.5; units go in “unit”)."
        try:
            value = Decimal(text)
        except InvalidOperation:
            return None, f"“{_text(cell)}” is not a number."
    value = value.normalize() if value else Decimal(0)
    if abs(value) >= 10**MAX_DIGITS_BEFORE_POINT:
        return None, f"Too large: at most {MAX_DIGITS_BEFORE_POINT} digits before the point."
    if value.as_tuple().exponent < -DECIMALS:
        return None, f"At most {DECIMALS} decimals."
    return value, ""


def _confidence(cell: Cell) -> tuple[int | None, str]:
    if _empty(cell):
        return None, ""
    number, message = _number(cell, decimal_comma=False)
    if message or number is None or number != number.to_integral_value() or not 1 <= number <= 10:
        return None, CONFIDENCE_MESSAGE
    return int(number), ""


def _shown(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def _team_id(objective: _ObjectiveRows | Objective) -> int | None:
    if isinstance(objective, Objective):
        return objective.team_id
    return objective.team.pk if objective.team is not None else None


def _team_slug(objective: _ObjectiveRows | Objective) -> str:
    if isinstance(objective, Objective):
        return objective.team.slug
    return objective.team.slug if objective.team is not None else objective.team_text


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
