"""``python manage.py import_organisation FILE``: restore an export into a new instance."""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from okr_site.portability import ImportRefused, import_organisation, load_document


class Command(BaseCommand):
    help = (
        "Import an organisation written by export_organisation into this instance, which "
        "must be new and empty (accounts aside). All or nothing: every problem found is "
        "listed and nothing is written. Imported people have no password until an admin "
        "sets one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The export to read; '-' reads standard input.")

    def handle(self, *args: object, file: str, **options: object) -> None:
        text = sys.stdin.buffer.read() if file == "-" else _read(Path(file))
        try:
            document = load_document(text)
            counts = import_organisation(document)
        except ImportRefused as refusal:
            raise CommandError(f"Nothing was imported.\n{refusal}") from refusal
        shown = ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in counts.items())
        self.stdout.write(f"Imported: {shown}.")
        zone = document.get("time_zone")
        if zone and zone != settings.TIME_ZONE:
            self.stdout.write(
                f"The export came from an instance in {zone}; this one runs in "
                f"{settings.TIME_ZONE}, so check-in and digest hours now read in "
                f"{settings.TIME_ZONE}. Set TIME_ZONE={zone} to keep them."
            )
        self.stdout.write(
            "Imported people cannot sign in until they have a password: set one in the "
            "admin or with `manage.py changepassword USERNAME`."
        )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
