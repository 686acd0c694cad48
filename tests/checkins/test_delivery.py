"""Delivering nudges: e-mail through Django's mail framework, chat through a real local
HTTP server; each row sent at most once, retried with backoff, or given up on.

Rows are planned at a fixed Monday; delivery runs at ``now``, a moment captured after
planning (a row is due from when it was written), and later moments are ``now`` plus
a delay, never a sleep.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import smtplib
import socket
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alignment.models import Membership, Team, User
from checkins import delivery, links, planning, tasks, transports
from checkins.delivery import CLAIM_LOST, DeliveryCounts
from checkins.models import Nudge
from goals.models import KeyResult
from tests import factories

MONDAY = timezone.make_aware(dt.datetime(2026, 11, 23, 9, 0))  # noqa: DTZ001
MINUTE = dt.timedelta(minutes=1)


class ScriptedBackend(EmailBackend):
    """The locmem backend, failing first as scripted: ``open_errors`` when a connection
    opens, ``send_errors`` one per message sent."""

    open_errors: list[Exception] = []
    send_errors: list[Exception] = []

    def open(self):
        if self.open_errors:
            raise self.open_errors.pop(0)
        return super().open()

    def send_messages(self, messages):
        if self.send_errors:
            raise self.send_errors.pop(0)
        return super().send_messages(messages)


@pytest.fixture
def scripted_mail(settings) -> type[ScriptedBackend]:
    settings.EMAIL_BACKEND = f"{__name__}.ScriptedBackend"
    ScriptedBackend.open_errors = []
    ScriptedBackend.send_errors = []
    return ScriptedBackend


class ChatServer(ThreadingHTTPServer):
    """Records each POST; answers with the next of ``statuses`` (200 when none left)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ChatHandler)
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.redirect_to = ""  # a Location sent with each answer, when set
        self.gets: list[str] = []
        self.hosts: list[str] = []  # the Host header of each POST

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/product"


class ChatHandler(BaseHTTPRequestHandler):
    server: ChatServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.hosts.append(self.headers["Host"])
        self.server.requests.append(
            {
                "path": self.path,
                "content_type": self.headers["Content-Type"],
                "json": json.loads(body),
            }
        )
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        if self.server.redirect_to:
            self.send_header("Location", self.server.redirect_to)
        self.end_headers()
        self.wfile.write(b"ok")

    def do_GET(self) -> None:
        self.server.gets.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format, *args) -> None:  # quiet in test output
        pass


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def due_key_result(org, title: str, *, owner=None, days: int = 8) -> KeyResult:
    owner = owner or org.owner
    kr = factories.KeyResultFactory(
        objective=factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=owner),
        owner=owner,
        title=title,
    )
    KeyResult.objects.filter(pk=kr.pk).update(last_checkin_at=MONDAY - dt.timedelta(days=days))
    return kr


@pytest.fixture
def reminder(org) -> Nudge:
    """The owner's reminder for week 48, planned and not yet sent."""
    due_key_result(org, "Activation from 20% to 60%")
    due_key_result(org, "Retention from 30% to 45%")
    planning.plan_due(MONDAY)
    return Nudge.objects.get(kind=Nudge.Kind.REMINDER, recipient=org.owner)


@pytest.fixture
def now(reminder) -> dt.datetime:
    return timezone.now()


def send_due(at: dt.datetime) -> DeliveryCounts:
    return delivery.deliver(delivery.due_ids(at), now=at)


def state_of(nudge: Nudge) -> tuple:
    nudge.refresh_from_db()
    return nudge.state, nudge.attempts, nudge.last_error


# E-mail


def test_reminder_email_carries_its_signed_check_in_and_preferences_links(org, reminder, now):
    counts = send_due(now)

    assert counts == DeliveryCounts(sent=1)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@example.org"]
    assert message.subject == "Check-in day: 2 key results to update"
    assert "- Activation from 20% to 60% (" in message.body

    token = re.search(r'/check-in/link/#([^\s"<]+)', message.body).group(1)
    grant = links.read_checkin_token(token)
    assert (grant.user_id, grant.period) == (org.owner.pk, "2026-W48")
    assert grant.key_result_ids == tuple(
        sorted(KeyResult.objects.filter(owner=org.owner).values_list("pk", flat=True))
    )
    preferences = re.search(r'/settings/reminders/link/#([^\s"<]+)', message.body).group(1)
    assert links.read_preferences_token(preferences) == org.owner.pk

    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert token in html and preferences in html

    reminder.refresh_from_db()
    assert (reminder.state, reminder.attempts, reminder.sent_at) == (Nudge.State.SENT, 1, now)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"nudge_channel": User.NudgeChannel.PAUSED}, "This person paused their reminders."),
        ({"is_active": False}, "This person's account is deactivated."),
        ({"email": ""}, "This person has no e-mail address."),
    ],
)
def test_a_person_who_changed_after_planning_is_not_sent_to(org, reminder, now, change, reason):
    User.objects.filter(pk=org.owner.pk).update(**change)

    assert send_due(now) == DeliveryCounts(abandoned=1)

    assert mail.outbox == []
    assert state_of(reminder) == (Nudge.State.ABANDONED, 1, reason)
    assert send_due(now + dt.timedelta(hours=3)) == DeliveryCounts()


