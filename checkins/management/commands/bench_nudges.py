"""``python manage.py bench_nudges``: how long the whole organisation's check-in day takes.

Plans the check-in reminders, stale key result escalations and team chat reminders of
every team at one moment (``--at``, by default next Monday at 09:00), then sends
them in batches, in-process, as the worker would (``okr_site.bench.fanout``: rolled
back, nothing leaves the machine), and prints each stage's figures. The teams
are locked meanwhile: run it on a copy (``make seed-scale TIER=L``), not on a live site.
"""

from __future__ import annotations

import datetime as dt
import statistics

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alignment.models import Team, User
from okr_site.bench import fanout


class Command(BaseCommand):
    help = (
        "Benchmark a check-in day for the whole organisation: plan and send every team's "
        "reminders and escalations in-process, inside a transaction that is rolled back."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--at",
            metavar="DATETIME",
            help="The moment to plan for (ISO 8601, organisation time zone); default: "
            "next Monday at 09:00.",
        )
        parser.add_argument("--repeat", type=int, default=3, help="Runs to time (default 3).")
        parser.add_argument(
            "--batch-size",
            type=int,
            help=f"Nudges per batch (default NUDGE_BATCH_SIZE, "
            f"{settings.WAYMARK['NUDGE_BATCH_SIZE']}).",
        )

    def handle(self, *args, at: str | None, repeat: int, batch_size: int | None, **options) -> None:
        moment = self._moment(at)
        people = User.objects.filter(is_active=True).count()
        teams = Team.objects.filter(archived_at__isnull=True).count()
        runs = []
        with fanout.contained(batch_size) as waymark:
            self.stdout.write(
                f"{connection.vendor} {connection.settings_dict['NAME']}: {people:,} people, "
                f"{teams:,} teams, all due at {timezone.localtime(moment):%a %Y-%m-%d %H:%M %Z}; "
                f"batches of {waymark['NUDGE_BATCH_SIZE']}, {max(repeat, 1)} runs"
            )
            for number in range(1, max(repeat, 1) + 1):
                runs.append(fanout.run_day(moment))
                total = runs[-1].stages["total"]
                self.stdout.write(
                    f"run {number}: {total.rows:,} nudges planned, {runs[-1].emails:,} e-mails "
                    f"sent in {total.seconds:.2f} s, {total.queries:,} queries"
                )
        self._table(people, runs)

    def _table(self, people: int, runs: list[fanout.Run]) -> None:
        head = (
            f"{'stage':<20} {'rows':>7} {'batches':>7} {'median':>8} {'spread':>15} "
            f"{'queries':>7} {'max/batch':>9}"
        )
        self.stdout.write(f"\n{people:,} people; rows: nudges planned, or sent for deliver")
        self.stdout.write(head)
        self.stdout.write("-" * len(head))
        for name in runs[0].stages:
            stages = [run.stages[name] for run in runs]
            seconds = [stage.seconds for stage in stages]
            last = stages[-1]
            spread = f"{min(seconds):.2f}–{max(seconds):.2f} s"
            self.stdout.write(
                f"{name:<20} {last.rows:>7,} {last.batches:>7,} "
                f"{statistics.median(seconds):>6.2f} s {spread:>15} "
                f"{last.queries:>7,} {last.max_per_batch:>9,}"
            )

    def _moment(self, at: str | None) -> dt.datetime:
        if not at:
            return fanout.next_monday_morning()
        moment = parse_datetime(at)
        if moment is None:
            raise CommandError(f"--at: “{at}” is not a date and time like 2026-11-23T09:00.")
        return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
