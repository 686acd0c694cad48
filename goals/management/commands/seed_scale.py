"""``python manage.py seed_scale --tier S|M|L``: a generated organisation for benchmarks."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from goals.seeding.scale import TIERS, seed_scale


class Command(BaseCommand):
    help = (
        "Generate an organisation for benchmarks, in bulk: S = 50 people, M = 1,000, "
        "L = 10,000 people in 1,250 teams with 8 quarterly cycles and ~1.5 million "
        "check-ins. Builds only into an empty database (or reuses the same tier)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tier", type=str.upper, choices=sorted(TIERS), default="S")

    def handle(self, *args: object, tier: str, **options: object) -> None:
        lines = seed_scale(tier_name=tier, today=timezone.localdate(), log=self.stdout.write)
        for line in lines:
            self.stdout.write(line)
