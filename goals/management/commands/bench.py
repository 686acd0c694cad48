"""``python manage.py bench``: every page, API list and organisation-wide job of a
``seed_scale`` organisation, timed against its floor; see docs/performance.md."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.test.utils import override_settings

from goals.models import Cycle
from okr_site.bench import cases, report
from okr_site.bench.measure import measure, measure_with_floor
from okr_site.bench.scenario import Scenario


class Command(BaseCommand):
    help = (
        "Time every page, API list, the check-in submit and the organisation-wide jobs of a "
        "generated organisation (seed_scale), each against its floor, inside a transaction "
        "that is rolled back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=20, help="Timed runs (default 20).")
        parser.add_argument("--only", default="", help="Only what has this in its name.")
        parser.add_argument("--skip-jobs", action="store_true", help="Pages and lists only.")
        parser.add_argument("--label", default="", help="The tier's name in the table.")
        parser.add_argument("--save", type=Path, help="Write the results to this JSON file.")
        parser.add_argument(
            "--compare", type=Path, help="Show query counts beside those of this saved run."
        )

    def handle(self, *args, repeat: int, only: str, skip_jobs: bool, **options) -> None:
        if connection.vendor != "postgresql":
            # The floors are PostgreSQL queries, and SQLite's figures would say nothing
            # about a deployment.
            raise CommandError(
                "manage.py bench measures PostgreSQL: set DATABASE_URL=postgres://… "
                "(or run `make bench`)."
            )
        label = options["label"] or connection.settings_dict["NAME"]
        other = report.load(options["compare"]) if options["compare"] else None
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # Earlier runs' rolled-back jobs leave dead rows behind; measure what a live
            # database (autovacuum) would have, with fresh statistics. (Not possible
            # inside a transaction: a test's.)
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
        with (
            # In-process requests over plain HTTP: no redirect to HTTPS.
            override_settings(
                ROOT_URLCONF="okr_site.bench.urls",
                ALLOWED_HOSTS=["testserver"],
                SECURE_SSL_REDIRECT=False,
            ),
            transaction.atomic(),
        ):
            scenario = Scenario.load()
            scenario.add_fixtures()
            catalogue = [*cases.page_cases(scenario), cases.submit_case(scenario)]
            if not skip_jobs:
                catalogue += cases.job_cases()
            self.stdout.write(self._summary(scenario))
            results = [
                self._run(case, repeat) for case in catalogue if only.lower() in case.name.lower()
            ]
            transaction.set_rollback(True)
        self.stdout.write("\n" + report.table(results, label, other))
        if options["save"]:
            report.save(results, options["save"], label)

    def _summary(self, scenario: Scenario) -> str:
        return (
            f"{connection.vendor} {connection.settings_dict['NAME']}: {scenario.cycle.name}, "
            f"{Cycle.objects.count()} cycles; as {scenario.lead.username} (lead of "
            f"{scenario.team.name}) and {scenario.ceo.username} (the CEO)"
        )

    def _run(self, case: cases.Case, repeat: int) -> report.Result:
        self.stdout.write(f"  {case.name} …")
        times = case.repeat or repeat
        floor = None
        if case.floor:
            figures, floor_figures = measure_with_floor(case.run, case.floor, repeat=times)
            floor = floor_figures.median
        else:
            figures = measure(
                case.run, repeat=times, warmup=1 if case.repeat else 2, self_timed=case.self_timed
            )
        kilobytes = None
        if case.client is not None:
            kilobytes = round(len(case.run().content) / 1024, 1)
        return report.Result(
            name=case.name,
            kind=case.kind.value,
            median=figures.median,
            p95=figures.p95,
            spread=figures.spread,
            queries=figures.queries,
            floor=floor,
            kilobytes=kilobytes,
        )
