"""What Waymark does when what it runs on fails: Redis (the cache and the Celery broker)
stopped, two schedulers ticking at once, PostgreSQL restarted under load.

Outages are played by ``tests.processes.TcpProxy`` between the site and the real server,
so the PostgreSQL and Redis that other tests use never stop. The tests that start
gunicorn or a worker read the committed test database from another process, so they
need PostgreSQL; those about Redis also need REDIS_URL.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from decimal import Decimal
from unittest import mock

import kombu.exceptions
import pytest
import redis
import requests
from django.core import mail
from django.core.cache import cache
from django.core.mail.backends import locmem
from django.test import override_settings
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from alignment import tasks as alignment_tasks
from alignment.models import Membership
from checkins import tasks
from checkins.models import CheckIn, Nudge
from goals.models import Cycle, KeyResult, Objective
from okr_site.celery import app
from tests import factories
from tests.concurrency import raised, run_in_threads
from tests.processes import (
    TICK,
    Broker,
    checkin_day_team,
    database_url,
    due_people,
    free_port,
    person_with_a_due_key_result,
    states,
)

pytest_plugins = ["tests.processes"]

ROLLUP = KeyResult.ProgressSource.ROLLUP
REFUSED = "Error 111 connecting to 127.0.0.1:6379. Connection refused."


def weekly_checkin(key_result: KeyResult, value: str, confidence: str) -> dict[str, str]:
    """The weekly check-in form with one row filled and no note for the week."""
    return {
        f"kr-{key_result.pk}-value": value,
        f"kr-{key_result.pk}-confidence": confidence,
        f"kr-{key_result.pk}-note": "",
        f"kr-{key_result.pk}-blocker": "",
        "week-what_moved": "",
        "week-whats_blocked": "",
        "week-next_focus": "",
    }


def cascade_under(key_result: KeyResult) -> KeyResult:
    """Align ``key_result``'s objective to a new company key result that rolls up."""
    objective = key_result.objective
    company_kr = factories.KeyResultFactory(
        objective__cycle=objective.cycle, objective__title="Company", progress_source=ROLLUP
    )
    Objective.objects.filter(pk=objective.pk).update(
        parent=company_kr.objective, parent_key_result=company_kr
    )
    return company_kr


# --- Redis down, in this process -----------------------------------------------------------


