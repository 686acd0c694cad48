"""Real processes and the world around them, for the tests that start them: a Celery
worker, gunicorn, an SMTP server, a chat webhook, a TCP proxy that plays an outage of
PostgreSQL or Redis, and the organisation whose nudges those tests send.

Test modules load the fixtures with ``pytest_plugins = ["tests.processes"]``. Processes
use the test database (committed rows: ``transaction=True``) and REDIS_URL's database
(flushed first: give the tests a Redis database of their own, as ``make test`` does with
/15). Waits are long, for a loaded machine; nothing asserts how fast anything was.

PYTEST_DONT_REWRITE: test modules import it before pytest loads it as a plugin, and it
asserts nothing itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.server
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import redis
import requests
from aiosmtpd.controller import Controller
from celery import Celery
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from alignment.models import Team, User
from checkins.models import Nudge
from goals.models import Cycle
from tests import factories

WAIT_SECONDS = 90
BATCH_SIZE = 5
TICK = "checkins.tasks.nudge_tick"
DELIVER = "checkins.tasks.deliver_nudges"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], bool], what: str, *, explain: Callable[[], str]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Waited {WAIT_SECONDS} s for {what}.\n{explain()}")
        time.sleep(0.1)


# The outside world: a mail server and a chat service


class SmtpSink:
    """An SMTP server that counts messages per recipient. With ``hold_at=n`` it takes in
    the n-th message and then does not answer until ``release`` is set, so the sender
    is stuck mid-send for as long as a test needs."""

    def __init__(self, *, hold_at: int | None = None) -> None:
        self.received: Counter[str] = Counter()
        self.hold_at = hold_at
        self.held = threading.Event()
        self.release = threading.Event()
        self.held_recipients: list[str] = []
        self._lock = threading.Lock()
        self._count = 0
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per command
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            self._count += 1
            number = self._count
            self.received.update(envelope.rcpt_tos)
        if number == self.hold_at:
            self.held_recipients = list(envelope.rcpt_tos)
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"

    def total(self) -> int:
        with self._lock:
            return sum(self.received.values())


class ChatSink(http.server.ThreadingHTTPServer):
    """An incoming-webhook endpoint that keeps what is posted to it."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        super().__init__(("127.0.0.1", 0), _ChatHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/team"


class _ChatHandler(http.server.BaseHTTPRequestHandler):
    server: ChatSink

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append(
            {"path": self.path, "content_type": self.headers["Content-Type"], "body": body}
        )
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture
def chat() -> Iterator[ChatSink]:
    server = ChatSink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# An outage


class TcpProxy:
    """Forwards a port of 127.0.0.1 to a real server (PostgreSQL, Redis), so that a test
    can take that server away from its clients without stopping it for anyone else:
    ``stop`` cuts every connection and refuses new ones, as a server that went down;
    ``start`` opens the same port again, as the server back."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()

    def url(self, url: str) -> str:
        """``url`` (of the real server) with this proxy's address instead."""
        parts = urlsplit(url)
        auth = parts.netloc.rpartition("@")[0]
        return parts._replace(netloc=f"{auth + '@' if auth else ''}127.0.0.1:{self.port}").geturl()

    def start(self) -> None:
        # SO_REUSEADDR (set by create_server) lets the port be taken again at once.
        listener = socket.create_server(("127.0.0.1", self.port))
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            cut, self._open = self._open, set()
        if listener is not None:
            _close(listener)  # shutdown() also wakes the thread waiting in accept()
        for sock in cut:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # stopped meanwhile
                    _close(client)
                    _close(upstream)
                    return
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        _close(source)
        _close(sink)
        with self._lock:
            self._open -= {source, sink}


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture
def proxy() -> Iterator[Callable[[str], TcpProxy]]:
    """``proxy(url)`` starts a proxy to the server of ``url``; stopped at the end."""
    proxies: list[TcpProxy] = []

    def start(url: str) -> TcpProxy:
        parts = urlsplit(url)
        started = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 0)
        started.start()
        proxies.append(started)
        return started

    yield start
    for started in proxies:
        started.stop()


# Redis and the worker


class Broker:
    """The worker's Redis database, and a Celery client that queues tasks by name (this
    process runs tasks eagerly; a task sent by name always goes to the broker)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.redis = redis.Redis.from_url(url, socket_connect_timeout=3)
        self.app = Celery("waymark-worker-tests", broker=url, set_as_current=False)
        self.app.conf.update(task_serializer="json", accept_content=["json"])

    def send(self, name: str, *args) -> None:
        self.app.send_task(name, args=args)

    def waiting(self) -> int:
        """Messages queued or taken and not yet acknowledged (the tasks acknowledge late,
        so a task being run is still in ``unacked``)."""
        queued = sum(
            self.redis.llen(key)
            for key in self.redis.scan_iter("celery*")
            if self.redis.type(key) == b"list"
        )
        return queued + self.redis.hlen("unacked")

    def wait_visibility_timeout(self, seconds: float) -> None:
        """Until every unacknowledged message is older than ``seconds``: a worker that
        starts then takes them back (kombu looks once at start, then rarely)."""
        taken = [score for _, score in self.redis.zrange("unacked_index", 0, -1, withscores=True)]
        if taken:
            time.sleep(max(0.0, max(taken) + seconds + 0.5 - time.time()))

    def close(self) -> None:
        self.app.close()
        self.redis.close()


@pytest.fixture
def broker() -> Iterator[Broker]:
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL=redis://…")
    broker = Broker(settings.REDIS_URL)
    try:
        broker.redis.ping()
    except redis.RedisError as error:
        pytest.skip(f"needs Redis: {settings.REDIS_URL} does not answer ({error})")
    broker.redis.flushdb()
    yield broker
    broker.close()


def database_url() -> str:
    """The test database (not the one DATABASE_URL names), for another process."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "localhost", safe="")
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


