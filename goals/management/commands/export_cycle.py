"""``python manage.py export_cycle --cycle NAME --format xlsx|csv -o FILE``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from goals.spreadsheets import FORMATS, export_cycle
from goals.spreadsheets.cli import cycle_argument, person_argument


class Command(BaseCommand):
    help = (
        "Write a cycle's objectives and key results (in the import layout), check-ins, "
        "initiatives and KPIs as an XLSX workbook, or as a .zip of CSV files. Everything "
        "is exported unless --as names a person: then only what they may read."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cycle", required=True, help="The cycle's name (or id).")
        parser.add_argument("--format", dest="fmt", choices=FORMATS, default="xlsx")
        parser.add_argument("-o", "--output", required=True, help="The file to write.")
        parser.add_argument(
            "--as",
            dest="username",
            help="Export only what this person may read (default: everything).",
        )

    def handle(
        self,
        *args: object,
        cycle: str,
        fmt: str,
        output: str,
        username: str | None,
        **options: object,
    ) -> None:
        target = Path(output)
        if not target.parent.is_dir():
            raise CommandError(f"{target.parent} is not a folder: cannot write {target}.")
        user = person_argument(username) if username else None
        export = export_cycle(cycle=cycle_argument(cycle), user=user, fmt=fmt)
        # Written beside the target and renamed at the end: never a half-written file.
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(export.content)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        self.stdout.write(f"Exported {cycle} to {target} ({len(export.content):,} bytes).")