def unreachable_redis_cache() -> dict:
    """The site's cache backend, pointed at a port nothing listens on."""
    return {
        "default": {
            "BACKEND": "okr_site.cache.FailSoftRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }


def test_the_cache_misses_and_drops_writes_while_redis_is_unreachable(caplog):
    with override_settings(CACHES=unreachable_redis_cache()):
        cache.set("history", [1.0])
        assert cache.get("history", "missed") == "missed"
        assert cache.add("history", [1.0]) is False
        assert cache.get_many(["history"]) == {}
        assert cache.set_many({"history": [1.0]}) == ["history"]
        with pytest.raises(redis.ConnectionError):
            cache.incr("history")  # no count it could answer would be true
    assert "Cache unavailable, get skipped" in caplog.text


def test_an_api_token_client_is_answered_while_the_cache_is_unreachable(org):
    # The token throttle keeps its history in the cache on every token request.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(org.owner)[1]}")
    with override_settings(CACHES=unreachable_redis_cache()):
        response = client.get("/api/v1/cycles/")

    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["2026 Q4"]


def test_a_check_in_is_saved_and_climbs_the_cascade_when_redis_refuses_the_task(
    org, login, caplog, django_capture_on_commit_callbacks
):
    objective = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner)
    key_result = factories.KeyResultFactory(objective=objective)
    company_kr = cascade_under(key_result)
    app.conf.task_always_eager = False  # as with REDIS_URL: the climb goes to the broker
    try:
        with (
            mock.patch.object(
                alignment_tasks.rollup_from,
                "delay",
                side_effect=kombu.exceptions.OperationalError(REFUSED),
            ) as delay,
            django_capture_on_commit_callbacks(execute=True),  # the climb waits for the commit
        ):
            response = login(org.owner).post("/check-in/", weekly_checkin(key_result, "40", "7"))
    finally:
        app.conf.task_always_eager = True

    assert response.status_code == 302
    delay.assert_called_once_with(objective.pk)
    assert CheckIn.objects.get(key_result=key_result).value == Decimal(40)
    company_kr.refresh_from_db()
    assert company_kr.progress == pytest.approx(0.4)  # climbed here, not in a worker
    assert f"Roll-up of objective {objective.pk} run in-process: {REFUSED}" in caplog.text


# --- Redis down, with gunicorn and a worker ---------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_pages_and_check_ins_work_and_due_nudges_go_out_once_it_is_back(
    broker, smtp, proxy, start_web, start_worker
):
    cycle = factories.CycleFactory(state=Cycle.State.ACTIVE)
    people = due_people(cycle, count=8)
    by_page, by_api = people[0], people[1]
    page_kr = KeyResult.objects.get(owner=by_page)
    api_kr = KeyResult.objects.get(owner=by_api)
    company_kr = cascade_under(page_kr)
    token = AuthToken.objects.create(by_api)[1]
    redis_proxy = proxy(broker.url)
    through_proxy = redis_proxy.url(broker.url)
    web = start_web(REDIS_URL=through_proxy)
    worker = start_worker(EMAIL_URL=smtp.url, REDIS_URL=through_proxy)
    beat = Broker(through_proxy)  # queues the tick by name, as celery beat does
    browser = web.session_for(by_page)

    def post_checkin(value: str) -> requests.Response:
        browser.get(f"{web.url}/check-in/", timeout=30)  # the form, and its CSRF cookie
        return browser.post(
            f"{web.url}/check-in/",
            data=weekly_checkin(page_kr, value, "7"),
            headers={"X-CSRFToken": browser.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=30,
        )

    try:
        redis_proxy.stop()

        pages = ["/", "/check-in/", f"/objectives/{page_kr.objective_id}/"]
        pages.append(f"/key-results/{page_kr.pk}/check-ins/")
        for path in pages:
            assert browser.get(web.url + path, timeout=30).status_code == 200, path
        checked_in = post_checkin("40")
        assert checked_in.status_code == 302, web.explain()
        api = requests.post(
            f"{web.url}/api/v1/check-ins/",
            json={"key_result": api_kr.pk, "value": "55", "confidence": 6, "note": ""},
            headers={"Authorization": f"Token {token}"},
            timeout=30,
        )
        assert api.status_code == 201, api.text[:2000]
        with pytest.raises(kombu.exceptions.OperationalError):
            beat.send(TICK)  # the tick beat would queue now is lost

        # Nothing is lost: both check-ins are saved and the cascade climbed in the web
        # process; no nudge went out.
        assert CheckIn.objects.get(key_result=page_kr).value == Decimal(40)
        assert CheckIn.objects.get(key_result=api_kr).value == Decimal(55)
        company_kr.refresh_from_db()
        assert company_kr.progress == pytest.approx(0.4)
        assert smtp.total() == 0

        redis_proxy.start()
        for _sweep in range(2):
            beat.send(TICK)
            worker.wait_idle()  # the worker reconnects on its own and runs it
        # Back to the worker: a check-in now queues its climb again.
        assert post_checkin("60").status_code == 302
        worker.wait_idle()
    finally:
        beat.close()

    # Everyone still due got one reminder; the two who checked in while Redis was down
    # are no longer due.
    due = {person.email for person in people} - {by_page.email, by_api.email}
    assert smtp.received == Counter(dict.fromkeys(due, 1))
    assert states() == {Nudge.State.SENT: len(due)}
    company_kr.refresh_from_db()
    assert company_kr.progress == pytest.approx(0.6)
    assert web.log().count(" run in-process: ") == 2, web.explain()
    assert "raised unexpected" not in worker.log()


# --- Two beat processes ------------------------------------------------------------------------


class SlowOutbox(locmem.EmailBackend):
    """Django's test outbox, taking a moment per message as a mail server does, so that
    two sweeps sending at once interleave; each message notes the thread that sent it."""

    def send_messages(self, messages):
        for message in messages:
            time.sleep(0.03)
            message.sent_by = threading.current_thread().name
        return super().send_messages(messages)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_plan_and_send_every_nudge_once(settings, chat):
    # Two beat processes queue each tick twice; two worker processes run both at once.
    settings.EMAIL_BACKEND = f"{__name__}.SlowOutbox"
    settings.WAYMARK = {**settings.WAYMARK, "NUDGE_BATCH_SIZE": 4}
    cycle = factories.CycleFactory(state=Cycle.State.ACTIVE)
    team = checkin_day_team(digest_weekday=timezone.localtime().weekday(), webhook_url=chat.url)
    lead = factories.UserFactory(username="lead")
    factories.MembershipFactory(user=lead, team=team, role=Membership.Role.LEAD)
    people = [person_with_a_due_key_result(team, cycle, f"due-{n:02d}") for n in range(16)]
    KeyResult.objects.filter(owner=people[0]).update(
        last_checkin_at=timezone.now() - dt.timedelta(days=20)
    )

    outcomes = run_in_threads(tasks.run_nudges, tasks.run_nudges)

    assert raised(outcomes) == []
    kinds = Counter(Nudge.objects.values_list("kind", "channel"))
    assert kinds == {
        (Nudge.Kind.REMINDER, Nudge.Channel.EMAIL): 16,
        (Nudge.Kind.ESCALATION, Nudge.Channel.EMAIL): 1,  # people[0]'s stale key result
        (Nudge.Kind.DIGEST, Nudge.Channel.EMAIL): 1,
        (Nudge.Kind.REMINDER, Nudge.Channel.WEBHOOK): 1,
        (Nudge.Kind.DIGEST, Nudge.Channel.WEBHOOK): 1,
    }
    assert states() == {Nudge.State.SENT: 20}
    sent = Counter((message.to[0], message.subject) for message in mail.outbox)
    assert len(sent) == 18 and set(sent.values()) == {1}, sent
    assert len(chat.posts) == 2
    # Both sweeps sent some of them: they really ran at the same time.
    assert len({message.sent_by for message in mail.outbox}) == 2


# --- PostgreSQL restarted under load -------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_restarted_under_load_errors_stop_within_seconds_without_restarting_the_site(
    proxy, start_web
):
    key_result = factories.KeyResultFactory()
    person = key_result.owner
    factories.MembershipFactory(user=person, team=key_result.objective.team)
    postgres = proxy(database_url())
    # Without Redis: nothing here waits on anything but PostgreSQL.
    web = start_web(DATABASE_URL=postgres.url(database_url()), REDIS_URL="")
    pids = web.worker_pids()
    outcomes: list[tuple[float, float, str, str]] = []  # started, ended, path, outcome
    done = threading.Event()

    def load(path: str, client: requests.Session) -> None:
        while not done.is_set():
            started = time.monotonic()
            try:
                status = client.get(web.url + path, timeout=30).status_code
                outcome = "ok" if status == 200 else str(status)
            except requests.RequestException as error:
                outcome = type(error).__name__
            outcomes.append((started, time.monotonic(), path, outcome))

    paths = ["/", f"/objectives/{key_result.objective_id}/", "/healthz/"]
    threads = [
        threading.Thread(target=load, args=(path, web.session_for(person)), daemon=True)
        for path in paths
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    postgres.stop()  # every connection cut, new ones refused
    down = time.monotonic()
    time.sleep(2)
    postgres.start()
    up = time.monotonic()

    def last_failure() -> float:
        return max((ended for _, ended, _, outcome in outcomes if outcome != "ok"), default=up)

    # Until 3 s without an error, or long enough past the 10 s allowed to show a miss.
    while time.monotonic() - max(last_failure(), up) < 3 and time.monotonic() - up < 15:
        time.sleep(0.2)
    done.set()
    for thread in threads:
        thread.join(timeout=60)

    timeline = "\n".join(
        f"{started - down:+6.2f} s  {ended - started:5.2f} s  {path:24} {outcome}"
        for started, ended, path, outcome in outcomes
    )
    explain = f"Times from the cut ({up - down:.1f} s long):\n{timeline}\n{web.explain()}"
    before = [outcome for started, ended, _, outcome in outcomes if ended < down]
    during = [(path, outcome) for started, _, path, outcome in outcomes if down < started < up]
    after = [outcome for started, _, _, outcome in outcomes if started > last_failure()]
    assert before and set(before) == {"ok"}, explain
    # The outage was real, and the orchestrator's probe said so.
    assert any(outcome != "ok" for _, outcome in during), explain
    assert ("/healthz/", "503") in during, explain
    assert last_failure() - up <= 10, explain
    assert len(after) >= 10 and set(after) == {"ok"}, explain
    # The same gunicorn workers throughout: nothing was restarted to recover.
    assert web.process.poll() is None
    assert web.worker_pids() == pids, explain