def test_smtp_trouble_is_retried_later_then_sent(org, reminder, now, scripted_mail):
    scripted_mail.send_errors = [smtplib.SMTPServerDisconnected("Connection unexpectedly closed")]

    assert send_due(now) == DeliveryCounts(failed=1)
    assert state_of(reminder) == (
        Nudge.State.FAILED,
        1,
        "Sending failed: Connection unexpectedly closed",
    )
    assert reminder.next_attempt_at == now + 5 * MINUTE
    assert mail.outbox == []

    assert delivery.due_ids(now + 4 * MINUTE) == []
    assert delivery.deliver([reminder.pk], now=now + 4 * MINUTE) == DeliveryCounts()

    assert send_due(now + 5 * MINUTE) == DeliveryCounts(sent=1)
    assert state_of(reminder) == (Nudge.State.SENT, 2, "")
    assert [message.to for message in mail.outbox] == [["owner@example.org"]]


def test_a_mail_server_out_of_reach_fails_the_whole_batch_for_later(
    org, reminder, now, scripted_mail
):
    due_key_result(org, "Close ten pilots", owner=org.teammate)
    planning.plan_due(MONDAY + 10 * MINUTE)
    scripted_mail.open_errors = [ConnectionRefusedError("Connection refused")]

    assert send_due(now + MINUTE) == DeliveryCounts(failed=2)

    rows = Nudge.objects.order_by("recipient__username")
    assert [(n.recipient.username, n.state, n.attempts) for n in rows] == [
        ("owner", Nudge.State.FAILED, 1),
        ("teammate", Nudge.State.FAILED, 1),
    ]
    assert {n.last_error for n in rows} == {"Could not reach the mail server: Connection refused"}
    assert send_due(now + 6 * MINUTE) == DeliveryCounts(sent=2)


