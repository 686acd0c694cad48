"""The nudge log in the admin: every nudge shown read-only in a fixed number of queries,
"Retry now" for failed rows, and "Run due nudges now" for those allowed to send."""

from __future__ import annotations

import datetime as dt

import pytest
from celery import current_app
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from kombu.exceptions import OperationalError as BrokerUnavailable

from alignment.models import Team
from checkins import planning, tasks
from checkins.models import Nudge
from goals.models import KeyResult
from tests import factories

CHANGELIST = "admin:checkins_nudge_changelist"
RUN_NOW = "admin:checkins_nudge_run_now"


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def staff(username: str, *permissions: str):
    user = factories.UserFactory(username=username, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="checkins", codename__in=permissions)
    )
    return user


def add_nudges(org, count: int) -> None:
    """``count`` nudges of every kind, state and channel, to distinct people and teams."""
    states = list(Nudge.State)
    kinds = list(Nudge.Kind)
    rows = []
    for n in range(count):
        state = states[n % len(states)]
        common = {
            "kind": kinds[n % len(kinds)],
            "period": f"2026-W{n % 52 + 1:02d}",
            "state": state,
            "subject": f"Subject {n}",
            "body": f"Body {n}",
            "attempts": 1 if state != Nudge.State.PENDING else 0,
            "last_error": "Sending failed: timeout" if state == Nudge.State.FAILED else "",
        }
        if n % 3 == 0:
            team = factories.TeamFactory(parent=org.company)
            rows.append(Nudge(team=team, channel=Nudge.Channel.WEBHOOK, **common))
        else:
            rows.append(Nudge(recipient=factories.UserFactory(), scope=f"n{n}", **common))
    Nudge.objects.bulk_create(rows)


@pytest.fixture
def as_admin(org, login):
    return login(org.admin)


@pytest.fixture
def due_now(org) -> dt.datetime:
    """Product's check-in moment is now, and the owner has a key result due."""
    now = timezone.now()
    today = timezone.localtime(now).weekday()
    Team.objects.filter(pk=org.product.pk).update(
        checkin_weekday=today, checkin_hour=0, digest_weekday=(today + 3) % 7
    )
    Team.objects.exclude(pk=org.product.pk).update(
        checkin_weekday=(today + 1) % 7, digest_weekday=(today + 1) % 7
    )
    kr = factories.KeyResultFactory(
        objective=factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner),
        title="Activation from 20% to 60%",
    )
    KeyResult.objects.filter(pk=kr.pk).update(last_checkin_at=now - dt.timedelta(days=8))
    return now


# The log


def test_changelist_shows_every_nudge_in_the_same_queries_for_3_or_30(org, as_admin):
    url = reverse(CHANGELIST)
    counts = []
    for rows in (3, 27):  # 3 nudges, then 30
        add_nudges(org, rows)
        with CaptureQueriesContext(connection) as queries:
            response = as_admin.get(url)
        assert response.status_code == 200
        counts.append(queries)
    few, many = counts

    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)
    assert len(many) <= 10
    assert response.context["cl"].result_count == 30
    page = response.content.decode()
    assert page.count('class="nudge-state nudge-state-failed"') == 5
    assert "Failed (will retry), next try" in page
    assert "Sending failed: timeout" in page
    assert "(team chat)" in page