class _Process:
    """A process of ours, its output in a file, in a session of its own so that
    stopping it reaches its children (gunicorn's workers) too."""

    def __init__(self, command: list[str], log: Path, env: dict[str, str]) -> None:
        self.log_path = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 (our own command line)
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def explain(self) -> str:
        return f"Log ({self.log_path}):\n{self.log()[-4000:]}"

    def check_running(self) -> None:
        if self.process.poll() is not None:
            status = self.process.returncode
            pytest.fail(f"{self.log_path.stem} exited with {status}.\n{self.explain()}")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=WAIT_SECONDS)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class Worker(_Process):
    def __init__(self, broker: Broker, log: Path, env: dict[str, str]) -> None:
        self.broker = broker
        self.name = f"waymark-test-{uuid.uuid4().hex[:8]}@localhost"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "okr_site",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            "celery",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            "-n",
            self.name,
        ]
        super().__init__(command, log, env)

    def wait_ready(self) -> None:
        def answers() -> bool:
            self.check_running()
            return bool(self.broker.app.control.ping(destination=[self.name], timeout=0.5))

        wait_until(answers, "the worker to answer a ping", explain=self.explain)

    def wait_idle(self) -> None:
        """Until nothing is queued or running, three looks in a row (a message is briefly
        in neither place between being popped and being recorded as unacknowledged)."""
        quiet = 0

        def settled() -> bool:
            nonlocal quiet
            self.check_running()
            quiet = quiet + 1 if self.broker.waiting() == 0 else 0
            if quiet < 3:
                time.sleep(0.2)
            return quiet >= 3

        wait_until(settled, "the worker to finish its tasks", explain=self.explain)


@pytest.fixture
def start_worker(transactional_db, broker, tmp_path) -> Iterator[Callable[..., Worker]]:
    """``start_worker(EMAIL_URL=..., **more_env)`` starts a worker and waits until it
    answers; every worker is stopped before the test database is emptied."""
    workers: list[Worker] = []

    def start(**env: str) -> Worker:
        worker = Worker(
            broker,
            tmp_path / f"worker-{len(workers) + 1}.log",
            {
                **os.environ,
                "DATABASE_URL": database_url(),
                "REDIS_URL": broker.url,
                "NUDGE_BATCH_SIZE": str(BATCH_SIZE),
                "LOG_LEVEL": "WARNING",
                **env,
            },
        )
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.stop()


# The site under gunicorn


class WebServer(_Process):
    """gunicorn serving the site on 127.0.0.1 with sync workers, as deployed (DEBUG as
    the tests have it, so that static files need no collectstatic)."""

    def __init__(self, log: Path, env: dict[str, str], *, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "okr_site.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "--access-logfile",
            "-",
        ]
        super().__init__(command, log, env)

    def wait_ready(self) -> None:
        def answers() -> bool:
            self.check_running()
            try:
                return requests.get(f"{self.url}/healthz/", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answers, "gunicorn to answer /healthz/", explain=self.explain)

    def worker_pids(self) -> set[int]:
        """gunicorn's worker processes: a worker that died and was replaced shows as a
        new pid."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    def session_for(self, user: User) -> requests.Session:
        """An HTTP session signed in as ``user`` (a session row in the test database)."""
        client = Client()
        client.force_login(user)
        session = requests.Session()
        name = settings.SESSION_COOKIE_NAME
        session.cookies.set(name, client.cookies[name].value)
        return session


@pytest.fixture
def start_web(transactional_db, tmp_path) -> Iterator[Callable[..., WebServer]]:
    """``start_web(workers=2, **env)`` starts gunicorn on the test database and waits
    until it answers; it is stopped before the test database is emptied."""
    servers: list[WebServer] = []

    def start(*, workers: int = 2, **env: str) -> WebServer:
        server = WebServer(
            tmp_path / f"gunicorn-{len(servers) + 1}.log",
            {**os.environ, "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING", **env},
            workers=workers,
        )
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


# The organisation


def checkin_day_team(**fields) -> Team:
    """A team whose check-in moment has come: today, from midnight on."""
    today = timezone.localtime().weekday()
    fields.setdefault("digest_weekday", (today + 3) % 7)
    return factories.TeamFactory(checkin_weekday=today, checkin_hour=0, **fields)


def person_with_a_due_key_result(team: Team, cycle: Cycle, username: str, **fields) -> User:
    """A member of ``team`` owning a key result last checked in 8 days ago: due a
    reminder (6+ days), not yet stale (14+)."""
    person = factories.UserFactory(username=username, **fields)
    factories.MembershipFactory(user=person, team=team)
    objective = factories.ObjectiveFactory(team=team, cycle=cycle, owner=person)
    factories.KeyResultFactory(
        objective=objective,
        owner=person,
        last_checkin_at=timezone.now() - dt.timedelta(days=8),
    )
    return person


def due_people(cycle: Cycle, count: int = 20) -> list[User]:
    team = checkin_day_team()
    return [person_with_a_due_key_result(team, cycle, f"due-{n:02d}") for n in range(count)]


def states() -> Counter[str]:
    return Counter(Nudge.objects.values_list("state", flat=True))
