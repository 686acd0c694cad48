"""The load test's engine: requests sent on a fixed schedule, and the report of a run.

The schedule is an open loop: the i-th request is due ``i / rate`` seconds after the
start and goes out then, whatever the server is still busy with, so a slow server
cannot slow the load down and hide its queue. Its latency runs from the moment it was
due to the end of the answer, so a delay on this side (every thread busy) counts too;
how late requests went out is reported beside it.

What to request comes from the caller as recipes; sending goes through a ``Send``
callable (``HttpSender`` for a real server, anything in tests). No Django here beyond
the shared percentile.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from okr_site.bench.measure import percentile

# 60 % page views, 25 % check-in submits, 15 % API calls: exact in every block of 20.
MIX = (("page", 12), ("submit", 5), ("api", 3))
KINDS = tuple(kind for kind, _share in MIX)
# Threads are started only when every other one is busy: at 30 requests/s and 100 ms
# a request, about 3 are in use. The cap keeps a server that stops answering from
# costing thousands of threads; a late request still counts from when it was due.
CLIENT_THREADS = 256
TIMEOUT = (5, 30)  # seconds to connect, to read: a request never waits longer
LATE_LIMIT = 5  # seconds after the last request was due: later ones are not sent
NOT_SENT = "not sent: every thread was still waiting for an answer"
ERROR_SAMPLES = 5
PEAK = 30  # requests/s: the L tier's Monday morning


@dataclass(frozen=True)
class Recipe:
    """One request: ``name`` groups the requests of one page or endpoint in the report;
    ``user`` is the index of the virtual user who sends it."""

    kind: str
    name: str
    method: str
    path: str
    user: int
    data: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    expect: str = ""  # an answer without this text is an error


@dataclass(frozen=True)
class Result:
    recipe: Recipe
    due: float  # seconds from the start of the run
    lag: float  # how much later than due it was sent
    latency: float  # from due to the end of the answer
    status: int  # 0 when there was no answer
    problem: str = ""  # why it is an error; empty for a success


@dataclass(frozen=True)
class Run:
    rate: float
    results: list[Result]

    @property
    def elapsed(self) -> float:
        """From the first request's start to the last answer."""
        return max((result.due + result.latency for result in self.results), default=0.0)

    @property
    def achieved(self) -> float:
        """Answers a second (an error status is an answer; no answer is not)."""
        answered = sum(1 for result in self.results if result.status)
        return answered / self.elapsed if self.elapsed else 0.0

    @property
    def errors(self) -> list[Result]:
        return [result for result in self.results if result.problem]


# Status and what went wrong ("" when fine): an exception raised instead counts as an
# error with no answer.
Send = Callable[[Recipe], tuple[int, str]]


def schedule(rate: float, seconds: float, max_requests: int) -> list[float]:
    """When each request is due, in seconds from the start: ``rate`` a second for
    ``seconds``, and never more than ``max_requests``."""
    count = min(int(rate * seconds), max_requests)
    return [number / rate for number in range(count)]


def kinds(count: int, rng: random.Random) -> list[str]:
    """``count`` kinds in the proportions of ``MIX``, shuffled block by block, so that
    any stretch of the run has the mix, not only the whole."""
    block = [kind for kind, share in MIX for _ in range(share)]
    mixed: list[str] = []
    while len(mixed) < count:
        rng.shuffle(block)
        mixed += block
    return mixed[:count]


def run(
    recipes: Sequence[Recipe],
    due: Sequence[float],
    send: Send,
    *,
    rate: float,
    threads: int = CLIENT_THREADS,
    late_limit: float = LATE_LIMIT,
) -> Run:
    """Send each recipe at its due time, on a thread of a pool, without waiting for
    earlier answers; returns once every request sent is answered or has failed.

    A server slower than the rate makes requests queue here for a free thread. Those
    still queued ``late_limit`` seconds after the last one was due are not sent: each
    is an error, its latency the time it had waited (less than it would have taken),
    so that a run ends a bounded time after its schedule."""
    results: list[Result] = []  # appended from the pool's threads (atomic in CPython)
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="loadtest")
    start = time.perf_counter()
    queued: dict[Future, tuple[Recipe, float]] = {}
    try:
        for recipe, at in zip(recipes, due, strict=True):
            wait = start + at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            queued[pool.submit(_send_one, send, recipe, start, at, results)] = (recipe, at)
        deadline = start + max(due, default=0.0) + late_limit
        _done, waiting = futures.wait(queued, timeout=max(deadline - time.perf_counter(), 0))
        for future in waiting:
            if future.cancel():
                recipe, at = queued[future]
                waited = time.perf_counter() - start - at
                results.append(Result(recipe, at, waited, waited, 0, NOT_SENT))
    finally:  # also on Ctrl-C: drop what has not started, then stop
        pool.shutdown(wait=True, cancel_futures=True)
    results.sort(key=lambda result: result.due)
    return Run(rate=rate, results=results)


