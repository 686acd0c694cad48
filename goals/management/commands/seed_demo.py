"""``python manage.py seed_demo``: the Kestrel Bikes demo company, idempotent."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from goals.seeding.common import SEED_PASSWORD
from goals.seeding.demo import seed_demo


class Command(BaseCommand):
    help = (
        "Load (or bring up to date) the demo company Kestrel Bikes: 7 teams, 25 people, "
        "the current quarter's goals with weekly check-ins and the previous quarter closed. "
        "Safe to run again; it refuses a database holding another organisation."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--public-passwords",
            action="store_true",
            help=f"Load it with DEBUG off too: every demo person, the admin included, signs "
            f"in with the published password {SEED_PASSWORD!r}.",
        )

    def handle(self, *args: object, public_passwords: bool, **options: object) -> None:
        # A site with DEBUG off is taken for a real one: a superuser whose password is
        # in the README must be asked for, not slipped in with the demo.
        if not settings.DEBUG and not public_passwords:
            raise CommandError(
                f"The demo's people, its admin too, sign in with the published password "
                f"{SEED_PASSWORD!r}. DEBUG is off, so this looks like a real site: add "
                "--public-passwords to load the demo anyway."
            )
        for line in seed_demo(today=timezone.localdate()):
            self.stdout.write(line)
