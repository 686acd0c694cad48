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

import json
import time
from collections import Counter

import pytest
from django.utils import timezone

from alignment.models import Membership, User
from checkins.delivery import CLAIM_LOST
from checkins.models import Nudge
from goals.models import Cycle
from tests import factories
from tests.processes import (
    DELIVER,
    TICK,
    SmtpSink,
    checkin_day_team,
    due_people,
    person_with_a_due_key_result,
    states,
    wait_until,
)

pytest_plugins = ["tests.processes"]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cycle() -> Cycle:
    return factories.CycleFactory(state=Cycle.State.ACTIVE)


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