def test_changelist_names_person_and_team_and_filters(org, as_admin):
    Nudge.objects.create(
        recipient=org.owner,
        kind=Nudge.Kind.REMINDER,
        period="2026-W48",
        subject="Check-in day: 2 key results to update",
        state=Nudge.State.SENT,
    )
    Nudge.objects.create(
        team=org.product,
        channel=Nudge.Channel.WEBHOOK,
        kind=Nudge.Kind.DIGEST,
        period="2026-W47",
        subject="Product: your week in goals",
        state=Nudge.State.ABANDONED,
        last_error="The chat service answered 404 Not Found.",
    )
    url = reverse(CHANGELIST)

    page = as_admin.get(url).content.decode()
    assert '<span title="owner@example.org">Olu Owner</span>' in page
    assert "Product (team chat)" in page
    assert "The chat service answered 404 Not Found." in page
    assert "Run due nudges now" in page

    def subjects(query: dict) -> list[str]:
        response = as_admin.get(url, query)
        return [nudge.subject for nudge in response.context["cl"].result_list]

    assert subjects({"state": "abandoned"}) == ["Product: your week in goals"]
    assert subjects({"kind": "reminder"}) == ["Check-in day: 2 key results to update"]
    assert subjects({"channel": "webhook"}) == ["Product: your week in goals"]
    assert subjects({"period": "2026-W48"}) == ["Check-in day: 2 key results to update"]
    assert subjects({"q": "owner@example.org"}) == ["Check-in day: 2 key results to update"]
    assert subjects({"q": "Product"}) == ["Product: your week in goals"]


def test_change_page_shows_the_whole_message_read_only(org, as_admin, due_now):
    planning.plan_due(due_now)
    nudge = Nudge.objects.get(kind=Nudge.Kind.REMINDER)

    with CaptureQueriesContext(connection) as queries:
        response = as_admin.get(reverse("admin:checkins_nudge_change", args=[nudge.pk]))

    assert response.status_code == 200
    assert len(queries) <= 8, "\n".join(q["sql"] for q in queries.captured_queries)
    page = response.content.decode()
    assert "<textarea" not in page
    assert 'name="_save"' not in page
    assert "Olu Owner &lt;owner@example.org&gt;" in page
    for line in nudge.body.strip().splitlines():
        assert escape(line) in page
    assert f'srcdoc="{escape(nudge.html_body)}"' in page
    assert "<iframe sandbox" in page


def test_the_log_cannot_be_added_to_changed_or_deleted(org, as_admin):
    add_nudges(org, 1)
    nudge = Nudge.objects.get()
    change = reverse("admin:checkins_nudge_change", args=[nudge.pk])

    assert as_admin.get(reverse("admin:checkins_nudge_add")).status_code == 403
    assert as_admin.post(change, {"subject": "Edited"}).status_code == 403
    assert as_admin.get(reverse("admin:checkins_nudge_delete", args=[nudge.pk])).status_code == 403
    nudge.refresh_from_db()
    assert nudge.subject == "Subject 0"


# Run due nudges now


def test_run_now_plans_and_sends_in_process_without_a_broker(org, as_admin, due_now):
    assert current_app.conf.task_always_eager

    response = as_admin.post(reverse(RUN_NOW), follow=True)

    assert response.redirect_chain == [(reverse(CHANGELIST), 302)]
    assert messages_of(response) == [
        "Planned 1 reminder, 0 escalations, 0 digests and 0 chat messages; "
        "sent 1 batch of waiting nudges."
    ]
    nudge = Nudge.objects.get()
    assert (nudge.recipient, nudge.kind, nudge.state) == (
        org.owner,
        Nudge.Kind.REMINDER,
        Nudge.State.SENT,
    )
    assert [message.to for message in mail.outbox] == [["owner@example.org"]]

    again = as_admin.post(reverse(RUN_NOW), follow=True)
    assert messages_of(again) == [
        "Planned 0 reminders, 0 escalations, 0 digests and 0 chat messages; "
        "sent 0 batches of waiting nudges."
    ]
    assert len(mail.outbox) == 1


def test_run_now_queues_the_tick_when_a_worker_takes_tasks(org, as_admin, due_now, monkeypatch):
    queued = []

    class FakeTick:
        @staticmethod
        def delay():
            queued.append("nudge_tick")

    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    monkeypatch.setattr("checkins.admin.nudge_tick", FakeTick)

    response = as_admin.post(reverse(RUN_NOW), follow=True)

    assert queued == ["nudge_tick"]
    assert messages_of(response) == [
        "Queued the nudge tick: the worker plans what is due and sends it in a moment."
    ]
    assert Nudge.objects.count() == 0


