"""Nudges through a real Celery worker, the Redis of REDIS_URL and the PostgreSQL test
database: what the unit tests cannot show (ticks queued twice, a worker killed mid-send,
a batch handed out again by the broker).

Each test starts ``celery worker --pool=solo`` in a subprocess pointed at the test
database (rows are committed: ``transaction=True``), at REDIS_URL's database (flushed
first: give the tests a Redis database of their own, as ``make test`` does with /15), at
an SMTP server and a chat webhook that run in threads of this process. Waits are long,
for a loaded machine; nothing asserts how fast anything was.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import json
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
from urllib.parse import quote

import pytest
import redis
from aiosmtpd.controller import Controller
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from alignment.models import Membership, Team, User
from checkins.delivery import CLAIM_LOST
from checkins.models import Nudge
from goals.models import Cycle
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 90
BATCH_SIZE = 5
TICK = "checkins.tasks.nudge_tick"
DELIVER = "checkins.tasks.deliver_nudges"


def _free_port() -> int:
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
        self.controller = Controller(self, hostname="127.0.0.1", port=_free_port())

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


def _database_url() -> str:
    """The test database (not the one DATABASE_URL names), for the worker."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "localhost", safe="")
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, broker: Broker, log: Path, env: dict[str, str]) -> None:
        self.broker = broker
        self.log_path = log
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
        return f"Worker log ({self.log_path}):\n{self.log()[-4000:]}"

    def wait_ready(self) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"The worker exited with {self.process.returncode}.\n{self.explain()}")
            return bool(self.broker.app.control.ping(destination=[self.name], timeout=0.5))

        wait_until(answers, "the worker to answer a ping", explain=self.explain)

    def wait_idle(self) -> None:
        """Until nothing is queued or running, three looks in a row (a message is briefly
        in neither place between being popped and being recorded as unacknowledged)."""
        quiet = 0

        def settled() -> bool:
            nonlocal quiet
            if self.process.poll() is not None:
                pytest.fail(f"The worker exited with {self.process.returncode}.\n{self.explain()}")
            quiet = quiet + 1 if self.broker.waiting() == 0 else 0
            if quiet < 3:
                time.sleep(0.2)
            return quiet >= 3

        wait_until(settled, "the worker to finish its tasks", explain=self.explain)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=WAIT_SECONDS)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


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
                "DATABASE_URL": _database_url(),
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


# The organisation


@pytest.fixture
def cycle() -> Cycle:
    return factories.CycleFactory(state=Cycle.State.ACTIVE)


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


# The tests


def test_reminder_job_run_twice_sends_one_email_per_person(cycle, smtp, broker, start_worker):
    people = due_people(cycle)
    worker = start_worker(EMAIL_URL=smtp.url)

    broker.send(TICK)
    broker.send(TICK)
    worker.wait_idle()
    # And again: every row handed out once more (as a redelivered batch would be), then
    # a third tick.
    broker.send(DELIVER, list(Nudge.objects.values_list("pk", flat=True)))
    broker.send(TICK)
    worker.wait_idle()

    assert smtp.received == Counter({person.email: 1 for person in people})
    assert states() == {Nudge.State.SENT: len(people)}
    assert set(Nudge.objects.values_list("kind", flat=True)) == {Nudge.Kind.REMINDER}
    assert "raised unexpected" not in worker.log()


def test_worker_killed_mid_send_then_restarted_sends_the_rest_and_nothing_twice(
    cycle, broker, start_worker
):
    people = due_people(cycle)
    smtp = SmtpSink(hold_at=3)
    smtp.controller.start()
    claim_seconds = 3
    visibility_timeout = 1
    env = {
        "EMAIL_URL": smtp.url,
        "NUDGE_CLAIM_SECONDS": str(claim_seconds),
        # The next worker takes back at once the batch the killed one had not finished.
        "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
    }
    try:
        first = start_worker(**env)
        broker.send(TICK)
        wait_until(smtp.held.is_set, "the third e-mail to reach the server", explain=first.explain)
        first.kill()  # SIGKILL while it waits for the server to accept the third e-mail
        smtp.release.set()
        (in_flight,) = smtp.held_recipients
        assert Nudge.objects.get(recipient__email=in_flight).state == Nudge.State.SENDING

        broker.wait_visibility_timeout(visibility_timeout)
        second = start_worker(**env)
        second.wait_idle()  # the batches still queued, and the killed one again
        broker.send(TICK)
        second.wait_idle()
        # Once the claims of the killed worker are older than the claim time, a tick
        # gives up on their rows instead of sending them.
        claimed = Nudge.objects.filter(state=Nudge.State.SENDING).values_list(
            "claimed_at", flat=True
        )
        if claimed:
            time.sleep(max(0, (max(claimed) - timezone.now()).total_seconds() + claim_seconds + 1))
        broker.send(TICK)
        second.wait_idle()
    finally:
        smtp.release.set()
        smtp.controller.stop()

    assert max(smtp.received.values()) == 1, smtp.received
    assert set(smtp.received) <= {person.email for person in people}
    sent = set(
        Nudge.objects.filter(state=Nudge.State.SENT).values_list("recipient__email", flat=True)
    )
    abandoned = dict(
        Nudge.objects.filter(state=Nudge.State.ABANDONED).values_list(
            "recipient__email", "last_error"
        )
    )
    assert len(sent) + len(abandoned) == len(people)
    assert all(smtp.received[email] == 1 for email in sent)
    assert in_flight in abandoned
    assert set(abandoned.values()) == {CLAIM_LOST}
    # Only the e-mail in flight when the worker died is given up (it may or may not have
    # gone out, so it is not sent again); everyone else got exactly one.
    assert list(abandoned) == [in_flight]
    assert sent == {person.email for person in people} - {in_flight}
    assert "raised unexpected" not in second.log()


def test_team_chat_gets_the_reminder_and_the_digest_as_json(
    cycle, smtp, chat, broker, start_worker
):
    team = checkin_day_team(
        name="Platform",
        digest_weekday=timezone.localtime().weekday(),
        webhook_url=chat.url,
    )
    lead = factories.UserFactory(username="lead", first_name="Lena", last_name="Lead")
    factories.MembershipFactory(user=lead, team=team, role=Membership.Role.LEAD)
    by_email = person_with_a_due_key_result(team, cycle, "mia", first_name="Mia", last_name="Mail")
    in_chat = person_with_a_due_key_result(
        team,
        cycle,
        "chad",
        first_name="Chad",
        last_name="Chat",
        nudge_channel=User.NudgeChannel.CHAT,
    )
    worker = start_worker(EMAIL_URL=smtp.url)

    broker.send(TICK)
    worker.wait_idle()

    assert [post["path"] for post in chat.posts] == ["/hooks/team"] * 2
    assert {post["content_type"] for post in chat.posts} == {"application/json"}
    bodies = [json.loads(post["body"]) for post in chat.posts]
    assert all(list(body) == ["text"] for body in bodies)
    texts = sorted(body["text"] for body in bodies)
    reminder = next(text for text in texts if text.startswith("Check-in day for Platform."))
    assert "- Chad Chat: 1" in reminder
    assert "- Mia Mail: 1" in reminder
    digest = next(text for text in texts if text.startswith("Platform: what happened"))
    assert "Missing check-ins this week (2)" in digest
    # Chad is reminded in the chat only; Mia by e-mail too; the lead gets the digest.
    assert smtp.received == Counter({by_email.email: 1, lead.email: 1})
    assert states() == {Nudge.State.SENT: 4}
    assert in_chat.email not in smtp.received
