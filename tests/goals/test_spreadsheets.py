"""Importing and exporting a cycle's goals as spreadsheets (``goals.spreadsheets``): every
kind of problem at its row and column, all-or-nothing commits, idempotent re-imports,
the rights of leads and admins, export scoping and query counts, and round trips of the
demo company through XLSX and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import zipfile
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from alignment.models import Membership, User
from checkins.models import CheckIn
from goals.models import Cycle, GoalpostChange, KeyResult, Objective
from goals.spreadsheets import export_cycle, import_goals, template_csv, template_xlsx
from goals.spreadsheets.importer import CLOSED, NOT_ALLOWED
from goals.spreadsheets.layout import HEADERS, HOW_TO_FILL, MAX_ROWS, SHEET
from tests import factories

# --- Building files --------------------------------------------------------------------------


def row(**values) -> dict[str, str]:
    """A key result of the Product team's objective "Faster unlocks", owned by owner."""
    base = {
        "team": "product",
        "objective": "Faster unlocks",
        "objective_owner": "owner",
        "key_result": "Unlock time",
        "start_value": "8",
        "target_value": "2",
    }
    return {**base, **values}


def csv_file(rows: list[dict], headers=HEADERS, delimiter=",") -> bytes:
    stream = io.StringIO()
    writer = csv.writer(stream, delimiter=delimiter)
    writer.writerow(headers)
    for values in rows:
        writer.writerow([values.get(header, "") for header in headers])
    return stream.getvalue().encode()


def xlsx_file(rows: list[list], title: str = SHEET) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for values in rows:
        sheet.append(values)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def run(org, data: bytes, *, user=None, commit=False, cycle=None, filename="goals.csv"):
    return import_goals(
        data=data,
        filename=filename,
        cycle=cycle or org.cycle,
        user=user or org.lead,
        commit=commit,
    )


def problems(report) -> set[tuple[int | None, str]]:
    return {(problem.row, problem.column) for problem in report.problems}


def messages(report) -> str:
    return " | ".join(problem.message for problem in report.problems)


# --- A clean file ----------------------------------------------------------------------------


def test_clean_file_commits_objectives_key_results_and_alignment(org):
    company_goal = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.company, owner=org.lead, title="Riders love us"
    )
    factories.KeyResultFactory(objective=company_goal, title="NPS from 20 to 40")
    data = csv_file(
        [
            row(
                objective_description="Slow unlocks lose riders.",
                kind="aspirational",
                visibility="private",
                parent_objective="Riders love us",
                parent_key_result="NPS from 20 to 40",
                key_result_owner="teammate",
                unit="s",
                weight="2",
            ),
            row(key_result="Offline unlock", kr_kind="milestone", start_value="", target_value=""),
            row(objective="Fewer support tickets", key_result="", start_value="", target_value=""),
        ]
    )

    report = run(org, data, commit=True)

    assert report.problems == []
    assert report.committed
    objective = Objective.objects.get(title="Faster unlocks")
    assert (objective.team, objective.owner, objective.cycle) == (org.product, org.owner, org.cycle)
    assert objective.kind == "aspirational" and objective.visibility == "private"
    assert objective.description == "Slow unlocks lose riders."
    assert objective.parent == company_goal
    assert objective.parent_key_result.title == "NPS from 20 to 40"
    unlock, offline = objective.key_results.order_by("position")
    assert (unlock.title, unlock.owner, unlock.unit) == ("Unlock time", org.teammate, "s")
    assert (unlock.start_value, unlock.target_value, unlock.weight) == (8, 2, 2)
    assert (offline.kind, offline.start_value, offline.target_value) == ("milestone", 0, 1)
    assert offline.owner == org.owner  # defaults to the objective's owner
    assert Objective.objects.get(title="Fewer support tickets").key_results.count() == 0
    assert report.counts["objectives_created"] == 2
    assert report.counts["key_results_created"] == 2


def test_changes_are_attributed_to_the_importer_and_the_file(org):
    run(org, csv_file([row()]), commit=True, filename="q4.csv")

    version = Objective.objects.get(title="Faster unlocks").history.get()
    assert version.history_user == org.lead
    assert version.history_change_reason == "Imported from q4.csv"


def test_dry_run_reports_what_it_would_do_and_saves_nothing(org):
    report = run(org, csv_file([row(), row(key_result="Unlock failures")]))

    assert report.problems == []
    assert not report.committed
    assert [(r.row, r.action) for r in report.rows] == [(2, "create"), (3, "create")]
    assert "new objective" in report.rows[0].changes
    assert not Objective.objects.exists()


def test_a_file_with_one_bad_row_commits_nothing(org):
    data = csv_file(
        [row(), row(key_result="Failures", start_value="5", target_value="5"), row(key_result="X")]
    )

    report = run(org, data, commit=True)

    assert problems(report) == {(3, "target_value")}
    assert not report.committed
    assert not Objective.objects.exists()
    assert not KeyResult.objects.exists()


