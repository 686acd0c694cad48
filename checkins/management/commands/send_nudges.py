"""Plan and send the reminders, escalations and digests that are due.

What the Celery beat tick does, for the embedded default (no Redis) or for cron:
``manage.py send_nudges`` once, or ``--loop 300`` to keep going every 5 minutes.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from checkins.tasks import run_nudges


class Command(BaseCommand):
    help = "Plan and send the nudges that are due (what the Celery beat tick does)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--loop",
            type=int,
            metavar="SECONDS",
            help="Keep running, once every SECONDS, until stopped.",
        )
        parser.add_argument(
            "--at",
            metavar="DATETIME",
            help="Plan as if it were this moment (ISO 8601, organisation time zone), e.g. "
            "2026-11-23T09:00 to see Monday's reminders.",
        )

    def handle(self, *args, loop: int | None, at: str | None, **options) -> None:
        moment = self._moment(at)
        while True:
            result = run_nudges(plan_at=moment)
            self.stdout.write(
                f"{timezone.localtime():%Y-%m-%d %H:%M}: planned {result['reminders']} "
                f"reminders, {result['escalations']} escalations, {result['digests']} "
                f"digests, {result['team_messages']} chat messages; "
                f"{result['batches']} batches handed out."
            )
            if not loop:
                return
            time.sleep(loop)

    def _moment(self, at: str | None):
        if not at:
            return None
        moment = parse_datetime(at)
        if moment is None:
            raise CommandError(f"--at: “{at}” is not a date and time like 2026-11-23T09:00.")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment
