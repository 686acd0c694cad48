"""``python manage.py loadtest``: the site under a Monday morning's load, over HTTP.

Starts the site as it is deployed, on this machine: gunicorn with DEBUG off, bound to
127.0.0.1 only, and a Celery worker (a check-in queues its roll-up for the worker), on
the PostgreSQL database of DATABASE_URL and the Redis of REDIS_URL. Signs in people of
a ``seed_scale`` organisation (the L tier: ``seed_scale --tier L``) through the login
form, then for each rate sends requests on a fixed schedule (``okr_site.bench.load``):
60 % page views, 25 % check-ins saved as a row of the check-in page saves them, 15 %
API calls, each as one of those people. Prints requests/s, p50/p95/p99 and errors by
kind and by page, and the verdict against the targets. Slow figures never make it
fail (a shared machine is noisy): only a setup that does not work does.

It writes: real check-ins (a quarter of the requests) and their roll-ups, and a new
password hash for each person at their first sign-in. Run it on the benchmark's
database, not on a live site. Everything it starts is stopped before it returns, also
on Ctrl-C.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlencode

import redis
import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from alignment.models import Membership, Team, User
from goals.models import Cycle, KeyResult, Objective
from goals.seeding.common import SEED_PASSWORD
from okr_site.bench import load

SERVER_ERROR = "Internal Server Error:"  # how Django logs a 500
STARTUP_SECONDS = 60  # a loaded 2-core machine takes a while to import everything
STOP_SECONDS = 15
# gunicorn's gthread workers: on 2 cores that PostgreSQL shares, 2 processes of 4 threads
# answered 30 requests/s with a p95 of 113–146 ms where 4 of 2 took 197–228 ms.
WORKERS, THREADS = 2, 4
SIGN_IN_THREADS = 4  # a sign-in is one slow password hash on the server
LEADS_SHARE = 4  # one virtual user in 4 leads a team
NOTES = ("", "", "On track.", "Slower week.", "The release landed.")
# Monday morning: people open the site and check in; leads read their team and its
# meeting page; a few look at the whole cycle and the cascade. Page → weight.
PAGE_WEIGHTS = {
    "home": 3,
    "check-in page": 3,
    "team": 2,
    "objective": 2,
    "team review": 1,
    "cycle overview": 1,
    "alignment": 1,
}


@dataclass(frozen=True)
class OwnedKeyResult:
    pk: int
    milestone: bool
    current: Decimal
    step: Decimal  # a twentieth of the way from start to target


@dataclass(frozen=True)
class Persona:
    """A person the load is sent as, with what they read and check in."""

    username: str
    user_id: int
    team_id: int
    team_slug: str
    objective_ids: tuple[int, ...]  # their team's, in the active cycle
    key_results: tuple[OwnedKeyResult, ...]  # theirs to check in, in the active cycle


class Plan:
    """Recipes of requests for the personas (a persona's index is its virtual user)."""

    def __init__(self, personas: list[Persona], cycle: Cycle, rng: random.Random) -> None:
        self.personas = personas
        self.cycle = cycle
        self.rng = rng

    def recipes(self, count: int) -> list[load.Recipe]:
        build = {"page": self._page, "submit": self._submit, "api": self._api}
        return [
            build[kind](self.rng.randrange(len(self.personas)))
            for kind in load.kinds(count, self.rng)
        ]

    def _page(self, user: int) -> load.Recipe:
        persona = self.personas[user]
        paths = {
            "home": reverse("goals:home"),
            "check-in page": reverse("checkins:weekly"),
            "team": reverse("goals:team", args=[persona.team_slug]),
            "objective": reverse("goals:objective", args=[self.rng.choice(persona.objective_ids)]),
            "team review": reverse("checkins:team-review", args=[persona.team_slug]),
            "cycle overview": reverse("goals:cycle", args=[self.cycle.pk]),
            "alignment": reverse("alignment:tree", args=[self.cycle.pk]),
        }
        (name,) = self.rng.choices(list(PAGE_WEIGHTS), weights=list(PAGE_WEIGHTS.values()))
        return load.Recipe("page", name, "GET", paths[name], user)

    def _submit(self, user: int) -> load.Recipe:
        """One row of the check-in page saved with htmx: the row comes back saved."""
        key_result = self.rng.choice(self.personas[user].key_results)
        if key_result.milestone:
            value = self.rng.choice("01")
        else:
            value = f"{key_result.current + key_result.step * Decimal(self.rng.random()):.2f}"
        prefix = f"kr-{key_result.pk}"
        return load.Recipe(
            "submit",
            "check-in row",
            "POST",
            reverse("checkins:row", args=[key_result.pk]),
            user,
            data={
                f"{prefix}-value": value,
                f"{prefix}-confidence": str(self.rng.randint(4, 9)),
                f"{prefix}-note": self.rng.choice(NOTES),
                f"{prefix}-blocker": "",
            },
            headers={"HX-Request": "true", "HX-Target": f"checkin-row-{key_result.pk}"},
            expect="ci-row-saved",
        )

    def _api(self, user: int) -> load.Recipe:
        persona = self.personas[user]
        cycle = self.cycle.pk
        calls = {
            "objectives API": ("objective-list", {"cycle": cycle, "team": persona.team_id}),
            "key results API": ("key-result-list", {"cycle": cycle, "owner": persona.user_id}),
            "check-ins API": ("checkin-list", {"cycle": cycle, "author": persona.user_id}),
            "teams API": ("team-list", {}),
        }
        name = self.rng.choice(list(calls))
        url_name, query = calls[name]
        path = reverse(url_name) + (f"?{urlencode(query)}" if query else "")
        headers = {"Accept": "application/json"}
        return load.Recipe("api", name, "GET", path, user, headers=headers, expect='"results"')


class Service:
    """A process this command starts (gunicorn, the worker), its output in a file."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 (our own command line)
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Its own process group: Ctrl-C reaches this command only, which then
                # stops it, and a kill reaches gunicorn's workers too.
                start_new_session=True,
            )

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def first_error(self) -> str:
        """Django's first "Internal Server Error" record: its line and the end of its
        traceback, where the exception is."""
        lines = self.log.read_text(errors="replace").splitlines()
        starts = [n for n, line in enumerate(lines) if line.startswith(SERVER_ERROR)]
        if not starts:
            return ""
        ends = [n for n, line in enumerate(lines) if n > starts[0] and line.startswith("[")]
        record = lines[starts[0] : min([*starts[1:2], *ends[:1], len(lines)])]
        return "\n".join(record if len(record) <= 15 else [record[0], "…", *record[-12:]])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Command(BaseCommand):
    help = (
        "Load test: gunicorn (DEBUG off) and a Celery worker on 127.0.0.1, PostgreSQL and "
        "Redis; 60 % page views, 25 % check-ins, 15 % API calls as people of a seed_scale "
        "organisation, on a fixed schedule at each rate. Reports requests/s, p50/p95/p99 "
        "and errors. Writes check-ins: run it on the benchmark's database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rates",
            default=f"{load.PEAK},{2 * load.PEAK}",
            help="Requests per second, one measured run each (default: %(default)s).",
        )
        parser.add_argument(
            "--seconds", type=float, default=60, help="Length of each run (default 60)."
        )
        parser.add_argument(
            "--warmup",
            type=float,
            default=5,
            help="Seconds at the same rate before each run, not counted (default 5).",
        )
        parser.add_argument(
            "--max-requests",
            type=int,
            default=5_000,
            help="At most this many requests in a run (default 5,000).",
        )
        parser.add_argument("--users", type=int, default=40, help="People signed in (default 40).")
        parser.add_argument(
            "--workers",
            type=int,
            default=WORKERS,
            help=f"gunicorn worker processes (default {WORKERS}).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=THREADS,
            help=f"Threads per gunicorn worker (default {THREADS}).",
        )
        parser.add_argument(
            "--port", type=int, default=8765, help="Port on 127.0.0.1 (default 8765)."
        )

    def handle(
        self,
        *args: object,
        rates: str,
        seconds: float,
        warmup: float,
        max_requests: int,
        users: int,
        workers: int,
        threads: int,
        port: int,
        **options: object,
    ) -> None:
        asked = _rates(rates)
        redis_url = _redis_url()
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError(
                "This database has migrations to apply: run `manage.py migrate` first."
            )
        cycle, personas = _personas(users)
        base_url = f"http://127.0.0.1:{port}"
        if _answers(port):
            raise CommandError(f"Something already listens on 127.0.0.1:{port}: use --port.")
        self.stdout.write(
            f"{connection.settings_dict['NAME']}: {User.objects.count():,} people, "
            f"{Team.objects.count():,} teams, cycle {cycle.name}; {len(personas)} people to "
            f"sign in; gunicorn {workers} × {threads} threads and a Celery worker on "
            f"{base_url}; runs of {seconds:g} s at {', '.join(map(load.format_rate, asked))}"
        )
        plan = Plan(personas, cycle, random.Random(0))  # noqa: S311 (a reproducible mix)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="waymark-loadtest-") as scratch:
            env = _environment(Path(scratch), base_url, redis_url)
            self._collect_static(env)
            services: list[Service] = []
            try:
                server = Service(
                    _gunicorn(port, workers, threads), env, Path(scratch, "gunicorn.log")
                )
                services.append(server)
                worker = Service(_celery_worker(port), env, Path(scratch, "worker.log"))
                services.append(worker)
                self._wait_until_up(base_url, server)
                sender = load.HttpSender(base_url, self._sign_in(base_url, personas, server))
                runs = [
                    self._measure(plan, sender, rate, seconds, warmup, max_requests)
                    for rate in asked
                ]
                if worker.process.poll() is not None:
                    self.stderr.write(f"The Celery worker stopped during the run:\n{worker.tail()}")
            finally:
                for service in reversed(services):
                    service.stop()
            server_error = server.first_error()
        self.stdout.write("")
        self.stdout.write(load.report(runs))
        if server_error:
            self.stdout.write(f"\nThe first server error in gunicorn's log:\n{server_error}")
        waiting = redis.Redis.from_url(redis_url).llen("celery")
        self.stdout.write(
            f"\n{waiting:,} tasks (roll-ups) left in the Celery queue; "
            f"{time.perf_counter() - started:.0f} s in all."
        )

    def _collect_static(self, env: dict[str, str]) -> None:
        """DEBUG off serves the hashed files of collectstatic's manifest (WhiteNoise)."""
        collected = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if collected.returncode:
            raise CommandError(f"collectstatic failed:\n{collected.stderr[-2000:]}")

    def _wait_until_up(self, base_url: str, server: Service) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise CommandError(f"gunicorn exited:\n{server.tail()}")
            try:
                if requests.get(f"{base_url}/healthz/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass  # not listening yet
            time.sleep(0.2)
        raise CommandError(f"/healthz/ did not answer in {STARTUP_SECONDS} s:\n{server.tail()}")

    def _sign_in(
        self, base_url: str, personas: list[Persona], server: Service
    ) -> list[load.VirtualUser]:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=SIGN_IN_THREADS) as pool:
            try:
                users = list(
                    pool.map(
                        lambda persona: load.sign_in(base_url, persona.username, SEED_PASSWORD),
                        personas,
                    )
                )
            except (load.SignInFailed, requests.RequestException) as error:
                raise CommandError(f"Signing in failed: {error}\n{server.tail()}") from error
        self.stdout.write(f"{len(users)} people signed in in {time.perf_counter() - started:.1f} s")
        return users

    def _measure(
        self,
        plan: Plan,
        sender: load.HttpSender,
        rate: float,
        seconds: float,
        warmup: float,
        max_requests: int,
    ) -> load.Run:
        if warmup:
            due = load.schedule(rate, warmup, max_requests)
            load.run(plan.recipes(len(due)), due, sender, rate=rate)
        due = load.schedule(rate, seconds, max_requests)
        measured = load.run(plan.recipes(len(due)), due, sender, rate=rate)
        self.stdout.write(
            f"{load.format_rate(rate)}: {len(measured.results):,} requests in "
            f"{measured.elapsed:.1f} s, {len(measured.errors):,} errors"
        )
        return measured


def _rates(text: str) -> list[float]:
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        rates = []
    if not rates or min(rates) <= 0:
        raise CommandError(f"--rates: “{text}” is not a list of rates like 30,60.")
    return rates


def _redis_url() -> str:
    """REDIS_URL, once it answers: the site's cache and the worker's broker."""
    if connection.vendor != "postgresql":
        raise CommandError(
            "The load test runs on PostgreSQL: set DATABASE_URL=postgres://… (the database "
            "of seed_scale --tier L)."
        )
    if not settings.REDIS_URL:
        raise CommandError("The load test needs Redis: set REDIS_URL=redis://…")
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        raise CommandError(f"{settings.REDIS_URL} does not answer: {error}") from error
    return settings.REDIS_URL


def _personas(count: int) -> tuple[Cycle, list[Persona]]:
    """``count`` people of the generated organisation who own key results to check in,
    in the active cycle: a quarter of them leads, the rest members (three queries)."""
    cycle = Cycle.objects.filter(state=Cycle.State.ACTIVE).order_by("start_date").first()
    if cycle is None or not Team.objects.filter(parent=None, slug__startswith="scale-").exists():
        raise CommandError(
            "No generated organisation with an active cycle here: build one with "
            "`manage.py seed_scale --tier L` (make seed-scale TIER=L)."
        )
    to_check_in = KeyResult.objects.filter(
        objective__cycle=cycle,
        objective__archived_at__isnull=True,
        archived_at__isnull=True,
        progress_source=KeyResult.ProgressSource.CHECKINS,
    )
    memberships = (
        Membership.objects.filter(
            user__in=to_check_in.values("owner"),
            user__is_active=True,
            team__archived_at__isnull=True,
        )
        .order_by("user_id", "team_id")
        .values_list("user_id", "user__username", "team_id", "team__slug", "role", named=True)
    )
    by_person = {membership.user_id: membership for membership in memberships}  # one team each
    leads = [row for row in by_person.values() if row.role == Membership.Role.LEAD]
    members = [row for row in by_person.values() if row.role != Membership.Role.LEAD]
    rng = random.Random(count)  # noqa: S311 (the same people every run)
    chosen = rng.sample(leads, min(len(leads), max(count // LEADS_SHARE, 1)))
    chosen += rng.sample(members, min(len(members), count - len(chosen)))

    owned: dict[int, list[OwnedKeyResult]] = {}
    for pk, owner, kind, current, start, target in to_check_in.filter(
        owner__in=[row.user_id for row in chosen]
    ).values_list("pk", "owner", "kind", "current_value", "start_value", "target_value"):
        milestone = kind == KeyResult.Kind.MILESTONE
        owned.setdefault(owner, []).append(
            OwnedKeyResult(pk, milestone, current, (target - start) / 20)
        )
    objectives: dict[int, list[int]] = {}
    for pk, team in Objective.objects.filter(
        cycle=cycle, archived_at__isnull=True, team__in=[row.team_id for row in chosen]
    ).values_list("pk", "team"):
        objectives.setdefault(team, []).append(pk)
    personas = [
        Persona(
            username=row.user__username,
            user_id=row.user_id,
            team_id=row.team_id,
            team_slug=row.team__slug,
            objective_ids=tuple(objectives[row.team_id]),
            key_results=tuple(owned[row.user_id]),
        )
        for row in chosen
        if row.team_id in objectives
    ]
    if not personas:
        raise CommandError(f"Nobody owns a key result to check in in {cycle.name}.")
    return cycle, personas


def _database_url() -> str:
    """The database this command reads (in tests, the test database), for the site."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "localhost", safe="")
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def _environment(scratch: Path, base_url: str, redis_url: str) -> dict[str, str]:
    """The site's settings, as in production but for plain HTTP on the loopback."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "okr_site.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": base_url,
        # Plain HTTP on the loopback: no redirect to HTTPS, cookies sent without it.
        "SECURE_COOKIES": "false",
        "SSL_REDIRECT": "false",
        "STATIC_ROOT": str(scratch / "static"),
        "LOG_LEVEL": "WARNING",
    }


def _gunicorn(port: int, workers: int, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "okr_site.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--graceful-timeout",
        str(STOP_SECONDS - 5),
    ]


def _celery_worker(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "okr_site",
        "worker",
        "--pool=solo",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=WARNING",
        "-n",
        f"loadtest-{port}@%h",
    ]


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