def test_reimporting_the_same_file_creates_no_duplicates_and_reports_unchanged(org):
    data = csv_file([row(current_value="6", confidence="7"), row(key_result="Failures")])
    run(org, data, commit=True)

    report = run(org, data, commit=True)

    assert report.problems == []
    assert {r.action for r in report.rows} == {"unchanged"}
    assert report.counts == {"objectives_unchanged": 1, "key_results_unchanged": 2}
    assert Objective.objects.count() == 1
    assert KeyResult.objects.count() == 2
    assert CheckIn.objects.count() == 1


def test_changed_values_update_the_match_and_a_moved_target_is_a_goalpost_change(org):
    run(org, csv_file([row()]), commit=True)

    report = run(
        org,
        csv_file([row(target_value="3", objective_description="Now with a why.")]),
        commit=True,
        filename="v2.xlsx",
    )

    assert report.problems == []
    assert [r.action for r in report.rows] == ["update"]
    key_result = KeyResult.objects.get()
    assert key_result.target_value == 3
    change = GoalpostChange.objects.get()
    assert (change.field, change.old_value, change.new_value) == ("target_value", 2, 3)
    assert change.reason == "Imported from v2.xlsx"
    assert change.changed_by == org.lead
    assert Objective.objects.get().description == "Now with a why."


def test_new_current_value_and_confidence_are_recorded_as_a_checkin_by_the_importer(org):
    run(org, csv_file([row()]), commit=True)

    report = run(org, csv_file([row(current_value="5", confidence="6")]), commit=True)

    assert report.counts["checkins"] == 1
    checkin = CheckIn.objects.get()
    assert (checkin.value, checkin.confidence, checkin.author) == (5, 6, org.lead)
    assert checkin.note == "Imported from goals.csv"
    key_result = KeyResult.objects.get()
    assert (key_result.current_value, key_result.confidence) == (5, 6)
    assert key_result.progress == pytest.approx(0.5)


def test_empty_optional_cells_leave_existing_values_alone(org):
    run(org, csv_file([row(unit="s", weight="2", kind="aspirational")]), commit=True)

    report = run(org, csv_file([row()]), commit=True)

    assert {r.action for r in report.rows} == {"unchanged"}
    key_result = KeyResult.objects.get()
    assert (key_result.unit, key_result.weight) == ("s", 2)
    assert Objective.objects.get().kind == "aspirational"


def test_parents_in_the_file_are_created_first_whatever_the_row_order(org):
    data = csv_file(
        [
            row(parent_objective="Riders love us", parent_team="company"),
            row(
                team="company",
                objective="Riders love us",
                objective_owner="lead",
                key_result="NPS",
                start_value="20",
                target_value="40",
            ),
        ]
    )

    factories.MembershipFactory(user=org.lead, team=org.company)

    report = run(org, data, user=org.admin, commit=True)

    assert report.problems == []
    child = Objective.objects.get(title="Faster unlocks")
    assert child.parent.title == "Riders love us"


def test_objective_columns_may_be_left_empty_after_its_first_row(org):
    data = csv_file(
        [row(kind="aspirational"), row(key_result="Failures", objective_owner="", kind="")]
    )

    report = run(org, data, commit=True)

    assert report.problems == []
    assert Objective.objects.get().key_results.count() == 2


def test_semicolon_csv_with_bom_and_decimal_comma_is_read(org):
    data = "\ufeff".encode() + csv_file(
        [row(start_value="8,5", target_value="2,25", objective="Schnellere Entsperrung")],
        delimiter=";",
    )

    report = run(org, data, commit=True)

    assert report.problems == []
    key_result = KeyResult.objects.get()
    assert (key_result.start_value, key_result.target_value) == (Decimal("8.5"), Decimal("2.25"))


def test_xlsx_numbers_and_text_cells_are_read(org):
    data = xlsx_file(
        [
            list(HEADERS),
            [row().get(h) for h in HEADERS[:14]] + [8.5, 2, 0.1 + 0.2, 1, 7.0, "checkins"],
        ]
    )

    report = run(org, data, commit=True, filename="goals.xlsx")

    assert report.problems == []
    key_result = KeyResult.objects.get()
    assert key_result.start_value == Decimal("8.5")
    assert key_result.current_value == Decimal("0.3")  # as the spreadsheet shows it
    assert key_result.confidence == 7


def test_xlsx_reads_the_layout_sheet_whichever_sheet_is_active(org):
    workbook = Workbook()
    help_sheet = workbook.active
    help_sheet.title = HOW_TO_FILL
    help_sheet.append(["Column", "Meaning"])
    sheet = workbook.create_sheet(SHEET)
    sheet.append(list(HEADERS))
    sheet.append([row().get(h, "") for h in HEADERS])
    workbook.active = 0
    stream = io.BytesIO()
    workbook.save(stream)

    report = run(org, stream.getvalue(), commit=True)

    assert report.problems == []
    assert Objective.objects.count() == 1


