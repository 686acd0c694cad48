"""Timing and query counting for the benchmark: repeated runs, median and spread.

The machine a benchmark runs on is shared and noisy, so one run means little: each
thing is run several times after a warm-up, and what is reported is the median, the
95th percentile and the spread (interquartile range over the median)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection


class QueryCounter:
    """An ``execute_wrapper`` that counts queries and the time spent in them."""

    def __init__(self, only: Callable[[str], bool] | None = None) -> None:
        self.only = only
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        if self.only is not None and not self.only(sql):
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


@dataclass(frozen=True)
class Figures:
    """The timings of one measured thing (seconds) and the queries of one run."""

    samples: tuple[float, ...]
    queries: int

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 95)

    @property
    def spread(self) -> float:
        """Interquartile range as a fraction of the median."""
        if len(self.samples) < 4 or not self.median:
            return 0.0
        quartiles = statistics.quantiles(self.samples, n=4)
        return (quartiles[2] - quartiles[0]) / self.median


def percentile(samples: tuple[float, ...] | list[float], rank: float) -> float:
    """The ``rank``-th percentile by linear interpolation between closest ranks."""
    ordered = sorted(samples)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * rank / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def measure(
    run: Callable[[], object], *, repeat: int, warmup: int = 2, self_timed: bool = False
) -> Figures:
    """Time ``run`` ``repeat`` times after ``warmup`` untimed runs; a ``self_timed`` run
    returns the seconds that count itself. The query count is the largest of a run."""
    for _ in range(warmup):
        run()
    timed = [_timed(run, self_timed) for _ in range(repeat)]
    return _figures(timed)


def measure_with_floor(
    run: Callable[[], object],
    floor: Callable[[], object],
    *,
    repeat: int,
    warmup: int = 2,
    block: int = 5,
) -> tuple[Figures, Figures]:
    """``run`` and its floor, ``repeat`` times each, in turns of ``block`` runs: both
    meet the machine as it was in the same minutes (a floor timed after all of its
    page's runs could meet a quieter or a busier one, and their ratio would say so),
    and each turn starts with one untimed run, so that each is timed warm, as it would
    be on its own, not just after the other has filled the caches with its own work."""
    pages: list[tuple[float, int]] = []
    lows: list[tuple[float, int]] = []
    for _ in range(warmup):
        run()
        floor()
    while len(pages) < repeat:
        turn = min(block, repeat - len(pages))
        for timed, thing in ((pages, run), (lows, floor)):
            thing()
            timed.extend(_timed(thing) for _ in range(turn))
    return _figures(pages), _figures(lows)


def _timed(run: Callable[[], object], self_timed: bool = False) -> tuple[float, int]:
    """The seconds of one run and its queries."""
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        seconds = run()
        elapsed = time.perf_counter() - started
    return (seconds if self_timed else elapsed), counter.count


def _figures(timed: list[tuple[float, int]]) -> Figures:
    return Figures(tuple(seconds for seconds, _ in timed), max(count for _, count in timed))
