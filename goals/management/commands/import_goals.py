"""``python manage.py import_goals --cycle NAME --as USERNAME FILE [--commit]``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from goals.spreadsheets import import_goals
from goals.spreadsheets.cli import cycle_argument, person_argument
from goals.spreadsheets.layout import MAX_FILE_BYTES


class Command(BaseCommand):
    help = (
        "Import a cycle's objectives and key results from an XLSX or CSV file in Waymark's "
        "layout (see README, “Import and export”). Checks the file and prints every problem "
        "with its row and column; nothing is saved without --commit, and with it only a "
        "file without problems is saved, all rows at once. Exits with 1 on problems."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The XLSX, CSV or exported .zip file.")
        parser.add_argument("--cycle", required=True, help="The cycle's name (or id).")
        parser.add_argument(
            "--as",
            dest="username",
            required=True,
            help="Import as this person: an admin, or a lead (who imports into the teams "
            "they lead). Their rights decide what may be imported, and changes are theirs.",
        )
        parser.add_argument(
            "--commit", action="store_true", help="Save the rows (default: a dry run)."
        )

    def handle(
        self, *args: object, file: str, cycle: str, username: str, commit: bool, **options: object
    ) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CommandError(f"{path} is larger than 10 MB: split it into several files.")
        report = import_goals(
            data=path.read_bytes(),
            filename=path.name,
            cycle=cycle_argument(cycle),
            user=person_argument(username),
            commit=commit,
        )
        if report.problems:
            for problem in report.sorted_problems():
                where = f"row {problem.row}" if problem.row else "file"
                if problem.column:
                    where += f", column {problem.column}"
                self.stderr.write(f"{where}: {problem.message}")
            raise CommandError(
                f"{len(report.problems)} problem(s) in {path.name}: nothing was imported."
            )
        counts = report.counts
        summary = (
            f"objectives: {counts['objectives_created']} new, {counts['objectives_updated']} "
            f"updated, {counts['objectives_unchanged']} unchanged; key results: "
            f"{counts['key_results_created']} new, {counts['key_results_updated']} updated, "
            f"{counts['key_results_unchanged']} unchanged; check-ins: {counts['checkins']}."
        )
        if report.committed:
            self.stdout.write(f"Imported {path.name} into {report.cycle}: {summary}")
        else:
            self.stdout.write(
                f"Dry run of {path.name} into {report.cycle}, no problems: {summary} "
                "Nothing was saved: run again with --commit to import."
            )