# --- Every kind of problem, at its row and column --------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected", "message"),
    [
        ({"team": "marketing"}, (2, "team"), "No team has the short name “marketing”"),
        ({"objective_owner": "nobody"}, (2, "objective_owner"), "No active person"),
        ({"objective_owner": "outsider"}, (2, "objective_owner"), "not a member of Product"),
        ({"key_result_owner": "ghost"}, (2, "key_result_owner"), "No active person"),
        ({"objective_owner": ""}, (2, "objective_owner"), "Required"),
        ({"objective": ""}, (2, "objective"), "Required"),
        ({"objective": "x" * 201}, (2, "objective"), "At most 200 characters"),
        ({"start_value": "abc"}, (2, "start_value"), "is not a number"),
        ({"start_value": "1,234"}, (2, "start_value"), "without thousands separators"),
        ({"target_value": "NaN"}, (2, "target_value"), "is not a number"),
        ({"target_value": "Infinity"}, (2, "target_value"), "is not a number"),
        ({"target_value": "1e5"}, (2, "target_value"), "is not a number"),
        ({"target_value": "2.12345"}, (2, "target_value"), "At most 4 decimals"),
        ({"target_value": "1" * 15}, (2, "target_value"), "Too large"),
        ({"target_value": "8"}, (2, "target_value"), "must differ from the start"),
        ({"start_value": ""}, (2, "start_value"), "Required: a key result goes from"),
        ({"confidence": "11", "current_value": "5"}, (2, "confidence"), "from 1 to 10"),
        ({"confidence": "0"}, (2, "confidence"), "from 1 to 10"),
        ({"confidence": "7.5"}, (2, "confidence"), "from 1 to 10"),
        ({"weight": "0"}, (2, "weight"), "greater than zero"),
        ({"weight": "100000"}, (2, "weight"), "digits"),
        ({"kind": "stretch"}, (2, "kind"), "not one of: committed, aspirational"),
        ({"visibility": "secret"}, (2, "visibility"), "not one of: public, private"),
        ({"kr_kind": "count"}, (2, "kr_kind"), "not one of"),
        ({"progress_from": "magic"}, (2, "progress_from"), "not one of"),
        ({"unit": "u" * 21}, (2, "unit"), "At most 20 characters"),
        ({"parent_objective": "Missing"}, (2, "parent_objective"), "No objective titled"),
        ({"parent_key_result": "NPS"}, (2, "parent_key_result"), "Name the parent_objective"),
        ({"parent_cycle": "1999", "parent_objective": "X"}, (2, "parent_cycle"), "No cycle"),
        ({"parent_team": "nope", "parent_objective": "X"}, (2, "parent_team"), "No team"),
        ({"parent_objective": "Faster unlocks"}, (2, "parent_objective"), "aligned to itself"),
        ({"key_result": "", "unit": "s"}, (2, "key_result"), "its title is empty"),
        (
            {
                "kr_kind": "milestone",
                "start_value": "",
                "target_value": "",
                "current_value": "2",
                "confidence": "5",
            },
            (2, "current_value"),
            "milestone",
        ),
        (
            {"current_value": "5"},
            (2, "confidence"),
            "Give a confidence from 1 to 10",
        ),
    ],
)
def test_each_problem_is_reported_at_its_row_and_column(org, values, expected, message):
    report = run(org, csv_file([row(**values)]), commit=True)

    assert expected in problems(report), report.problems
    assert message in messages(report)
    assert not Objective.objects.exists()


def test_problems_of_every_row_are_collected_not_just_the_first(org):
    data = csv_file(
        [row(), row(key_result="A", start_value="x"), row(key_result="B", confidence="12")]
    )

    report = run(org, data)

    assert problems(report) == {(3, "start_value"), (4, "confidence")}


def test_duplicate_rows_are_reported_on_the_repeat(org):
    report = run(org, csv_file([row(), row(key_result="Other"), row()]))

    assert problems(report) == {(4, "key_result")}
    assert "Repeats row 2" in messages(report)


def test_objective_columns_that_disagree_between_rows_are_reported(org):
    report = run(org, csv_file([row(), row(key_result="Other", objective_owner="teammate")]))

    assert problems(report) == {(3, "objective_owner")}
    assert "Differs from row 2" in messages(report)


def test_alignment_loop_within_the_file_is_reported_on_each_objective(org):
    data = csv_file(
        [
            row(objective="A", parent_objective="B"),
            row(objective="B", parent_objective="A"),
        ]
    )

    report = run(org, data, commit=True)

    assert problems(report) == {(2, "parent_objective"), (3, "parent_objective")}
    assert "makes a loop" in messages(report)
    assert not Objective.objects.exists()


