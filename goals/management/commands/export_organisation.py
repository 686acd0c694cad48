"""``python manage.py export_organisation -o FILE``: the whole organisation as JSON."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from okr_site.portability import iter_export_json


class Command(BaseCommand):
    help = (
        "Write the whole organisation (people, teams, cycles, goals, check-ins, KPIs, "
        "one-to-ones …) as one JSON document, to restore with import_organisation on a "
        "new instance. Passwords are never exported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-o",
            "--output",
            default="-",
            help="The file to write; '-' (the default) writes to standard output.",
        )

    def handle(self, *args: object, output: str, **options: object) -> None:
        counts: dict[str, int] = {}
        if output == "-":
            for piece in iter_export_json(counts=counts):
                self.stdout.write(piece, ending="")
            self.stdout.flush()
            self.stderr.write(_summary(counts, "standard output"))
            return
        target = Path(output)
        if not target.parent.is_dir():
            raise CommandError(f"{target.parent} is not a folder: cannot write {target}.")
        # Written beside the target and renamed at the end: never a half-written export.
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                for piece in iter_export_json(counts=counts):
                    file.write(piece)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        self.stdout.write(_summary(counts, str(target)))


def _summary(counts: dict[str, int], where: str) -> str:
    shown = ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in counts.items())
    return f"Exported to {where}: {shown}."