def test_retries_back_off_then_give_up_after_the_last_attempt(
    reminder, now, scripted_mail, settings
):
    assert settings.WAYMARK["NUDGE_MAX_ATTEMPTS"] == 6
    scripted_mail.send_errors = [smtplib.SMTPDataError(451, b"Try later") for _ in range(6)]

    at, delays = now, []
    for _ in range(5):
        assert send_due(at) == DeliveryCounts(failed=1)
        reminder.refresh_from_db()
        delays.append((reminder.next_attempt_at - at) // MINUTE)
        at = reminder.next_attempt_at
    assert delays == [5, 10, 20, 40, 80]

    assert send_due(at) == DeliveryCounts(abandoned=1)
    assert state_of(reminder) == (Nudge.State.ABANDONED, 6, "Sending failed: (451, b'Try later')")
    assert send_due(at + dt.timedelta(days=1)) == DeliveryCounts()
    assert mail.outbox == []


def test_a_refused_address_is_given_up_at_once(reminder, now, scripted_mail):
    scripted_mail.send_errors = [
        smtplib.SMTPRecipientsRefused({"owner@example.org": (550, b"No such user")})
    ]

    assert send_due(now) == DeliveryCounts(abandoned=1)

    assert state_of(reminder) == (
        Nudge.State.ABANDONED,
        1,
        "The mail server refused owner@example.org.",
    )
    assert send_due(now + dt.timedelta(hours=3)) == DeliveryCounts()


# Chat webhook


@pytest.fixture
def chat_reminder(org, chat_server) -> Nudge:
    """Product's chat reminder for week 48 (the owner's e-mail is planned too)."""
    Team.objects.filter(pk=org.product.pk).update(webhook_url=chat_server.url)
    due_key_result(org, "Activation from 20% to 60%")
    planning.plan_due(MONDAY)
    return Nudge.objects.get(kind=Nudge.Kind.REMINDER, team=org.product)


def test_team_chat_gets_a_json_text_post(org, chat_reminder, chat_server):
    at = timezone.now()

    assert send_due(at) == DeliveryCounts(sent=2)

    assert chat_server.requests == [
        {
            "path": "/hooks/product",
            "content_type": "application/json",
            "json": {"text": chat_reminder.body},
        }
    ]
    assert chat_reminder.body.startswith("Check-in day for Product.")
    assert state_of(chat_reminder) == (Nudge.State.SENT, 1, "")


def test_names_reach_the_chat_as_words_not_commands(org, chat_server):
    Team.objects.filter(pk=org.product.pk).update(
        name="<!channel> R&D", webhook_url=chat_server.url
    )
    due_key_result(org, "Ship <https://evil.example|the fix> & more")
    planning.plan_due(MONDAY)

    send_due(timezone.now())

    text = chat_server.requests[0]["json"]["text"]
    assert "&lt;!channel&gt; R&amp;D" in text
    assert "<" not in text and ">" not in text


def test_a_chat_service_error_is_retried(org, chat_reminder, chat_server):
    at = timezone.now()
    chat_server.statuses = [500]

    assert send_due(at) == DeliveryCounts(sent=1, failed=1)
    assert state_of(chat_reminder) == (
        Nudge.State.FAILED,
        1,
        "The chat service answered 500 Internal Server Error.",
    )
    assert chat_reminder.next_attempt_at == at + 5 * MINUTE
    org.product.refresh_from_db()
    assert org.product.webhook_failed_at is None

    assert send_due(at + 5 * MINUTE) == DeliveryCounts(sent=1)
    assert state_of(chat_reminder) == (Nudge.State.SENT, 2, "")
    assert len(chat_server.requests) == 2


def test_a_chat_service_that_is_unreachable_is_retried(org, chat_reminder, chat_server):
    Team.objects.filter(pk=org.product.pk).update(webhook_url="http://127.0.0.1:9/hooks/gone")

    send_due(timezone.now())

    state, attempts, error = state_of(chat_reminder)
    assert (state, attempts) == (Nudge.State.FAILED, 1)
    assert error.startswith("Could not reach the chat service: ")


def test_a_webhook_gone_for_good_is_switched_off_and_the_leads_are_told(
    org, chat_reminder, chat_server
):
    second_lead = factories.UserFactory(username="lead2", first_name="Lou")
    Membership.objects.create(user=second_lead, team=org.product, role=Membership.Role.LEAD)
    at = timezone.now()
    chat_server.statuses = [404]

    assert send_due(at) == DeliveryCounts(sent=1, abandoned=1)

    assert state_of(chat_reminder) == (
        Nudge.State.ABANDONED,
        1,
        "The chat service answered 404 Not Found.",
    )
    org.product.refresh_from_db()
    assert org.product.webhook_failed_at == at
    assert org.product.webhook_error == "The chat service answered 404 Not Found."
    alerts = Nudge.objects.filter(kind=Nudge.Kind.WEBHOOK_ALERT).order_by("recipient__username")
    assert [(n.recipient.username, n.scope, n.state) for n in alerts] == [
        ("lead", f"team:{org.product.pk}", Nudge.State.PENDING),
        ("lead2", f"team:{org.product.pk}", Nudge.State.PENDING),
    ]
    assert alerts[0].subject == "Product: the chat webhook is failing"
    assert "The chat service answered 404 Not Found." in alerts[0].body

    mail.outbox.clear()
    assert send_due(at + MINUTE) == DeliveryCounts(sent=2)
    assert sorted(message.to[0] for message in mail.outbox) == [
        "lead2@example.org",
        "lead@example.org",
    ]
    assert len(chat_server.requests) == 1


def test_a_chat_message_to_a_switched_off_webhook_is_not_posted(org, chat_reminder, chat_server):
    Team.objects.filter(pk=org.product.pk).update(webhook_failed_at=MONDAY)

    send_due(timezone.now())

    assert state_of(chat_reminder) == (
        Nudge.State.ABANDONED,
        1,
        "The team's chat webhook is switched off or failing.",
    )
    assert chat_server.requests == []


@pytest.fixture
def public_addresses_only(settings):
    settings.WAYMARK = {**settings.WAYMARK, "WEBHOOK_PRIVATE_ADDRESSES": False}


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:{port}/hooks/product",  # the chat stub itself: loopback
        "http://localhost:{port}/hooks/product",
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "http://10.0.0.7/hooks",
        "http://[::1]:{port}/hooks",
    ],
)
def test_a_webhook_inside_the_network_is_refused_and_switched_off(
    org, chat_reminder, chat_server, public_addresses_only, address
):
    port = chat_server.url.split(":")[2].split("/")[0]
    Team.objects.filter(pk=org.product.pk).update(webhook_url=address.format(port=port))

    assert send_due(timezone.now()) == DeliveryCounts(sent=1, abandoned=1)

    state, attempts, error = state_of(chat_reminder)
    assert (state, attempts) == (Nudge.State.ABANDONED, 1)
    assert error.startswith("The webhook address points inside the network (")
    assert chat_server.requests == []
    org.product.refresh_from_db()
    assert org.product.webhook_failed_at is not None  # and the leads are told why


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_webhook_that_redirects_is_not_followed_and_is_switched_off(
    org, chat_reminder, chat_server, status
):
    """A public address that redirects inside the network must not get the worker past
    the address check: the redirect is not followed."""
    chat_server.statuses = [status]
    chat_server.redirect_to = chat_server.url.replace("/hooks/product", "/latest/meta-data/")

    assert send_due(timezone.now()) == DeliveryCounts(sent=1, abandoned=1)

    assert chat_server.gets == []
    assert len(chat_server.requests) == 1  # the webhook itself, nothing after it
    state, _attempts, error = state_of(chat_reminder)
    assert state == Nudge.State.ABANDONED
    assert f"answered {status}" in error
    assert "not where it redirects" in error