def test_alignment_loop_through_existing_objectives_is_refused_by_the_service(org):
    top = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner, title="A")
    middle = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="B", parent=top
    )
    factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="C", parent=middle
    )

    report = run(
        org,
        csv_file(
            [
                row(
                    objective="A",
                    parent_objective="C",
                    key_result="",
                    start_value="",
                    target_value="",
                )
            ]
        ),
        commit=True,
    )

    assert problems(report) == {(2, "parent_objective")}
    assert "loop" in messages(report)
    assert Objective.objects.get(title="A").parent is None


def test_ambiguous_parent_title_asks_for_the_parent_team(org):
    for team in (org.product, org.sales):
        factories.ObjectiveFactory(cycle=org.cycle, team=team, title="Grow", owner=org.admin)

    report = run(org, csv_file([row(parent_objective="Grow")]))

    assert problems(report) == {(2, "parent_objective")}
    assert "say which with parent_team" in messages(report)
    assert run(org, csv_file([row(parent_objective="Grow", parent_team="sales")])).clean


def test_private_parent_the_importer_cannot_see_is_not_found(org):
    factories.ObjectiveFactory(
        cycle=org.cycle,
        team=org.sales,
        owner=org.outsider,
        title="Secret",
        visibility=Objective.Visibility.PRIVATE,
    )

    report = run(org, csv_file([row(parent_objective="Secret")]))

    assert problems(report) == {(2, "parent_objective")}


def test_parent_key_result_must_belong_to_the_parent(org):
    factories.ObjectiveFactory(cycle=org.cycle, team=org.company, owner=org.lead, title="Top")

    report = run(org, csv_file([row(parent_objective="Top", parent_key_result="Nope")]))

    assert problems(report) == {(2, "parent_key_result")}


def test_current_value_in_a_planning_cycle_is_refused_with_the_reason(org):
    planning = factories.CycleFactory(name="2027 Q1", state=Cycle.State.PLANNING)

    report = run(org, csv_file([row(current_value="5", confidence="5")]), cycle=planning)

    assert problems(report) == {(2, "current_value")}
    assert "active cycles only" in messages(report)
    assert run(org, csv_file([row()]), cycle=planning).clean


def test_rollup_key_result_takes_no_current_value(org):
    report = run(org, csv_file([row(progress_from="rollup", current_value="5", confidence="5")]))

    assert problems(report) == {(2, "current_value")}


def test_two_matching_objectives_in_waymark_are_reported_not_guessed(org):
    for _ in range(2):
        factories.ObjectiveFactory(
            cycle=org.cycle, team=org.product, owner=org.owner, title="Faster unlocks"
        )

    report = run(org, csv_file([row()]))

    assert problems(report) == {(2, "objective")}
    assert "rename or archive" in messages(report)


def test_archived_objective_is_not_matched(org):
    factories.ObjectiveFactory(
        cycle=org.cycle,
        team=org.product,
        owner=org.owner,
        title="Faster unlocks",
        archived_at="2026-01-01T00:00Z",
    )

    report = run(org, csv_file([row()]), commit=True)

    assert report.counts["objectives_created"] == 1
    assert Objective.objects.filter(archived_at__isnull=True).count() == 1


def test_row_numbers_count_blank_lines_and_multiline_cells_as_the_spreadsheet_does(org):
    text = csv_file([row()]).decode() + "\n"  # a blank row 3
    text += '"product","Faster unlocks","line one\nline two","owner",,,,,,,"KR 2",,,,1,1\n'
    text += '"product","Faster unlocks",,"owner",,,,,,,"KR 3",,,,x,2\n'

    report = run(org, text.encode())

    assert problems(report) == {(4, "target_value"), (5, "start_value")}


def test_xlsx_row_numbers_count_blank_rows(org):
    data = xlsx_file(
        [
            list(HEADERS),
            [row().get(h, "") for h in HEADERS],
            [],
            [row(key_result="B", start_value="x").get(h) for h in HEADERS],
        ]
    )

    report = run(org, data, filename="goals.xlsx")

    assert problems(report) == {(4, "start_value")}


# --- Problems with the whole file ----------------------------------------------------------


def test_missing_and_unknown_headers_are_named(org):
    headers = ["team", "objective", "objective_owner", "key_result", "start", "target_value"]

    report = run(org, csv_file([row()], headers=headers))

    assert problems(report) == {(1, "start_value"), (1, "start")}
    assert "Missing column “start_value”" in messages(report)
    assert "Unknown column “start” (column E)" in messages(report)


def test_headers_are_matched_without_case_spaces_or_hyphens(org):
    headers = [h.replace("_", " ").title() for h in HEADERS]
    headers[HEADERS.index("key_result")] = "Key-Result"

    data = csv_file([dict(zip(headers, [row().get(h, "") for h in HEADERS], strict=True))], headers)

    assert run(org, data).clean