def _send_one(send: Send, recipe: Recipe, start: float, due: float, results: list) -> None:
    sent = time.perf_counter() - start
    try:
        status, problem = send(recipe)
    except Exception as error:  # whatever fails, the request counts as an error
        status, problem = 0, f"{type(error).__name__}: {error}"
    latency = time.perf_counter() - start - due
    results.append(Result(recipe, due, sent - due, latency, status, problem))


# --- Sending over HTTP -----------------------------------------------------------------


@dataclass(frozen=True)
class VirtualUser:
    """A person signed in through the login form: their session and CSRF cookies."""

    username: str
    cookies: Mapping[str, str]

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    @property
    def csrf_token(self) -> str:
        return self.cookies["csrftoken"]


class SignInFailed(Exception):
    pass


CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def sign_in(base_url: str, username: str, password: str) -> VirtualUser:
    """Sign in as a browser does: the login form's CSRF token, then its POST."""
    with requests.Session() as session:
        form = session.get(f"{base_url}/login/", timeout=TIMEOUT)
        token = CSRF_FIELD.search(form.text)
        if form.status_code != 200 or token is None:
            raise SignInFailed(f"GET /login/ answered {form.status_code} without a form.")
        answer = session.post(
            f"{base_url}/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token[1]},
            timeout=TIMEOUT,
            allow_redirects=False,
        )
        cookies = session.cookies.get_dict()
        if answer.status_code != 302 or "sessionid" not in cookies:
            raise SignInFailed(
                f"{username} could not sign in (POST /login/: {answer.status_code})."
            )
        return VirtualUser(username, cookies)


class HttpSender:
    """Sends a recipe as its virtual user, on a connection of its own that is closed
    after the answer, as a proxy in front of gunicorn (nginx by default) does. Reused
    connections would race gunicorn closing idle ones, and a browser retries such a
    reset where ``requests`` reports an error."""

    def __init__(self, base_url: str, users: Sequence[VirtualUser]) -> None:
        self.base_url = base_url
        self.users = users

    def __call__(self, recipe: Recipe) -> tuple[int, str]:
        user = self.users[recipe.user]
        headers = {"Cookie": user.cookie_header, "Connection": "close", **recipe.headers}
        if recipe.method != "GET":
            headers["X-CSRFToken"] = user.csrf_token
        answer = requests.request(
            recipe.method,
            self.base_url + recipe.path,
            data=recipe.data,
            headers=headers,
            timeout=TIMEOUT,
            allow_redirects=False,
        )
        return answer.status_code, problem(recipe, answer)


def problem(recipe: Recipe, answer: requests.Response) -> str:
    """Why an answer is an error, or "": any status from 400, a redirect to the login
    page (signed out), an answer without the text the recipe expects."""
    status = answer.status_code
    if status >= 400:
        return f"{status}: {_first_words(answer.text)}"
    if 300 <= status < 400:
        location = answer.headers.get("Location", "")
        return f"{status} to the login page" if location.startswith("/login/") else ""
    if recipe.expect and recipe.expect not in answer.text:
        return f"{status} without “{recipe.expect}”: {_first_words(answer.text)}"
    return ""


def _first_words(text: str, length: int = 160) -> str:
    """The start of an answer's text: no styles, scripts, tags or runs of spaces."""
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", text, flags=re.DOTALL | re.IGNORECASE)
    words = " ".join(re.sub(r"<[^>]*>", " ", text).split())
    return words[:length] + ("…" if len(words) > length else "")


# --- The report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What the site must do at up to ``rate`` requests/s (seconds; None: no limit)."""

    rate: float
    label: str
    p95: float
    p99: float | None = None
    errors: int | None = None


TARGETS = (
    Target(PEAK, "the L tier's Monday-morning peak", p95=0.300, p99=1.0, errors=0),
    Target(2 * PEAK, "twice that peak", p95=1.0),
)


def target_for(rate: float) -> Target | None:
    """The target of the lowest rate at or above ``rate``: what holds at 60/s must hold
    at 45/s too."""
    return next((target for target in TARGETS if rate <= target.rate), None)