def test_a_webhook_on_a_public_address_passes_the_check(public_addresses_only):
    transports.refuse_addresses_inside_the_network("https://93.184.216.34/hooks/product")


@pytest.mark.parametrize(("scheme", "port"), [("https", 443), ("http", 80)])
def test_the_post_goes_to_the_address_that_was_checked(
    public_addresses_only, monkeypatch, scheme, port
):
    """DNS rebinding: the name answers a public address to the check, then a loopback
    one. The connection goes to the address checked, never to a second look-up."""
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])

    def resolve(host, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), 0))]

    connected = []

    def connect(address, *args, **kwargs):
        connected.append(address)
        raise OSError("no network in tests")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.setattr(urllib.request, "getproxies", dict)

    with pytest.raises(transports.TransientError, match="no network in tests"):
        transports.post_webhook(f"{scheme}://chat.example.org/hooks/product", "Hello")

    assert connected == [("93.184.216.34", port)]


def test_a_pinned_post_names_the_host_it_does_not_look_up(chat_server):
    port = chat_server.server_address[1]
    request = urllib.request.Request(  # chat.invalid never resolves: no look-up happens
        f"http://chat.invalid:{port}/hooks/product", data=b'{"text": "Hi"}', method="POST"
    )
    request.add_header("Content-Type", "application/json")

    with transports._pinned_opener("127.0.0.1").open(request, timeout=5) as response:
        assert response.status == 200

    assert chat_server.hosts == [f"chat.invalid:{port}"]
    assert chat_server.requests[0]["json"] == {"text": "Hi"}


def test_behind_a_proxy_the_proxy_looks_the_name_up(public_addresses_only, monkeypatch):
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("93.184.216.34", 0))]
    )
    monkeypatch.setattr(
        urllib.request, "getproxies", lambda: {"https": "http://proxy.example.org:3128"}
    )
    monkeypatch.setattr(urllib.request, "proxy_bypass", lambda host: False)

    opener = transports._opener("https://chat.example.org/hooks", "93.184.216.34")

    assert opener is transports._WEBHOOK_OPENER


def test_a_webhook_host_that_does_not_resolve_is_retried(public_addresses_only):
    with pytest.raises(transports.TransientError, match="Could not find the chat service"):
        transports.refuse_addresses_inside_the_network("https://chat.invalid/hooks")


# Claims: never twice


def test_delivering_the_same_rows_twice_sends_once(reminder, now):
    ids = delivery.due_ids(now)

    assert delivery.deliver(ids, now=now) == DeliveryCounts(sent=1)
    assert delivery.deliver(ids, now=now) == DeliveryCounts()
    assert delivery.deliver(ids, now=now + dt.timedelta(days=1)) == DeliveryCounts()

    assert len(mail.outbox) == 1


def test_rows_claimed_by_another_worker_are_left_to_it(reminder, now):
    ids = delivery.due_ids(now)
    other_workers_copy = Nudge.objects.get(pk=reminder.pk)

    assert delivery.take(other_workers_copy, now=now)
    assert not delivery.take(Nudge.objects.get(pk=reminder.pk), now=now)
    assert delivery.deliver(ids, now=now) == DeliveryCounts()
    assert mail.outbox == []