def test_repeated_header_is_reported(org):
    headers = [*HEADERS, "team"]

    report = run(org, csv_file([row()], headers=headers))

    assert (1, "team") in problems(report)
    assert "appears twice" in messages(report)


def test_values_in_a_column_without_a_header_are_reported(org):
    text = csv_file([row()]).decode().replace("\r\n", ",\r\n", 1)  # an empty last header
    text = text.rstrip("\r\n") + ",stray\r\n"

    report = run(org, text.encode())

    assert (1, "U") in problems(report)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"   \n", "The file is empty."),
        (",".join(HEADERS).encode() + b"\n", "no rows below it"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a spreadsheet"),
        (b"PK\x03\x04 not really a zip", "not a readable XLSX"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Excel (.xls)"),
        ("team;objective\nbéta".encode("latin-1"), "not UTF-8"),
        ("\ufeffteam".encode("utf-16"), "UTF-16"),
        (b"x" * (10 * 1024 * 1024 + 1), "larger than 10 MB"),
    ],
)
def test_unreadable_files_get_a_message_not_an_error(org, data, message):
    report = run(org, data, commit=True)

    assert [(p.row, p.column) for p in report.problems] == [(None, "")]
    assert message in report.problems[0].message


def test_a_zip_that_is_neither_xlsx_nor_csv_is_refused(org):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("notes.txt", "hello")

    report = run(org, stream.getvalue())

    assert "holds no CSV file" in messages(report)


def test_huge_file_is_refused_with_the_row_limit(org):
    data = csv_file([row(key_result=f"KR {n}") for n in range(MAX_ROWS + 1)])

    report = run(org, data)

    assert len(report.problems) == 1
    assert f"more than {MAX_ROWS:,} rows" in report.problems[0].message


_CELLS = st.one_of(
    st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40),
    st.sampled_from(["product", "owner", "8", "2", "milestone", "rollup", "1,5", "-0", "1e999"]),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
    st.none(),
)
_FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_FUZZ
@given(data=st.one_of(st.binary(max_size=3000), st.binary(max_size=300).map(b"PK\x03\x04".__add__)))
def test_arbitrary_bytes_get_problems_never_an_error(org, data):
    report = run(org, data, commit=True)

    assert not report.committed or report.clean


@_FUZZ
@given(rows=st.lists(st.lists(_CELLS, max_size=len(HEADERS) + 3), max_size=6))
def test_arbitrary_xlsx_cells_get_problems_never_an_error(org, rows):
    data = xlsx_file([list(HEADERS), *rows])

    report = run(org, data, commit=True, filename="fuzz.xlsx")

    assert all(problem.message for problem in report.problems)


@_FUZZ
@given(rows=st.lists(st.lists(st.text(max_size=30), max_size=len(HEADERS) + 3), max_size=6))
def test_arbitrary_csv_text_gets_problems_never_an_error(org, rows):
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(HEADERS)
    writer.writerows(rows)

    report = run(org, stream.getvalue().encode(), commit=True)

    assert all(problem.message for problem in report.problems)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_file_at_once_create_its_goals_once(org):
    """Real concurrent transactions: the second import waits for the first and then
    finds its rows, so nothing is created twice."""
    data = csv_file([row(), row(key_result="Failures")])
    barrier = threading.Barrier(2)
    reports: list = []
    errors: list[BaseException] = []

    def import_it() -> None:
        try:
            barrier.wait()
            reports.append(run(org, data, commit=True))
        except BaseException as error:  # reported to the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=import_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert all(report.committed for report in reports)
    assert Objective.objects.count() == 1
    assert KeyResult.objects.count() == 2


# --- Who may import what -----------------------------------------------------------------


def test_member_who_leads_nothing_may_not_import(org):
    report = run(org, csv_file([row(objective_owner="teammate")]), user=org.teammate)

    assert [p.message for p in report.problems] == [NOT_ALLOWED]


def test_outsider_may_not_import(org):
    report = run(org, csv_file([row()]), user=org.outsider)

    assert [p.message for p in report.problems] == [NOT_ALLOWED]


def test_lead_imports_only_into_teams_they_lead_or_below(org):
    squad = factories.TeamFactory(name="Unlock squad", slug="unlock-squad", parent=org.product)
    factories.MembershipFactory(user=org.teammate, team=squad)
    data = csv_file(
        [
            row(),
            row(team="unlock-squad", objective_owner="teammate"),
            row(team="sales", objective_owner="outsider"),
        ]
    )

    report = run(org, data)

    assert problems(report) == {(4, "team")}
    assert "only into teams you lead" in messages(report)


def test_admin_imports_into_any_team(org):
    report = run(org, csv_file([row(team="sales", objective_owner="outsider")]), user=org.admin)

    assert report.clean


