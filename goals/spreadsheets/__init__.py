"""A cycle's goals as spreadsheets: the layout (``layout``), reading an upload
(``reading``), importing it through the services (``importer``) and exporting a cycle
(``exporter``). Pages, the API and the commands ``import_goals`` and ``export_cycle``
call these."""

from __future__ import annotations

from goals.spreadsheets.exporter import FORMATS, Export, export_cycle
from goals.spreadsheets.importer import ImportReport, Problem, import_goals, import_refusal
from goals.spreadsheets.layout import COLUMNS, MAX_FILE_BYTES, MAX_ROWS, template_csv, template_xlsx

__all__ = [
    "COLUMNS",
    "FORMATS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "Export",
    "ImportReport",
    "Problem",
    "export_cycle",
    "import_goals",
    "import_refusal",
    "template_csv",
    "template_xlsx",
]
