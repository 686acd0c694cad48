"""The load test: its schedule, mix, figures and verdicts without a server, and one short
run against a real gunicorn, PostgreSQL and Redis (``postgres``; needs REDIS_URL)."""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
import redis
import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import resolve

from checkins.forms import CheckInForm
from checkins.models import CheckIn
from goals.management.commands.loadtest import PAGE_WEIGHTS, OwnedKeyResult, Persona, Plan
from goals.models import Cycle, KeyResult
from okr_site.bench import load


@pytest.fixture(autouse=True)
def fast_password_hashing():
    """The seeded people sign in to gunicorn, which knows only the real hashers."""


def recipe(kind: str = "page", name: str = "home", path: str = "/") -> load.Recipe:
    return load.Recipe(kind, name, "GET", path, user=0)


def result(
    latency_ms: float, *, kind: str = "page", name: str = "home", problem: str = ""
) -> load.Result:
    return load.Result(
        recipe(kind, name), due=0.0, lag=0.0, latency=latency_ms / 1000, status=200, problem=problem
    )


def one_run(rate: float, latencies_ms: list[float], errors: int = 0) -> load.Run:
    results = [result(ms) for ms in latencies_ms]
    results += [result(1, problem="500: Server Error") for _ in range(errors)]
    return load.Run(rate=rate, results=results)


# --- The schedule and the mix ------------------------------------------------------------


def test_schedule_spaces_requests_evenly_for_the_given_seconds():
    due = load.schedule(10, 2, max_requests=1_000)

    assert len(due) == 20
    assert due[:3] == [0.0, 0.1, 0.2]
    assert due[-1] == pytest.approx(1.9)


def test_schedule_stops_at_max_requests():
    assert len(load.schedule(60, 60, max_requests=25)) == 25


def test_mix_is_exact_in_every_block_of_twenty_and_shuffled():
    kinds = load.kinds(200, random.Random(1))

    assert Counter(kinds) == {"page": 120, "submit": 50, "api": 30}
    blocks = [tuple(kinds[start : start + 20]) for start in range(0, 200, 20)]
    assert all(Counter(block) == {"page": 12, "submit": 5, "api": 3} for block in blocks)
    assert len(set(blocks)) > 1


# --- Sending ---------------------------------------------------------------------------------


def test_requests_go_out_on_schedule_while_earlier_ones_are_unanswered():
    in_flight, most = 0, 0
    lock = threading.Lock()

    def slow(recipe: load.Recipe) -> tuple[int, str]:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.5)
        with lock:
            in_flight -= 1
        return 200, ""

    started = time.perf_counter()
    run = load.run([recipe()] * 10, load.schedule(50, 1, 10), slow, rate=50)
    elapsed = time.perf_counter() - started

    # One after the other, the 10 requests would take 5 s.
    assert elapsed < 2
    assert most >= 5
    assert [result.due for result in run.results] == pytest.approx([n / 50 for n in range(10)])
    assert all(result.latency >= 0.5 for result in run.results)
    assert not run.errors


def test_latency_counts_from_when_a_request_was_due_not_when_it_went_out():
    def busy(recipe: load.Recipe) -> tuple[int, str]:
        time.sleep(0.1)
        return 200, ""

    # One thread: the fifth request, due at 40 ms, can only go out after 400 ms.
    run = load.run([recipe()] * 5, load.schedule(100, 1, 5), busy, rate=100, threads=1)

    last = run.results[-1]
    assert last.lag >= 0.35
    assert last.latency >= last.lag + 0.1


def test_requests_still_waiting_for_a_thread_after_the_late_limit_are_not_sent():
    sent = []

    def busy(recipe: load.Recipe) -> tuple[int, str]:
        sent.append(recipe)
        time.sleep(0.3)
        return 200, ""

    started = time.perf_counter()
    run = load.run(
        [recipe()] * 5, load.schedule(100, 1, 5), busy, rate=100, threads=1, late_limit=0.1
    )

    assert time.perf_counter() - started < 1  # not 5 × 0.3 s
    assert len(sent) == 1
    assert [result.problem for result in run.results] == ["", *[load.NOT_SENT] * 4]
    assert all(0.1 <= result.latency < 0.3 for result in run.errors)
    assert run.achieved == pytest.approx(1 / run.elapsed)  # answers only