def test_nobody_imports_into_a_closed_cycle(org):
    org.cycle.state = Cycle.State.CLOSED
    org.cycle.save()

    for user in (org.lead, org.admin):
        report = run(org, csv_file([row()]), user=user)
        assert [p.message for p in report.problems] == [CLOSED]


def test_lead_may_not_change_an_objective_of_a_team_they_do_not_lead(org):
    factories.ObjectiveFactory(
        cycle=org.cycle, team=org.sales, owner=org.outsider, title="Sell more"
    )

    report = run(
        org, csv_file([row(team="sales", objective="Sell more", objective_owner="outsider")])
    )

    assert problems(report) == {(2, "team")}


def test_lead_reimporting_a_whole_cycle_export_leaves_other_teams_rows_alone(org):
    other = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.sales, owner=org.outsider, title="Sell more"
    )
    factories.KeyResultFactory(objective=other, owner=org.outsider, title="Deals signed")
    run(org, csv_file([row()]), commit=True)
    exported = export_cycle(cycle=org.cycle, user=org.lead).content

    report = run(org, exported, filename="cycle.xlsx")

    assert report.clean, report.problems
    assert report.writes == 0


def test_lead_changing_another_teams_row_of_an_export_is_refused(org):
    other = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.sales, owner=org.outsider, title="Sell more"
    )
    factories.KeyResultFactory(objective=other, owner=org.outsider, title="Deals signed")
    changed = csv_file(
        [
            row(
                team="sales",
                objective="Sell more",
                objective_owner="outsider",
                key_result="Deals signed",
                key_result_owner="outsider",
                weight="3",
            )
        ]
    )

    report = run(org, changed)

    assert problems(report) == {(2, "team")}
    assert "only into teams you lead" in messages(report)


# --- Templates ---------------------------------------------------------------------------


def test_csv_template_has_the_header_and_two_examples():
    text = template_csv().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))

    assert lines[0] == list(HEADERS)
    assert len(lines) == 3


def test_xlsx_template_explains_every_column():
    workbook = load_workbook(io.BytesIO(template_xlsx()))

    assert workbook.sheetnames == [SHEET, HOW_TO_FILL]
    explained = [r[0] for r in workbook[HOW_TO_FILL].iter_rows(min_row=2, values_only=True)]
    assert set(HEADERS) <= set(explained)


def test_template_rows_read_without_layout_problems(org):
    for data in (template_csv(), template_xlsx()):
        report = run(org, data, user=org.admin)
        assert all(p.row not in (None, 1) for p in report.problems), report.problems


# --- Export --------------------------------------------------------------------------------


def _private_and_public(org):
    public = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="Public goal"
    )
    private = factories.ObjectiveFactory(
        cycle=org.cycle,
        team=org.product,
        owner=org.owner,
        title="Private goal",
        visibility=Objective.Visibility.PRIVATE,
    )
    child = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="Child goal", parent=private
    )
    for objective in (public, private, child):
        key_result = factories.KeyResultFactory(
            objective=objective, title=f"KR of {objective.title}"
        )
        factories.CheckInFactory(key_result=key_result, note=f"note of {objective.title}")
        factories.InitiativeFactory(key_result=key_result, title=f"work on {objective.title}")
    return public, private


def _sheet(content: bytes, title: str) -> list[dict]:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    rows = list(workbook[title].iter_rows(values_only=True))
    return [dict(zip(rows[0], values, strict=False)) for values in rows[1:]]


def test_export_holds_only_what_the_person_may_read(org):
    _private_and_public(org)

    content = export_cycle(cycle=org.cycle, user=org.outsider).content

    goals = _sheet(content, SHEET)
    assert {g["objective"] for g in goals} == {"Public goal", "Child goal"}
    child = next(g for g in goals if g["objective"] == "Child goal")
    assert child["parent_objective"] is None  # no trace of the private parent
    assert {c["note"] for c in _sheet(content, "Check-ins")} == {
        "note of Public goal",
        "note of Child goal",
    }
    assert "work on Private goal" not in {i["initiative"] for i in _sheet(content, "Initiatives")}


def test_export_for_a_teammate_includes_the_private_objective(org):
    _private_and_public(org)

    goals = _sheet(export_cycle(cycle=org.cycle, user=org.teammate).content, SHEET)

    assert "Private goal" in {g["objective"] for g in goals}


def test_csv_export_is_a_zip_of_one_file_per_sheet_the_layout_first(org):
    _private_and_public(org)

    export = export_cycle(cycle=org.cycle, user=org.admin, fmt="csv")

    archive = zipfile.ZipFile(io.BytesIO(export.content))
    assert archive.namelist() == [
        "objectives-and-key-results.csv",
        "check-ins.csv",
        "initiatives.csv",
        "kpis.csv",
    ]
    first = archive.read("objectives-and-key-results.csv").decode("utf-8-sig")
    assert first.splitlines()[0] == ",".join(HEADERS)
    assert export.filename.endswith(".zip")