def verdict(run: Run) -> str:
    """One line: each figure against the target of the run's rate, then met or missed."""
    target = target_for(run.rate)
    if target is None:
        return f"{format_rate(run.rate)}: no target above {format_rate(TARGETS[-1].rate)}"
    latencies = [result.latency for result in run.results]
    checks = [("p95", percentile(latencies, 95), target.p95)]
    if target.p99 is not None:
        checks.append(("p99", percentile(latencies, 99), target.p99))
    parts = [
        f"{name} {_ms(value)} ms {'≤' if value <= limit else '>'} {_ms(limit)} ms"
        for name, value, limit in checks
    ]
    met = bool(run.results) and all(value <= limit for _name, value, limit in checks)
    if target.errors is not None:
        errors = len(run.errors)
        parts.append(f"{errors:,} errors (at most {target.errors:,})")
        met = met and errors <= target.errors
    held_to = (
        "" if run.rate == target.rate else f"held to the target of {format_rate(target.rate)}, "
    )
    return (
        f"{format_rate(run.rate)} ({held_to}{target.label}): {', '.join(parts)}: "
        f"{'met' if met else 'missed'}"
    )


def report(runs: Sequence[Run]) -> str:
    """The table by kind, the table by page or endpoint (slowest first), the first
    errors of each run and the verdicts."""
    head = f"{'rate':<6} {'kind':<8} {'requests':>8} {'req/s':>6} " + _figures_head() + " errors"
    lines = ["Latency from the moment each request was due, in ms:", head, "-" * len(head)]
    for run in runs:
        lines.append(
            f"{format_rate(run.rate):<6} {'all':<8} {len(run.results):>8,} {run.achieved:>6.1f} "
            + _figures(run.results)
        )
        for kind in KINDS:
            of_kind = [result for result in run.results if result.recipe.kind == kind]
            lines.append(f"{'':<6} {kind:<8} {len(of_kind):>8,} {'':>6} " + _figures(of_kind))
    head = (
        f"{'rate':<6} {'page or endpoint':<20} {'kind':<8} {'requests':>8} "
        + _figures_head()
        + " errors"
    )
    lines += ["", "By page or endpoint, slowest first (p95):", head, "-" * len(head)]
    for run in runs:
        by_name: dict[tuple[str, str], list[Result]] = {}
        for result in run.results:
            by_name.setdefault((result.recipe.name, result.recipe.kind), []).append(result)
        slowest = sorted(
            by_name.items(),
            key=lambda item: percentile([result.latency for result in item[1]], 95),
            reverse=True,
        )
        for (name, kind), results in slowest:
            lines.append(
                f"{format_rate(run.rate):<6} {name:<20} {kind:<8} {len(results):>8,} "
                + _figures(results)
            )
    lines.append("")
    for run in runs:
        lag = max((r.lag for r in run.results if r.problem != NOT_SENT), default=0.0)
        lines.append(f"{format_rate(run.rate)}: sent at most {_ms(lag)} ms late by this client.")
        lines += _error_samples(run)
    lines += ["", "Verdict:", *(f"  {verdict(run)}" for run in runs)]
    return "\n".join(lines)


def _figures_head() -> str:
    return f"{'p50':>7} {'p95':>7} {'p99':>7}"


def _figures(results: Sequence[Result]) -> str:
    latencies = [result.latency for result in results]
    errors = sum(1 for result in results if result.problem)
    figures = " ".join(f"{_ms(percentile(latencies, rank)):>7}" for rank in (50, 95, 99))
    return f"{figures} {errors:>6,}"


def _error_samples(run: Run) -> list[str]:
    """How many errors, how many requests were not sent, and the first of each kind
    of the other errors."""
    if not run.errors:
        return []
    unsent = sum(1 for result in run.errors if result.problem == NOT_SENT)
    lines = [f"  {len(run.errors):,} errors, {unsent:,} of them requests not sent."]
    sent = [result for result in run.errors if result.problem != NOT_SENT]
    distinct = Counter(_error_kind(result) for result in sent)
    shown: set[tuple[str, int, str]] = set()
    for result in sent:
        key = _error_kind(result)
        if key in shown:
            continue
        shown.add(key)
        recipe = result.recipe
        lines.append(
            f"  {distinct[key]:>5,} × {recipe.method} {recipe.path} ({recipe.name}): "
            f"{result.problem}"
        )
        if len(shown) == ERROR_SAMPLES:
            break
    return lines


def _error_kind(result: Result) -> tuple[str, int, str]:
    """The page, the status and the problem without its numbers: the same error on
    other rows (other ids) is one kind."""
    return result.recipe.name, result.status, re.sub(r"\d+", "#", result.problem)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def format_rate(rate: float) -> str:
    return f"{rate:g}/s"