def test_a_request_that_raises_is_an_error_without_an_answer():
    def refused(recipe: load.Recipe) -> tuple[int, str]:
        if recipe.name == "team":
            raise requests.ConnectionError("Connection refused")
        return 200, ""

    run = load.run([recipe(), recipe(name="team")], [0.0, 0.01], refused, rate=100)

    (error,) = run.errors
    assert (error.status, error.recipe.name) == (0, "team")
    assert error.problem == "ConnectionError: Connection refused"


def answer(status: int, text: str = "", location: str = "") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = text.encode()
    if location:
        response.headers["Location"] = location
    return response


def test_an_answer_is_an_error_from_400_when_signed_out_or_without_what_is_expected():
    submit = load.Recipe("submit", "check-in row", "POST", "/x/", user=0, expect="ci-row-saved")

    assert load.problem(recipe(), answer(200, "<p>Hi</p>")) == ""
    assert load.problem(recipe(), answer(302, location="/check-in/")) == ""
    assert load.problem(recipe(), answer(302, location="/login/?next=/")) == (
        "302 to the login page"
    )
    forbidden = "<style>h1 { color: red }</style><h1>Forbidden</h1> <p>CSRF failed</p>"
    assert load.problem(recipe(), answer(403, forbidden)) == "403: Forbidden CSRF failed"
    assert load.problem(submit, answer(200, '<tbody class="ci-row ci-row-saved">')) == ""
    assert load.problem(submit, answer(200, '<tbody class="ci-row ci-row-invalid">')) == (
        "200 without “ci-row-saved”: "
    )


# --- Figures and verdicts -----------------------------------------------------------------


def test_report_gives_percentiles_per_kind_and_the_slowest_endpoint_first():
    results = [result(ms) for ms in range(101)]  # 0 to 100 ms: p50 50, p95 95, p99 99
    results += [result(400, kind="api", name="teams API") for _ in range(3)]
    text = load.report([load.Run(rate=30, results=results)])

    assert re.search(r"^30/s\s+all\s+104\s", text, re.M)
    assert re.search(r"^\s+page\s+101\s+50\s+95\s+99\s+0$", text, re.M)
    assert re.search(r"^\s+api\s+3\s+400\s+400\s+400\s+0$", text, re.M)
    assert re.search(r"^\s+submit\s+0\s+0\s+0\s+0\s+0$", text, re.M)
    by_endpoint = text.split("By page or endpoint")[1]
    assert by_endpoint.index("teams API") < by_endpoint.index("home")


def test_report_shows_one_sample_of_each_kind_of_error():
    errors = [
        load.Result(
            load.Recipe("page", "objective", "GET", f"/objectives/{pk}/", user=0),
            due=0.0,
            lag=0.0,
            latency=0.01,
            status=404,
            problem=f"404: No objective {pk}.",
        )
        for pk in (7, 8, 9)
    ]
    errors.append(result(5, name="team", problem="500: Server Error"))
    text = load.report([load.Run(rate=30, results=[result(10), *errors])])

    assert "4 errors, 0 of them requests not sent." in text
    assert "3 × GET /objectives/7/ (objective): 404: No objective 7." in text
    assert "1 × GET / (team): 500: Server Error" in text
    assert "/objectives/8/" not in text


def test_verdict_at_the_peak_holds_p95_p99_and_no_errors():
    fast = [100.0] * 95 + [900.0] * 5

    assert load.verdict(one_run(30, fast)).endswith(": met")
    slow_p95 = load.verdict(one_run(30, [100.0] * 90 + [350.0] * 10))
    assert "p95 350 ms > 300 ms" in slow_p95
    assert slow_p95.endswith(": missed")
    assert load.verdict(one_run(30, [100.0] * 98 + [1500.0] * 2)).endswith(": missed")
    assert load.verdict(one_run(30, fast, errors=1)).endswith(": missed")