def test_export_lists_kpis_with_their_readings_in_the_cycle(org):
    kpi = factories.KpiFactory(team=org.product, name="Uptime", unit="%")
    factories.KpiReadingFactory(kpi=kpi, read_on=org.cycle.start_date, value=Decimal("99.5"))
    objective = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner)
    kpi.guarded_objectives.add(objective)

    kpis = _sheet(export_cycle(cycle=org.cycle, user=org.owner).content, "KPIs")

    assert [(k["kpi"], k["value"], k["guards"]) for k in kpis] == [
        ("Uptime", 99.5, objective.title)
    ]


def test_text_that_looks_like_a_formula_stays_text_and_round_trips(org):
    objective = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title='=HYPERLINK("x")'
    )
    factories.KeyResultFactory(objective=objective, title="-5 bugs", unit="@")

    xlsx = export_cycle(cycle=org.cycle, user=org.admin).content
    workbook = load_workbook(io.BytesIO(xlsx))
    assert workbook[SHEET]["B2"].data_type == "s"
    archive = zipfile.ZipFile(io.BytesIO(export_cycle(cycle=org.cycle, fmt="csv").content))
    assert "'=HYPERLINK" in archive.read("objectives-and-key-results.csv").decode()

    for data in (xlsx, export_cycle(cycle=org.cycle, fmt="csv").content):
        report = run(org, data, user=org.admin)
        assert report.problems == []
        assert {r.action for r in report.rows} == {"unchanged"}


def test_control_characters_the_workbook_cannot_hold_are_left_out(org):
    factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="Bell\x07 rings"
    )

    goals = _sheet(export_cycle(cycle=org.cycle, user=org.admin).content, SHEET)

    assert [g["objective"] for g in goals] == ["Bell rings"]


def _goals(cycle: Cycle, count: int, org) -> None:
    for n in range(count):
        objective = factories.ObjectiveFactory(
            cycle=cycle, team=org.product, owner=org.owner, title=f"Goal {n}"
        )
        for m in range(2):
            key_result = factories.KeyResultFactory(objective=objective, title=f"KR {m}")
            factories.CheckInFactory(key_result=key_result)
            factories.InitiativeFactory(key_result=key_result)
        kpi = factories.KpiFactory(team=org.product)
        factories.KpiReadingFactory(kpi=kpi, read_on=cycle.start_date)
        kpi.guarded_objectives.add(objective)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_query_count_does_not_grow_with_the_cycle(org, fmt):
    small = org.cycle
    large = factories.CycleFactory(name="Large")
    _goals(small, 2, org)
    _goals(large, 40, org)

    counts = []
    for cycle in (small, large):
        with CaptureQueriesContext(connection) as queries:
            export_cycle(cycle=cycle, user=org.lead, fmt=fmt)
        counts.append(len(queries))

    assert counts[0] == counts[1], [q["sql"] for q in queries.captured_queries]


def test_unchanged_reimport_costs_the_same_queries_whatever_the_size(org):
    counts = []
    for size in (2, 40):
        cycle = factories.CycleFactory(name=f"Size {size}")
        data = csv_file([row(objective=f"Goal {n}", key_result=f"KR {n}") for n in range(size)])
        assert run(org, data, cycle=cycle, commit=True).committed
        with CaptureQueriesContext(connection) as queries:
            report = run(org, data, cycle=cycle)
        assert report.counts["key_results_unchanged"] == size
        counts.append(len(queries))

    assert counts[0] == counts[1]


# --- Commands ------------------------------------------------------------------------------


def test_import_command_dry_runs_by_default_and_commits_on_request(org, tmp_path):
    path = tmp_path / "goals.csv"
    path.write_bytes(csv_file([row()]))
    out = StringIO()

    call_command("import_goals", str(path), cycle="2026 Q4", username="lead", stdout=out)
    assert "Dry run" in out.getvalue()
    assert not Objective.objects.exists()

    call_command(
        "import_goals", str(path), cycle=str(org.cycle.pk), commit=True, stdout=out, username="lead"
    )
    assert Objective.objects.count() == 1


def test_import_command_prints_problems_and_fails(org, tmp_path):
    path = tmp_path / "goals.csv"
    path.write_bytes(csv_file([row(start_value="x")]))
    err = StringIO()

    with pytest.raises(CommandError, match="1 problem"):
        call_command(
            "import_goals", str(path), cycle="2026 Q4", commit=True, stderr=err, username="lead"
        )

    assert "row 2, column start_value: “x” is not a number" in err.getvalue()
    assert not Objective.objects.exists()


