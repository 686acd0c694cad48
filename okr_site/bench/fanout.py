"""A whole organisation's check-in day, planned and sent in-process, then rolled back:
the reminder fan-out measured by ``manage.py bench`` and ``manage.py bench_nudges``.

Every team is made due at one moment for the run only; e-mails go to Django's
in-memory backend and chat messages to a stub, so nothing leaves the machine, and the
transaction is rolled back, so the database is left as it was (only the id sequence of
nudges moves on)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from unittest import mock

from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from alignment.models import Team
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


def next_monday_morning() -> dt.datetime:
    """The benchmark's default check-in moment: next Monday at 09:00."""
    today = timezone.localdate()
    monday = today + dt.timedelta(days=7 - today.weekday())
    return timezone.make_aware(dt.datetime.combine(monday, dt.time(9)))


@contextmanager
def contained(batch_size: int | None = None) -> Iterator[dict]:
    """Mail to memory, chat posts to a stub; the settings used (batch size) yielded."""
    waymark = {**settings.WAYMARK}
    if batch_size:
        waymark["NUDGE_BATCH_SIZE"] = batch_size
    with (
        override_settings(
            WAYMARK=waymark, EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"
        ),
        mock.patch.object(delivery, "post_webhook", _no_post),
    ):
        yield waymark


def run_day(moment: dt.datetime) -> Run:
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
            run.stages[name] = _measure(log, lambda plan=plan: plan(moment, teams))
        run.stages["deliver"] = _deliver(log)
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


def _measure(log: QueryLog, plan: Callable[[], int]) -> Stage:
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


def _deliver(log: QueryLog) -> Stage:
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


def _no_post(url: str, text: str) -> None:
    """Chat messages stay here during a benchmark."""
