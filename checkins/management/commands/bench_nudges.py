"""``python manage.py bench_nudges``: how long the whole organisation's check-in day takes.

Plans the check-in reminders, stale key result escalations and team chat reminders of
every team at one moment (``--at``, by default next Monday at 09:00), then sends
them in batches, in-process, as the worker would. Each run happens inside a transaction
that is rolled back: every team is made due at that moment for the run only, e-mails go
to Django's in-memory backend and chat messages to a stub, so nothing leaves the machine
and the database is left as it was (only the id sequence of nudges moves on). The teams
are locked meanwhile: run it on a copy (``make seed-scale TIER=L``), not on a live site.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from unittest import mock

from django.conf import settings
from django.core import mail
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alignment.models import Team, User
from checkins import delivery, planning, schedule

# "INSERT INTO" on PostgreSQL, "INSERT OR IGNORE INTO" on SQLite.
NUDGE_TABLE = ' INTO "checkins_nudge"'


class QueryLog:
    """Counts the queries of the connection and where planned rows were inserted."""

    def __init__(self) -> None:
        self.count = 0
        self.inserts: list[int] = []

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if sql.startswith("INSERT") and NUDGE_TABLE in sql[:40]:
            self.inserts.append(self.count)
        return execute(sql, params, many, context)


@dataclass
class Stage:
    """One stage of one run: rows it made, its batches, time and queries."""

    rows: int = 0
    batches: int = 0
    seconds: float = 0.0
    queries: int = 0
    max_per_batch: int = 0


@dataclass
class Run:
    stages: dict[str, Stage] = field(default_factory=dict)
    emails: int = 0


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
        waymark = {**settings.WAYMARK}
        if batch_size:
            waymark["NUDGE_BATCH_SIZE"] = batch_size
        people = User.objects.filter(is_active=True).count()
        teams = Team.objects.filter(archived_at__isnull=True).count()
        self.stdout.write(
            f"{connection.vendor} {connection.settings_dict['NAME']}: {people:,} people, "
            f"{teams:,} teams, all due at {timezone.localtime(moment):%a %Y-%m-%d %H:%M %Z}; "
            f"batches of {waymark['NUDGE_BATCH_SIZE']}, {max(repeat, 1)} runs"
        )
        runs = []
        with (
            override_settings(
                WAYMARK=waymark, EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"
            ),
            mock.patch.object(delivery, "post_webhook", _no_post),
        ):
            for number in range(1, max(repeat, 1) + 1):
                runs.append(self._run(moment))
                total = runs[-1].stages["total"]
                self.stdout.write(
                    f"run {number}: {total.rows:,} nudges planned, {runs[-1].emails:,} e-mails "
                    f"sent in {total.seconds:.2f} s, {total.queries:,} queries"
                )
        self._table(people, runs)

    def _run(self, moment: dt.datetime) -> Run:
        run = Run()
        log = QueryLog()
        mail.outbox = []
        started = time.perf_counter()
        with connection.execute_wrapper(log), transaction.atomic():
            local = timezone.localtime(moment)
            Team.objects.update(checkin_weekday=local.weekday(), checkin_hour=local.hour)
            teams = schedule.checkin_teams_due(moment)
            for name, plan in [
                ("plan reminders", planning.plan_reminders),
                ("plan escalations", planning.plan_escalations),
                ("plan chat reminders", planning.plan_team_reminders),
            ]:
                run.stages[name] = self._measure(log, lambda plan=plan: plan(moment, teams))
            run.stages["deliver"] = self._deliver(log)
            run.emails = len(mail.outbox)
            transaction.set_rollback(True)
        stages = list(run.stages.values())
        run.stages["total"] = Stage(
            rows=sum(stage.rows for stage in stages[:-1]),
            batches=sum(stage.batches for stage in stages),
            seconds=time.perf_counter() - started,
            queries=log.count,
            max_per_batch=max(stage.max_per_batch for stage in stages),
        )
        return run

    def _measure(self, log: QueryLog, plan: Callable[[], int]) -> Stage:
        """A planning stage; a batch is one bulk insert of rows, and its queries are
        those since the previous insert (the first also counts the stage's set-up)."""
        first, inserts = log.count, len(log.inserts)
        started = time.perf_counter()
        rows = plan()
        seconds = time.perf_counter() - started
        marks = [first, *log.inserts[inserts:]]
        return Stage(
            rows=rows,
            batches=len(marks) - 1,
            seconds=seconds,
            queries=log.count - first,
            max_per_batch=max((b - a for a, b in pairwise(marks)), default=0),
        )

    def _deliver(self, log: QueryLog) -> Stage:
        """What ``dispatch`` and the ``deliver_nudges`` tasks do, one batch after another."""
        first = log.count
        started = time.perf_counter()
        ids = delivery.due_ids(timezone.now())
        size = settings.WAYMARK["NUDGE_BATCH_SIZE"]
        stage = Stage()
        for start in range(0, len(ids), size):
            before = log.count
            counts = delivery.deliver(ids[start : start + size])
            stage.rows += counts.sent
            stage.batches += 1
            stage.max_per_batch = max(stage.max_per_batch, log.count - before)
        stage.seconds = time.perf_counter() - started
        stage.queries = log.count - first
        return stage

    def _table(self, people: int, runs: list[Run]) -> None:
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
            today = timezone.localdate()
            monday = today + dt.timedelta(days=7 - today.weekday())
            return timezone.make_aware(dt.datetime.combine(monday, dt.time(9)))
        moment = parse_datetime(at)
        if moment is None:
            raise CommandError(f"--at: “{at}” is not a date and time like 2026-11-23T09:00.")
        return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _no_post(url: str, text: str) -> None:
    """Chat messages stay here during a benchmark."""