def test_run_now_says_so_when_redis_does_not_answer(org, as_admin, due_now, monkeypatch):
    class UnreachableTick:
        @staticmethod
        def delay():
            raise BrokerUnavailable("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    monkeypatch.setattr("checkins.admin.nudge_tick", UnreachableTick)

    response = as_admin.post(reverse(RUN_NOW), follow=True)

    assert response.status_code == 200
    assert messages_of(response) == [
        "Could not queue the nudge tick: Redis does not answer. Nothing is lost: what is due "
        "goes out with the next ticks once Redis is back."
    ]
    assert Nudge.objects.count() == 0


def test_run_now_is_a_post(as_admin, due_now):
    assert as_admin.get(reverse(RUN_NOW)).status_code == 405
    assert Nudge.objects.count() == 0


def test_run_now_needs_the_csrf_token(org, due_now):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.admin)

    assert client.post(reverse(RUN_NOW)).status_code == 403

    page = client.get(reverse(CHANGELIST))
    token = page.context["csrf_token"]
    assert f'action="{reverse(RUN_NOW)}"' in page.content.decode()
    assert client.post(reverse(RUN_NOW), {"csrfmiddlewaretoken": token}).status_code == 302
    assert Nudge.objects.count() == 1


def test_non_staff_and_anonymous_people_are_sent_to_the_admin_login(org, client, due_now):
    url = reverse(RUN_NOW)
    assert client.post(url).url.startswith(reverse("admin:login"))

    client.force_login(org.owner)
    response = client.post(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert Nudge.objects.count() == 0
    assert mail.outbox == []


def test_staff_who_may_only_view_nudges_cannot_run_or_retry(org, login, due_now):
    viewer = staff("viewer", "view_nudge")
    client = login(viewer)

    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert "Run due nudges now" not in page.content.decode()
    assert "retry_now" not in page.content.decode()

    assert client.post(reverse(RUN_NOW)).status_code == 403
    assert Nudge.objects.count() == 0


def test_staff_who_may_change_nudges_can_run_them(org, login, due_now):
    client = login(staff("operator", "view_nudge", "change_nudge"))

    assert "Run due nudges now" in client.get(reverse(CHANGELIST)).content.decode()
    assert client.post(reverse(RUN_NOW)).status_code == 302
    assert Nudge.objects.get().state == Nudge.State.SENT


# Retry now


def test_retry_now_makes_failed_nudges_due_and_leaves_the_others(org, as_admin):
    later = timezone.now() + dt.timedelta(hours=1)
    failed = Nudge.objects.create(
        recipient=org.owner,
        kind=Nudge.Kind.REMINDER,
        period="2026-W48",
        subject="Check-in day",
        state=Nudge.State.FAILED,
        attempts=2,
        next_attempt_at=later,
        last_error="Sending failed: timeout",
    )
    abandoned = Nudge.objects.create(
        recipient=org.teammate,
        kind=Nudge.Kind.REMINDER,
        period="2026-W48",
        subject="Check-in day",
        state=Nudge.State.ABANDONED,
        attempts=1,
        next_attempt_at=later,
        last_error="The mail server refused teammate@example.org.",
    )

    response = as_admin.post(
        reverse(CHANGELIST),
        {"action": "retry_now", "_selected_action": [failed.pk, abandoned.pk]},
        follow=True,
    )

    assert messages_of(response) == [
        "1 failed nudge will be sent again at the next tick.",
        "1 selected nudge had not failed and was left alone.",
    ]
    failed.refresh_from_db()
    abandoned.refresh_from_db()
    assert failed.next_attempt_at <= timezone.now()
    assert (failed.state, failed.attempts) == (Nudge.State.FAILED, 2)
    assert (abandoned.state, abandoned.next_attempt_at) == (Nudge.State.ABANDONED, later)

    assert tasks.dispatch(timezone.now()) == 1
    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == (Nudge.State.SENT, 3)
    assert [message.to for message in mail.outbox] == [["owner@example.org"]]