def test_a_row_stuck_sending_past_its_claim_is_abandoned_never_resent(reminder, now, settings):
    lease = dt.timedelta(seconds=settings.WAYMARK["NUDGE_CLAIM_SECONDS"])
    delivery.take(Nudge.objects.get(pk=reminder.pk), now=now)  # a worker that then died

    assert delivery.due_ids(now + lease - MINUTE) == []
    assert state_of(reminder)[0] == Nudge.State.SENDING

    assert delivery.due_ids(now + lease + MINUTE) == []
    assert state_of(reminder) == (Nudge.State.ABANDONED, 1, CLAIM_LOST)
    assert delivery.deliver([reminder.pk], now=now + 2 * lease) == DeliveryCounts()
    assert mail.outbox == []


def _batch(org, people: int, chat_server: ChatServer) -> list[int]:
    """``people`` reminder e-mails and one chat message, pending."""
    Team.objects.filter(pk=org.product.pk).update(webhook_url=chat_server.url)
    users = factories.UserFactory.create_batch(people)
    rows = [
        Nudge(
            recipient=user,
            kind=Nudge.Kind.REMINDER,
            period="2026-W48",
            subject="Check-in day",
            body="Hello",
        )
        for user in users
    ]
    rows.append(
        Nudge(
            team=org.product,
            kind=Nudge.Kind.DIGEST,
            period=f"2026-W{people}",
            channel=Nudge.Channel.WEBHOOK,
            subject="Digest",
            body="Hello team",
        )
    )
    Nudge.objects.bulk_create(rows)
    return list(Nudge.objects.filter(state=Nudge.State.PENDING).values_list("pk", flat=True))


def test_delivering_a_batch_costs_one_query_plus_two_per_nudge(org, chat_server):
    at = timezone.now() + MINUTE
    few_ids = _batch(org, 3, chat_server)
    with CaptureQueriesContext(connection) as few:
        assert delivery.deliver(few_ids, now=at) == DeliveryCounts(sent=4)

    many_ids = _batch(org, 60, chat_server)
    with CaptureQueriesContext(connection) as many:
        assert delivery.deliver(many_ids, now=at) == DeliveryCounts(sent=61)

    # Load the batch, then take and record each row right around its own send: a
    # worker killed mid-batch leaves one row in doubt, not the whole batch.
    assert len(few) == 1 + 2 * 4, "\n".join(q["sql"] for q in few.captured_queries)
    assert len(many) == 1 + 2 * 61, "\n".join(q["sql"] for q in many.captured_queries)
    assert len(mail.outbox) == 63
    assert Nudge.objects.filter(state=Nudge.State.SENT, sent_at=at).count() == 65


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_the_same_rows_at_once_send_each_once():
    users = factories.UserFactory.create_batch(20)
    Nudge.objects.bulk_create(
        Nudge(recipient=user, kind=Nudge.Kind.REMINDER, period="2026-W48", subject="Hi")
        for user in users
    )
    ids = list(Nudge.objects.values_list("pk", flat=True))
    barrier = threading.Barrier(2)
    results: list[DeliveryCounts] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(delivery.deliver(ids))
        except BaseException as error:  # reported to the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(result.sent for result in results) == 20
    assert sorted(message.to[0] for message in mail.outbox) == sorted(u.email for u in users)
    assert Nudge.objects.filter(state=Nudge.State.SENT).count() == 20


# The tasks


def test_run_nudges_plans_then_sends_and_a_second_run_sends_nothing(org):
    due_key_result(org, "Activation from 20% to 60%")

    first = tasks.run_nudges(plan_at=MONDAY)
    second = tasks.run_nudges(plan_at=MONDAY + 5 * MINUTE)

    assert first == {
        "reminders": 1,
        "escalations": 0,
        "digests": 0,
        "team_messages": 0,
        "batches": 1,
    }
    assert second == {**first, "reminders": 0, "batches": 0}
    assert [message.to for message in mail.outbox] == [["owner@example.org"]]


def test_dispatch_hands_out_batches_of_the_configured_size(org, settings):
    settings.WAYMARK = {**settings.WAYMARK, "NUDGE_BATCH_SIZE": 2}
    users = factories.UserFactory.create_batch(5)
    Nudge.objects.bulk_create(
        Nudge(recipient=user, kind=Nudge.Kind.REMINDER, period="2026-W48", subject="Hi")
        for user in users
    )

    assert tasks.dispatch(timezone.now()) == 3

    assert len(mail.outbox) == 5
    assert not Nudge.objects.exclude(state=Nudge.State.SENT).exists()
