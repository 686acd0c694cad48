"""``python manage.py recompute_progress``: rebuild every objective's and roll-up key
result's progress from the leaves up (repair), and say how long it took."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alignment import rollup


class Command(BaseCommand):
    help = (
        "Recompute the progress of every objective and roll-up key result of the cycles "
        "not yet closed (--closed-too: of every cycle), in bulk."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--repeat", type=int, default=1, help="Run it this many times and report each."
        )
        parser.add_argument(
            "--closed-too", action="store_true", help="Closed cycles too (a full repair)."
        )
        parser.add_argument(
            "--snapshot", action="store_true", help="Then record today's progress snapshots."
        )

    def handle(
        self, *args: object, repeat: int, snapshot: bool, closed_too: bool, **options: object
    ) -> None:
        timings = []
        for _ in range(max(repeat, 1)):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries, transaction.atomic():
                objectives = rollup.recompute_all(closed_too=closed_too)
            timings.append(time.perf_counter() - started)
            self.stdout.write(
                f"Recomputed {objectives:,} objectives in {timings[-1]:.3f} s "
                f"({len(queries)} queries, {connection.vendor})."
            )
        if snapshot:
            with transaction.atomic():
                count = rollup.take_snapshots(day=timezone.localdate())
            self.stdout.write(f"Recorded {count:,} snapshots for {timezone.localdate()}.")
        if len(timings) > 1:
            ordered = sorted(timings)
            self.stdout.write(
                f"median {ordered[len(ordered) // 2]:.3f} s, "
                f"spread {ordered[0]:.3f}–{ordered[-1]:.3f} s over {len(timings)} runs"
            )
