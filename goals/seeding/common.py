"""What the demo and the scale seeds share.

Both build quarterly cycles, weekly check-ins on each team's check-in day, and values
that travel from a key result's start towards its target at some pace; both give every
person one documented password, and both refuse to mix into another organisation.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.utils import timezone

from alignment.models import Team
from goals.models import Cycle, KeyResult, Objective
from goals.progress import expected_progress

SEED_PASSWORD = "waymark-demo"  # noqa: S105 (public, printed by the seeds)

# The password is public, so a salt protects nothing here; a fixed one makes the hash,
# and so a rerun, identical. Django replaces it with a salted hash at the first login.
_SEED_SALT = "waymarkseed"


def seed_password_hash() -> str:
    """The hash to give every seeded person. Compute it once per run and reuse it:
    hashing is slow on purpose (~0.3 s each)."""
    return make_password(SEED_PASSWORD, salt=_SEED_SALT)


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter, the period of every seeded cycle."""

    year: int
    number: int  # 1 to 4

    @classmethod
    def containing(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def name(self) -> str:
        return f"{self.year} Q{self.number}"

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """The quarter's last day."""
        return self.shifted(1).start - timedelta(days=1)

    def shifted(self, quarters: int) -> Quarter:
        index = self.year * 4 + self.number - 1 + quarters
        return Quarter(index // 4, index % 4 + 1)

    def state_on(self, today: date) -> str:
        if today > self.end:
            return Cycle.State.CLOSED
        return Cycle.State.ACTIVE if today >= self.start else Cycle.State.PLANNING


def weekly_days(start: date, end: date, weekday: int, *, before: date) -> list[date]:
    """Every ``weekday`` from ``start`` to ``end`` that falls before ``before`` (today):
    a seed never writes a check-in in the future, and two runs on one day agree."""
    day = start + timedelta(days=(weekday - start.weekday()) % 7)
    days = []
    while day <= end and day < before:
        days.append(day)
        day += timedelta(days=7)
    return days


def cycle_weeks(cycle: Cycle, weekday: int, *, before: date) -> list[tuple[date, float]]:
    """A team's check-in days in ``cycle`` (before ``before``), each with the fraction
    of the cycle elapsed on it."""
    days = weekly_days(cycle.start_date, cycle.end_date, weekday, before=before)
    return [(day, expected_progress(cycle.start_date, cycle.end_date, day)) for day in days]


def moment(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An aware datetime on ``day`` in the organisation's time zone."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=timezone.get_current_timezone())


def progress_path(
    rng: random.Random, elapsed: Sequence[float], pace: float, wobble: float = 0.04
) -> list[float]:
    """How far along (as a share of start → target) a key result is at each check-in.

    It moves ``pace`` times as fast as the calendar (1 on track, 0.5 behind, below 0 the
    wrong way), plus a wobble carried from week to week: real metrics drift, not jump.
    """
    drift = 0.0
    path = []
    for share in elapsed:
        drift = 0.6 * drift + rng.gauss(0.0, wobble)
        path.append(pace * share + drift)
    return path


def confidence_path(
    rng: random.Random, base: int, path: Sequence[float], elapsed: Sequence[float]
) -> list[int]:
    """The owner's confidence (1-10) at each check-in: it sinks as the key result falls
    behind the calendar and rises as it pulls ahead, with a little noise."""
    return [
        max(1, min(10, round(base + 6 * (done - share)) + rng.choice((-1, 0, 0, 1))))
        for done, share in zip(path, elapsed, strict=True)
    ]


def decimal_places(kind: str, start: Decimal, target: Decimal) -> int:
    """As many decimals as the baseline and target are written with ("6.0" days gives
    5.5 days, "6" gives whole days); a percentage gets at least one, so its weekly
    moves show."""
    used = max(0, *(-int(v.as_tuple().exponent) for v in (start, target)))
    return max(used, 1) if kind == KeyResult.Kind.PERCENT else used


def values_along(
    kind: str, start: Decimal, target: Decimal, path: Sequence[float]
) -> list[Decimal]:
    """Check-in values for a progress path, rounded like the baseline and kept within
    what the unit allows (no negative counts, no 104 %). A milestone is done (1) from
    the first week its path reaches the target, and stays done."""
    if kind == KeyResult.Kind.MILESTONE:
        done_from = next((i for i, share in enumerate(path) if share >= 1), len(path))
        return [Decimal(int(i >= done_from)) for i in range(len(path))]
    places = decimal_places(kind, start, target)
    low = 0.0 if min(start, target) >= 0 else -math.inf
    high = 100.0 if kind == KeyResult.Kind.PERCENT else math.inf
    first, span = float(start), float(target - start)
    return [Decimal(f"{min(high, max(low, first + span * share)):.{places}f}") for share in path]


def weekly_values(
    rng: random.Random,
    kind: str,
    start: Decimal,
    target: Decimal,
    *,
    pace: float,
    confidence: int,
    elapsed: Sequence[float],
) -> list[tuple[Decimal, int]]:
    """The value and the owner's confidence at each weekly check-in of a key result,
    ``elapsed`` being the fraction of the cycle gone at each."""
    path = progress_path(rng, elapsed, pace)
    values = values_along(kind, start, target, path)
    return list(zip(values, confidence_path(rng, confidence, path, elapsed), strict=True))


def existing_company(slug: str, *, command: str) -> bool:
    """Whether this database already holds the organisation whose company is ``slug``.

    Raises ``CommandError`` when it holds any other teams: a seed must never mix its
    people and goals into a real organisation, or into another seed's.
    """
    companies = sorted(Team.objects.filter(parent__isnull=True).values_list("slug", flat=True))
    if companies == [slug]:
        return True
    if not companies and not Team.objects.exists():
        return False
    found = ", ".join(companies) or "teams without a company"
    raise CommandError(
        f"This database already holds another organisation (company: {found}); {command} "
        "only builds into an empty database or one it built itself. Use a separate "
        "database: create one, then run `DATABASE_URL=postgres://USER@HOST/NAME python "
        f"manage.py migrate` and `DATABASE_URL=… python manage.py {command}`."
    )


def date_goals_to_planning(cycle: Cycle) -> None:
    """Date a cycle's objectives and key results to the week before it starts, when
    they would have been written, rather than to whenever the seed ran."""
    planned_at = moment(cycle.start_date - timedelta(days=7), 10)
    Objective.objects.filter(cycle=cycle).update(created_at=planned_at)
    KeyResult.objects.filter(objective__cycle=cycle).update(created_at=planned_at)
