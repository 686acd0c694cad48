"""``python manage.py seed_demo``: the Kestrel Bikes demo company, idempotent."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from goals.seeding.demo import seed_demo


class Command(BaseCommand):
    help = (
        "Load (or bring up to date) the demo company Kestrel Bikes: 7 teams, 25 people, "
        "the current quarter's goals with weekly check-ins and the previous quarter closed. "
        "Safe to run again; it refuses a database holding another organisation."
    )

    def handle(self, *args: object, **options: object) -> None:
        for line in seed_demo(today=timezone.localdate()):
            self.stdout.write(line)
