"""Exporting a cycle: its objectives and key results in the import layout (so the file
imports again, into the same cycle or another), its check-ins, initiatives and KPIs.

Scoped to what the exporting person may read (``Objective.objects.visible_to``): a
private objective they cannot see is not in the file, nor are its key results, check-ins
and initiatives, nor a parent link to it. Without a person (the ``export_cycle``
command run by whoever administers the server) everything is exported.

Queries: a fixed number whatever the size of the cycle: the person's access (two), the
objectives with their teams, owners and parents, their key results, check-ins,
initiatives, KPIs, readings and guardrail links (one each).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from alignment.queries import team_access_for
from checkins.models import CheckIn
from goals.access import can_read_objective
from goals.models import Cycle, Initiative, KeyResult, Kpi, KpiReading, Objective
from goals.spreadsheets.layout import FORMULA_STARTS, HEADERS, SHEET, bold_cell, text_cell

XLSX = "xlsx"
CSV = "csv"
FORMATS = (XLSX, CSV)
CONTENT_TYPES = {
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    CSV: "application/zip",
}
# Beyond this a float cannot hold every integer exactly; such numbers are written as text.
FLOAT_EXACT = 2**53


@dataclass
class Table:
    title: str
    file_name: str  # its CSV file in the zip
    headers: tuple[str, ...]
    rows: list[list[object]]


@dataclass(frozen=True)
class Export:
    content: bytes
    filename: str
    content_type: str


def export_cycle(*, cycle: Cycle, user=None, fmt: str = XLSX) -> Export:
    """The cycle as an XLSX workbook, or as a zip of one CSV file per sheet (the import
    layout first); only what ``user`` may read, everything when ``user`` is None."""
    tables = cycle_tables(cycle=cycle, user=user)
    stem = f"waymark-{slugify(cycle.name) or cycle.pk}-{timezone.localdate():%Y-%m-%d}"
    if fmt == CSV:
        return Export(to_zip(tables), f"{stem}.zip", CONTENT_TYPES[CSV])
    return Export(to_xlsx(tables), f"{stem}.xlsx", CONTENT_TYPES[XLSX])


def cycle_tables(*, cycle: Cycle, user=None) -> list[Table]:
    team_access = None
    visible: QuerySet[Objective] = Objective.objects.all()
    if user is not None and not user.is_superuser:
        team_access = team_access_for(user)
        visible = Objective.objects.visible_to(user, access=team_access)
    objectives = list(
        visible.filter(cycle=cycle, archived_at__isnull=True)
        .select_related("team", "owner", "parent__team", "parent__cycle", "parent_key_result")
        .prefetch_related(
            Prefetch(
                "key_results",
                queryset=KeyResult.objects.filter(archived_at__isnull=True)
                .select_related("owner")
                .order_by("position", "pk"),
            )
        )
        .order_by("team__name", "created_at", "pk")
    )

    def readable(parent: Objective) -> bool:
        return user is None or can_read_objective(user, parent, access=team_access)

    key_results = {
        key_result.pk: (objective, key_result)
        for objective in objectives
        for key_result in objective.key_results.all()
    }
    # Subqueries rather than lists of ids: one query each, whatever the number of rows.
    shown_objectives = visible.filter(cycle=cycle, archived_at__isnull=True).values("pk")
    shown_key_results = KeyResult.objects.filter(
        objective__in=shown_objectives, archived_at__isnull=True
    ).values("pk")
    return [
        Table(
            SHEET,
            "objectives-and-key-results.csv",
            HEADERS,
            _goal_rows(cycle, objectives, readable),
        ),
        Table(
            "Check-ins",
            "check-ins.csv",
            CHECKIN_HEADERS,
            _checkin_rows(shown_key_results, key_results),
        ),
        Table(
            "Initiatives",
            "initiatives.csv",
            INITIATIVE_HEADERS,
            _initiative_rows(shown_key_results, key_results),
        ),
        Table("KPIs", "kpis.csv", KPI_HEADERS, _kpi_rows(cycle, objectives, shown_objectives)),
    ]


def _goal_rows(cycle: Cycle, objectives: list[Objective], readable) -> list[list[object]]:
    rows = []
    for objective in objectives:
        parent = objective.parent
        if parent is not None and (parent.archived_at is not None or not readable(parent)):
            parent = None
        parent_kr = objective.parent_key_result if parent is not None else None
        if parent_kr is not None and parent_kr.archived_at is not None:
            parent_kr = None
        shared = {
            "team": objective.team.slug,
            "objective": objective.title,
            "objective_description": objective.description,
            "objective_owner": objective.owner.username,
            "kind": objective.kind,
            "visibility": objective.visibility,
            "parent_cycle": parent.cycle.name if parent and parent.cycle_id != cycle.pk else "",
            "parent_team": parent.team.slug if parent else "",
            "parent_objective": parent.title if parent else "",
            "parent_key_result": parent_kr.title if parent_kr else "",
        }
        key_results = list(objective.key_results.all())
        if not key_results:
            rows.append([shared.get(name, "") for name in HEADERS])
        for key_result in key_results:
            values = {
                **shared,
                "key_result": key_result.title,
                "key_result_owner": key_result.owner.username,
                "kr_kind": key_result.kind,
                "unit": key_result.unit,
                "start_value": key_result.start_value,
                "target_value": key_result.target_value,
                "current_value": key_result.current_value,
                "weight": key_result.weight,
                "confidence": key_result.confidence,
                "progress_from": key_result.progress_source,
            }
            rows.append([values.get(name, "") for name in HEADERS])
    return rows


CHECKIN_HEADERS = (
    "team",
    "objective",
    "key_result",
    "checked_in_at",
    "author",
    "value",
    "confidence",
    "note",
    "blocker",
    "correction",
)


def _checkin_rows(shown_key_results: QuerySet, key_results: dict) -> list[list[object]]:
    rows = []
    checkins = (
        CheckIn.objects.filter(key_result__in=shown_key_results)
        .order_by("created_at", "pk")
        .values_list(
            "key_result_id",
            "created_at",
            "author__username",
            "value",
            "confidence",
            "note",
            "blocker",
            "corrects_id",
        )
    )
    for kr_id, created_at, author, value, confidence, note, blocker, corrects in checkins:
        if kr_id not in key_results:
            continue  # added since the key results were read
        objective, key_result = key_results[kr_id]
        rows.append(
            [
                objective.team.slug,
                objective.title,
                key_result.title,
                timezone.localtime(created_at).replace(tzinfo=None, microsecond=0),
                author,
                value,
                confidence,
                note,
                blocker,
                "yes" if corrects else "",
            ]
        )
    return rows


INITIATIVE_HEADERS = (
    "team",
    "objective",
    "key_result",
    "initiative",
    "owner",
    "status",
    "due_date",
    "link",
)


def _initiative_rows(shown_key_results: QuerySet, key_results: dict) -> list[list[object]]:
    rows = []
    initiatives = (
        Initiative.objects.filter(key_result__in=shown_key_results, archived_at__isnull=True)
        .order_by("key_result_id", "due_date", "pk")
        .values_list("key_result_id", "title", "owner__username", "status", "due_date", "link")
    )
    for kr_id, title, owner, status, due_date, link in initiatives:
        if kr_id not in key_results:
            continue
        objective, key_result = key_results[kr_id]
        rows.append(
            [
                objective.team.slug,
                objective.title,
                key_result.title,
                title,
                owner,
                status,
                due_date,
                link,
            ]
        )
    return rows


KPI_HEADERS = (
    "team",
    "kpi",
    "unit",
    "direction",
    "green_threshold",
    "red_threshold",
    "guards",
    "read_on",
    "value",
)


def _kpi_rows(
    cycle: Cycle, objectives: list[Objective], shown_objectives: QuerySet
) -> list[list[object]]:
    """Every active KPI (everyone signed in reads KPIs) with its readings dated within
    the cycle, and the cycle's objectives it guards that the person can see."""
    titles = {objective.pk: objective.title for objective in objectives}
    guards: dict[int, list[str]] = defaultdict(list)
    for kpi_id, objective_id in Kpi.guarded_objectives.through.objects.filter(
        objective__in=shown_objectives
    ).values_list("kpi_id", "objective_id"):
        if objective_id in titles:
            guards[kpi_id].append(titles[objective_id])
    readings: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for kpi_id, read_on, value in (
        KpiReading.objects.filter(
            kpi__archived_at__isnull=True,
            read_on__gte=cycle.start_date,
            read_on__lte=cycle.end_date,
        )
        .order_by("read_on")
        .values_list("kpi_id", "read_on", "value")
    ):
        readings[kpi_id].append((read_on, value))
    rows = []
    for kpi in Kpi.objects.filter(archived_at__isnull=True).select_related("team"):
        shared = [
            kpi.team.slug,
            kpi.name,
            kpi.unit,
            kpi.direction,
            kpi.green_threshold,
            kpi.red_threshold,
            "; ".join(sorted(guards[kpi.pk])),
        ]
        for read_on, value in readings[kpi.pk] or [(None, None)]:
            rows.append([*shared, read_on, value])
    return rows