def test_import_command_exits_non_zero_on_problems(org, tmp_path):
    from django.core.management import ManagementUtility

    path = tmp_path / "goals.csv"
    path.write_bytes(csv_file([row(team="nope")]))
    utility = ManagementUtility(
        ["manage.py", "import_goals", str(path), "--cycle", "2026 Q4", "--as", "lead"]
    )

    with pytest.raises(SystemExit) as exit_info:
        utility.execute()

    assert exit_info.value.code == 1


def test_import_command_names_an_unknown_cycle(org, tmp_path):
    path = tmp_path / "goals.csv"
    path.write_bytes(csv_file([row()]))

    with pytest.raises(CommandError, match="No cycle is named or numbered “1999”"):
        call_command("import_goals", str(path), cycle="1999", username="lead")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_command_writes_the_file(org, tmp_path, fmt):
    _private_and_public(org)
    target = tmp_path / f"cycle.{fmt}"

    call_command("export_cycle", cycle="2026 Q4", fmt=fmt, output=str(target), stdout=StringIO())

    report = run(org, target.read_bytes(), user=org.admin)
    assert report.problems == []
    assert report.counts["objectives_unchanged"] == 3


def test_export_command_as_a_person_leaves_out_what_they_cannot_see(org, tmp_path):
    _private_and_public(org)
    target = tmp_path / "cycle.xlsx"

    call_command(
        "export_cycle", cycle="2026 Q4", output=str(target), stdout=StringIO(), username="outsider"
    )

    assert "Private goal" not in {g["objective"] for g in _sheet(target.read_bytes(), SHEET)}


# --- Round trips of the demo company (kept last: the demo stays for the module's end) ------

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo company, seeded once for these tests (it takes seconds) and flushed after."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        call_command("seed_demo", public_passwords=True, stdout=StringIO())
        yield
        call_command("flush", interactive=False)


@pytest.fixture
def active(demo, db) -> Cycle:
    return Cycle.objects.get(state=Cycle.State.ACTIVE)


@pytest.fixture
def demo_admin(demo, db) -> User:
    return User.objects.filter(is_superuser=True).order_by("pk").first()


def _snapshot(cycle: Cycle) -> list[tuple]:
    """What a round trip must keep: each objective's team, title, owner, fields and
    parent links, and its key results' owners and values, in order."""
    objectives = Objective.objects.filter(cycle=cycle, archived_at__isnull=True).select_related(
        "team", "owner", "parent__team", "parent_key_result"
    )
    return sorted(
        (
            o.team.slug,
            o.title,
            o.description,
            o.owner.username,
            o.kind,
            o.visibility,
            (o.parent.team.slug, o.parent.title) if o.parent else None,
            o.parent_key_result.title if o.parent_key_result else None,
            tuple(
                (
                    k.title,
                    k.owner.username,
                    k.kind,
                    k.unit,
                    k.start_value,
                    k.target_value,
                    k.current_value,
                    k.weight,
                    k.confidence,
                    k.progress_source,
                )
                for k in o.key_results.filter(archived_at__isnull=True).order_by("position")
            ),
            round(o.progress, 6),
        )
        for o in objectives
    )


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_demo_export_reimports_into_its_cycle_unchanged(active, demo_admin, fmt):
    export = export_cycle(cycle=active, user=demo_admin, fmt=fmt)
    before = _snapshot(active)

    report = import_goals(
        data=export.content, filename=export.filename, cycle=active, user=demo_admin, commit=True
    )

    assert report.problems == []
    assert {r.action for r in report.rows} == {"unchanged"}
    assert report.counts["objectives_unchanged"] == len(before)
    assert _snapshot(active) == before


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_demo_export_imports_into_a_fresh_cycle_as_the_same_goals(active, demo_admin, fmt):
    fresh = Cycle.objects.create(
        name="Fresh", start_date=active.start_date, end_date=active.end_date, state="active"
    )
    export = export_cycle(cycle=active, user=demo_admin, fmt=fmt)

    report = import_goals(
        data=export.content, filename=export.filename, cycle=fresh, user=demo_admin, commit=True
    )

    assert report.problems == []
    assert report.committed
    assert _snapshot(fresh) == _snapshot(active)
    again = import_goals(
        data=export.content, filename=export.filename, cycle=fresh, user=demo_admin, commit=False
    )
    assert {r.action for r in again.rows} == {"unchanged"}


def test_demo_lead_reimports_their_own_export_unchanged(active):
    lead = (
        User.objects.filter(memberships__role=Membership.Role.LEAD, is_superuser=False)
        .order_by("pk")
        .first()
    )
    export = export_cycle(cycle=active, user=lead)

    report = import_goals(
        data=export.content, filename=export.filename, cycle=active, user=lead, commit=False
    )

    # Rows of teams they do not lead are refused, the rest unchanged.
    refused = {p.message for p in report.problems}
    assert all("only into teams you lead" in message for message in refused)
    assert {r.action for r in report.rows} <= {"unchanged", "problem"}