def test_verdict_at_twice_the_peak_holds_p95_only():
    text = load.verdict(one_run(60, [900.0] * 95 + [5000.0] * 5, errors=3))

    assert text == "60/s (twice that peak): p95 900 ms ≤ 1,000 ms: met"
    assert load.verdict(one_run(60, [1100.0] * 100)).endswith(": missed")


def test_verdict_holds_a_lower_rate_to_the_next_target_and_a_higher_one_to_none():
    assert load.verdict(one_run(10, [100.0] * 20)).startswith(
        "10/s (held to the target of 30/s, the L tier's Monday-morning peak)"
    )
    assert load.verdict(one_run(45, [1100.0] * 20)).endswith(": missed")
    assert load.verdict(one_run(100, [10.0])) == "100/s: no target above 60/s"


def test_verdict_of_a_run_without_answers_is_missed():
    assert load.verdict(load.Run(rate=60, results=[])).endswith(": missed")


# --- The command's requests -----------------------------------------------------------------


def test_plan_sends_valid_requests_for_each_persona():
    cycle = Cycle(pk=3, name="2026 Q4")
    number = OwnedKeyResult(11, milestone=False, current=Decimal("40.5"), step=Decimal("2"))
    milestone = OwnedKeyResult(12, milestone=True, current=Decimal(0), step=Decimal("0.05"))
    personas = [
        Persona("scale-s-00002", 2, 5, "scale-s-team-1", (21, 22), (number, milestone)),
        Persona("scale-s-00003", 3, 6, "scale-s-team-2", (23,), (number,)),
    ]
    recipes = Plan(personas, cycle, random.Random(2)).recipes(400)

    assert Counter(recipe.kind for recipe in recipes) == {"page": 240, "submit": 100, "api": 60}
    assert {recipe.name for recipe in recipes if recipe.kind == "page"} == set(PAGE_WEIGHTS)
    for planned in recipes:
        resolve(planned.path.split("?")[0])  # a page or endpoint of the site
        if planned.kind != "submit":
            continue
        pk = int(planned.path.split("/")[-2])
        key_result = KeyResult(pk=pk, title="Grow", kind="milestone" if pk == 12 else "number")
        form = CheckInForm(planned.data, key_result=key_result)
        assert form.is_valid(), form.errors
        assert form.is_filled
        assert planned.headers["HX-Request"] == "true"
        assert planned.expect == "ci-row-saved"
    team_pages = {r.path for r in recipes if r.name == "team review" and r.user == 1}
    assert team_pages == {"/teams/scale-s-team-2/review/"}


def test_refuses_bad_rates():
    with pytest.raises(CommandError, match="not a list of rates"):
        call_command("loadtest", "--rates", "fast")


@pytest.mark.skipif(connection.vendor == "postgresql", reason="refuses SQLite only")
def test_refuses_to_run_on_sqlite():
    with pytest.raises(CommandError, match="runs on PostgreSQL"):
        call_command("loadtest")


@pytest.mark.postgres
def test_refuses_to_run_without_redis(settings):
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="needs Redis"):
        call_command("loadtest")


# --- A short run against gunicorn, PostgreSQL and Redis ----------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.postgres
def test_a_short_run_against_gunicorn_has_no_errors(transactional_db):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL=redis://…")
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        pytest.skip(f"needs Redis: {settings.REDIS_URL} does not answer ({error})")
    call_command("seed_scale", "--tier", "S", stdout=StringIO())
    checkins = CheckIn.objects.count()
    out = StringIO()

    call_command(
        "loadtest",
        *("--rates", "5", "--seconds", "3", "--warmup", "1", "--max-requests", "12"),
        *("--users", "4", "--port", str(_free_port())),
        stdout=out,
    )

    text = out.getvalue()
    assert "4 people signed in" in text
    assert re.search(r"^5/s: 12 requests in [\d.]+ s, 0 errors$", text, re.M), text
    assert re.search(r"^5/s\s+all\s+12\s+[\d.]+(\s+[\d,]+){3}\s+0$", text, re.M), text
    assert "of them requests not sent" not in text
    assert CheckIn.objects.count() > checkins  # a quarter of the requests check in
    assert re.search(r"^  5/s \(held to the target of 30/s, .*: (met|missed)$", text, re.M), text
