"""Reading an uploaded spreadsheet into rows numbered as the person sees them.

The file's content decides how it is read: an XLSX workbook (a zip holding
``[Content_Types].xml``), the .zip of CSV files the export writes (its first CSV file is
read), or CSV text in UTF-8 (with or without a byte order mark), separated by commas,
semicolons or tabs. Anything else is refused with a message saying what to send instead.
An upload's name must agree with its content too (``check_name``).

tablib (which Waymark depends on for XLSX) is not used to read: its CSV reader drops
blank lines and its XLSX reader takes the workbook's *active* sheet, both of which would
misplace the row numbers and sheets that problems are reported against. The csv module
and openpyxl (tablib's own XLSX engine) are read directly instead.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

from goals.spreadsheets.layout import FILE_TOO_LARGE, MAX_FILE_BYTES, MAX_ROWS, SHEET

# An XLSX workbook is a zip: refuse one that would unpack into more than this (a "zip
# bomb" of a few KB can unpack into gigabytes). A 5,000-row first sheet takes about 5 MB.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# What an upload may be called; each name must match its content (see check_name).
EXTENSIONS = (".xlsx", ".csv", ".zip")
ZIP_START = b"PK\x03\x04"
OLD_EXCEL_START = b"\xd0\xcf\x11\xe0"

Cell = str | int | float | bool | dt.datetime | dt.date | dt.time | None


class FileRefused(Exception):
    """The upload is not a spreadsheet Waymark can read; the message says why."""


@dataclass
class Sheet:
    """The header row and the non-blank rows after it, each with its row number (the
    header is row 1)."""

    headers: list[Cell]
    rows: list[tuple[int, list[Cell]]] = field(default_factory=list)
    kind: str = "csv"  # "csv" or "xlsx"
    delimiter: str = ","
    too_many_rows: bool = False

    @property
    def decimal_comma(self) -> bool:
        """European Excel separates with semicolons because the comma is its decimal mark."""
        return self.kind == "csv" and self.delimiter == ";"


def check_name(name: str, data: bytes) -> None:
    """Refuse an upload whose extension is not one the import reads, or whose content is
    not what its extension says: a renamed file is usually a mistake, and the readers
    should only ever see the kind of file the person meant to send."""
    extension = PurePath(name).suffix.lower()
    if extension not in EXTENSIONS:
        raise FileRefused(
            f"Only .xlsx, .csv and .zip files can be imported, and “{name}” is none of "
            "them: save it as “Excel Workbook (.xlsx)” or “CSV UTF-8”."
        )
    if extension in (".xlsx", ".zip") and data[:4] != ZIP_START:
        raise FileRefused(
            f"The file is named {extension} but is not one: save it from your "
            "spreadsheet app as “Excel Workbook (.xlsx)” or “CSV UTF-8” and upload that."
        )
    if extension == ".csv":
        if data[:4] == ZIP_START:
            raise FileRefused(
                "The file is named .csv but is an XLSX workbook or a zip file: name it "
                ".xlsx or .zip, or save it as “CSV UTF-8”."
            )
        _csv_text(data)  # refuses what is not UTF-8 text, saying why


def read_upload(data: bytes) -> Sheet:
    """The first sheet of ``data``; raises ``FileRefused`` with a message for a file that
    is empty, too big, or not CSV or XLSX. Reading stops after ``MAX_ROWS`` rows."""
    if not data:
        raise FileRefused("The file is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused(FILE_TOO_LARGE)
    if data[:4] == ZIP_START:
        return _read_zip(data)
    return _read_csv(data)


def _read_zip(data: bytes) -> Sheet:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise FileRefused("The file is not a readable XLSX workbook or zip file.") from error
    if "[Content_Types].xml" in names:
        # Only workbooks are capped: a zip of CSV files has just its first one read, and
        # at most MAX_FILE_BYTES of it. The sizes are those the zip declares, and
        # zipfile stops a member that unpacks into more than it declared.
        if unpacked > MAX_UNPACKED_BYTES:
            raise FileRefused(
                f"The workbook unpacks into more than {MAX_UNPACKED_BYTES // 2**20} MB: "
                f"keep only the sheet “{SHEET}” or split it into several files."
            )
        return _read_xlsx(data)
    csv_names = [name for name in names if name.lower().endswith(".csv")]
    if not csv_names:
        raise FileRefused("The zip file holds no CSV file and is not an XLSX workbook.")
    # The export's zip lists the objectives-and-key-results file first.
    with archive.open(csv_names[0]) as member:
        text = member.read(MAX_FILE_BYTES + 1)
    if len(text) > MAX_FILE_BYTES:  # read no further: the rest would be cut mid-row
        raise FileRefused(f"“{csv_names[0]}” in the zip file: {FILE_TOO_LARGE}")
    return _read_csv(text)


def _read_xlsx(data: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:
        # openpyxl raises many kinds of errors (zip, XML, KeyError, ValueError…) on a
        # damaged or foreign workbook (an .ods renamed, a half-written file): each means
        # "not a workbook we can read", never a server error.
        raise FileRefused(
            "The file is not a readable XLSX workbook. Save it from your spreadsheet app "
            "as “Excel Workbook (.xlsx)” or “CSV UTF-8” and upload it again."
        ) from error
    try:
        worksheet = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]
        sheet: Sheet | None = None
        # Read-only worksheets yield every row from row 1, blank ones as empty cells, so
        # the position is the row number the person sees.
        for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            cells = list(values)
            if sheet is None:
                if _blank(cells):
                    continue  # leading blank rows before the header
                sheet = Sheet(headers=cells, kind="xlsx")
                header_row = number
                continue
            if _blank(cells):
                continue
            if len(sheet.rows) >= MAX_ROWS:
                sheet.too_many_rows = True
                break
            sheet.rows.append((number, cells))
    except Exception as error:
        raise FileRefused("The workbook could not be read: it may be damaged.") from error
    finally:
        workbook.close()
    if sheet is None:
        raise FileRefused("The file is empty: the first sheet has no header row.")
    if header_row != 1:
        raise FileRefused(
            f"The header row is row {header_row}: put the column names in row 1 and the "
            "key results below them."
        )
    return sheet


def _read_csv(data: bytes) -> Sheet:
    text = _csv_text(data)
    if not text.strip():
        raise FileRefused("The file is empty.")
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    sheet: Sheet | None = None
    try:
        # A record is one spreadsheet row even when a quoted cell spans several lines.
        for number, cells in enumerate(reader, start=1):
            if sheet is None:
                sheet = Sheet(headers=list(cells), kind="csv", delimiter=delimiter)
                continue
            if _blank(cells):
                continue
            if len(sheet.rows) >= MAX_ROWS:
                sheet.too_many_rows = True
                break
            sheet.rows.append((number, list(cells)))
    except csv.Error as error:
        raise FileRefused(f"The CSV file cannot be read: {error}.") from error
    if sheet is None or _blank(sheet.headers):
        raise FileRefused(
            "The first row is empty: put the column names in row 1 and the key results below."
        )
    return sheet


def _csv_text(data: bytes) -> str:
    if data[:4] == OLD_EXCEL_START:
        raise FileRefused(
            "This is an old Excel (.xls) file: save it as “Excel Workbook (.xlsx)” or "
            "“CSV UTF-8” and upload that."
        )
    if b"\x00" in data[:4096]:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise FileRefused(
                "The file is UTF-16 text (Excel's “Unicode Text”): save it as “CSV UTF-8” "
                "or as an XLSX workbook instead."
            )
        raise FileRefused("The file is not a spreadsheet: upload a CSV (UTF-8) or XLSX file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRefused(
            "The file is not UTF-8 text. In Excel, save it as “CSV UTF-8 (Comma "
            "delimited)”, or upload the XLSX workbook itself."
        ) from error


def _delimiter(text: str) -> str:
    """The separator of the header row: the column names hold none of them."""
    first_line = text.split("\n", 1)[0]
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _blank(cells: list[Cell] | tuple[Cell, ...]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)
