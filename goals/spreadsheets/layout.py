"""The spreadsheet layout of a cycle's objectives and key results: one row per key result,
its objective's columns repeated on each of its rows.

The same layout is read by the import, written by the export (its first sheet) and
explained in the downloadable templates, so a file exported from one cycle imports into
another. Only the columns listed here are read; column order is free, headers are
matched without regard to case, spaces or hyphens ("Key result" = ``key_result``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font

SHEET = "Objectives and key results"
HOW_TO_FILL = "How to fill"
MAX_ROWS = 5000
MAX_FILE_BYTES = 10 * 1024 * 1024  # 10 MB
FILE_TOO_LARGE = "The file is larger than 10 MB: split it into several files."
# Formula characters: a text cell starting with one of these is written to CSV with a
# leading apostrophe, so that spreadsheet apps show it instead of running it; the import
# drops that apostrophe again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    name: str
    required: str
    allowed: str
    example: str
    meaning: str
    of_objective: bool = False  # repeated on each of the objective's rows


COLUMNS: tuple[Column, ...] = (
    Column(
        "team",
        "Yes",
        "A team's short name (its slug, as in the team page's address).",
        "product",
        "The team the objective belongs to.",
        of_objective=True,
    ),
    Column(
        "objective",
        "Yes",
        "Text, up to 200 characters.",
        "Riders trust the app to unlock their bike",
        "The objective's title. Rows with the same team and objective are one objective; "
        "an objective with this team and title already in the cycle is updated, not copied.",
        of_objective=True,
    ),
    Column(
        "objective_description",
        "No",
        "Text.",
        "Failed unlocks are the first reason riders give for leaving.",
        "Why it matters.",
        of_objective=True,
    ),
    Column(
        "objective_owner",
        "Yes (on the objective's first row)",
        "A username of an active person who is in the team or leads a team above it.",
        "ada",
        "Who owns the objective.",
        of_objective=True,
    ),
    Column(
        "kind",
        "No",
        "committed or aspirational (default committed).",
        "committed",
        "Committed objectives are expected in full; aspirational ones are stretches.",
        of_objective=True,
    ),
    Column(
        "visibility",
        "No",
        "public or private (default public).",
        "public",
        "Private objectives are seen by their team, the leads above it and admins.",
        of_objective=True,
    ),
    Column(
        "parent_cycle",
        "No",
        "A cycle's name (default: the cycle you import into).",
        "2026",
        "The cycle of the parent objective, when it is in another (overlapping) cycle.",
        of_objective=True,
    ),
    Column(
        "parent_team",
        "No",
        "A team's short name.",
        "company",
        "The parent objective's team; needed only when several objectives share its title.",
        of_objective=True,
    ),
    Column(
        "parent_objective",
        "No",
        "The title of an objective in this file or already in the cycle.",
        "Grow riding in every city we serve",
        "The objective this one counts towards (the cascade). An alignment loop is refused.",
        of_objective=True,
    ),
    Column(
        "parent_key_result",
        "No",
        "The title of one of the parent objective's key results.",
        "Weekly active riders from 40,000 to 55,000",
        "The parent's key result this objective serves.",
        of_objective=True,
    ),
    Column(
        "key_result",
        "Yes (leave empty for an objective without key results)",
        "Text, up to 200 characters, unique within the objective.",
        "Unlock success rate from 92% to 99%",
        "The key result's title. A key result with this title already under the objective "
        "is updated, not copied.",
    ),
    Column(
        "key_result_owner",
        "No",
        "A username of an active person (default: the objective's owner).",
        "grace",
        "Who owns the key result and checks in on it.",
    ),
    Column(
        "kr_kind",
        "No",
        "number, percent, currency or milestone (default number).",
        "percent",
        "A milestone is done or not done: it goes from 0 to 1.",
    ),
    Column(
        "unit",
        "No",
        "Text, up to 20 characters.",
        "%",
        "Shown after the values (€, riders, s).",
    ),
    Column(
        "start_value",
        "Yes, except for milestones",
        "A number (see “Numbers” in the notes).",
        "92",
        "The baseline: from X …",
    ),
    Column(
        "target_value",
        "Yes, except for milestones",
        "A number different from start_value.",
        "99",
        "… to Y. Lower than the start is fine (reduce churn from 8 to 4).",
    ),
    Column(
        "current_value",
        "No",
        "A number (a milestone: 0 or 1).",
        "95",
        "Where it stands now. A new or different value is recorded as a check-in by you "
        "(active cycles only), with the confidence.",
    ),
    Column(
        "weight",
        "No",
        "A number greater than 0 (default 1).",
        "1",
        "How much the key result counts in its objective's progress.",
    ),
    Column(
        "confidence",
        "No (needed with a new current_value)",
        "A whole number from 1 to 10.",
        "7",
        "How sure the owner is to reach the target.",
    ),
    Column(
        "progress_from",
        "No",
        "checkins or rollup (default checkins).",
        "checkins",
        "rollup takes the key result's progress from the objectives aligned to it.",
    ),
)

HEADERS: tuple[str, ...] = tuple(column.name for column in COLUMNS)
OBJECTIVE_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.of_objective)
# A file without these cannot be read at all; the others may be left out.
REQUIRED_HEADERS: tuple[str, ...] = (
    "team",
    "objective",
    "objective_owner",
    "key_result",
    "start_value",
    "target_value",
)

NOTES: tuple[str, ...] = (
    "One row per key result; repeat the objective's columns on each of its rows (or leave "
    "them empty after the objective's first row).",
    "Importing the same file again changes nothing: objectives are matched by team and "
    "title, key results by objective and title. Changed values update the match.",
    "An empty optional cell leaves an existing value as it is; a new objective or key "
    "result gets the default.",
    "Numbers: digits with a point as the decimal mark (1234.5), at most 4 decimals, no "
    "thousands separators, currency signs or % (put those in unit). In semicolon-"
    "separated files (European Excel) a decimal comma is read too (1234,5).",
    "Once the cycle is active, a changed start or target value is recorded as a moved "
    "goalpost with the reason “Imported from <file name>”.",
    f"At most {MAX_ROWS:,} rows and 10 MB per file. CSV files are read as UTF-8 (in Excel: "
    "“CSV UTF-8”), separated by commas or semicolons.",
    "Nothing is saved until the whole file is free of problems: the preview lists each "
    "problem with its row and column.",
)

EXAMPLE_ROWS: tuple[dict[str, str], ...] = (
    {column.name: column.example for column in COLUMNS if column.name != "parent_cycle"},
    {
        "team": "product",
        "objective": "Riders trust the app to unlock their bike",
        "objective_owner": "ada",
        "key_result": "Ship offline unlock",
        "kr_kind": "milestone",
    },
)


def normalise_header(value: object) -> str:
    """``" Key-Result "`` → ``"key_result"``."""
    text = "" if value is None else str(value)
    return "_".join(text.strip().lower().replace("-", " ").split())


def template_csv() -> bytes:
    """The header and two example rows, UTF-8 with a byte order mark (so Excel reads
    accents right)."""
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(HEADERS)
    for example in EXAMPLE_ROWS:
        writer.writerow([example.get(name, "") for name in HEADERS])
    return ("\ufeff" + stream.getvalue()).encode()


def template_xlsx() -> bytes:
    """The layout with two example rows, and a second sheet explaining each column."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET)
    sheet.freeze_panes = "A2"
    sheet.append([bold_cell(sheet, name) for name in HEADERS])
    for example in EXAMPLE_ROWS:
        sheet.append([text_cell(sheet, example.get(name, "")) for name in HEADERS])
    help_sheet = workbook.create_sheet(HOW_TO_FILL)
    for letter, width in zip("ABCDE", (24, 22, 46, 34, 70), strict=True):
        help_sheet.column_dimensions[letter].width = width
    help_sheet.append(
        [bold_cell(help_sheet, text) for text in ("Column", "Required", "Allowed", "Example")]
        + [bold_cell(help_sheet, "Meaning")]
    )
    for column in COLUMNS:
        help_sheet.append(
            [
                text_cell(help_sheet, text, wrap=True)
                for text in (
                    column.name,
                    column.required,
                    column.allowed,
                    column.example,
                    column.meaning,
                )
            ]
        )
    help_sheet.append([])
    help_sheet.append([bold_cell(help_sheet, "Notes")])
    for note in NOTES:
        help_sheet.append([text_cell(help_sheet, note)])
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def text_cell(sheet, value: object, *, wrap: bool = False) -> WriteOnlyCell:
    """A cell whose text is always text: openpyxl would store ``=…`` as a formula.
    Control characters a workbook cannot hold (text pasted from elsewhere may carry
    them; the database takes them) are left out rather than failing the whole file."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and value:
        cell.data_type = "s"
    if wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def bold_cell(sheet, value: str) -> WriteOnlyCell:
    cell = text_cell(sheet, value)
    cell.font = Font(bold=True)
    return cell