# --- Writing the files ---------------------------------------------------------------------


def to_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table, written as it goes (openpyxl's write-only mode keeps memory
    flat). Text stays text; numbers are numbers unless a float would change them."""
    workbook = Workbook(write_only=True)
    for table in tables:
        sheet = workbook.create_sheet(table.title)
        sheet.freeze_panes = "A2"
        for index, header in enumerate(table.headers, start=1):
            width = max(12, min(40, len(header) + 4))
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.append([bold_cell(sheet, header) for header in table.headers])
        for row in table.rows:
            sheet.append([_xlsx_cell(sheet, value) for value in row])
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def _xlsx_cell(sheet, value: object) -> WriteOnlyCell | object:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and abs(value) < FLOAT_EXACT:
            return int(value)
        as_float = float(value)
        if Decimal(repr(as_float)) == value:
            return as_float
        return text_cell(sheet, f"{value.normalize():f}")
    if isinstance(value, dt.datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    if isinstance(value, str):
        return text_cell(sheet, value)
    return value


def to_zip(tables: list[Table]) -> bytes:
    """One UTF-8 CSV file per table (with a byte order mark, so Excel reads accents
    right), the import layout first."""
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in tables:
            archive.writestr(table.file_name, to_csv(table))
    return stream.getvalue()


def to_csv(table: Table) -> bytes:
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_csv_value(value) for value in row])
    return ("\ufeff" + stream.getvalue()).encode()


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    # A spreadsheet app would run text starting with "=" (or +, -, @) as a formula; the
    # apostrophe shows it as text, and the import drops it again.
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text
