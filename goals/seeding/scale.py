"""A generated organisation for benchmarks: ``seed_scale --tier S|M|L``.

Everything is drawn from ``random.Random(tier)`` and written in bulk: ``bulk_create``
in big batches, and on PostgreSQL the check-ins (most of the rows) through COPY. A key
result's current value, confidence and progress come from its latest generated check-in
and are set before it is inserted; objectives and roll-up key results are then computed
by ``alignment.rollup.recompute_all``, the code the application itself uses.

A key result's check-ins are never held in memory: they are drawn again from the key
result's own seed when they are written, which gives the very same values.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from psycopg import sql

from alignment import rollup
from alignment.models import Membership, Team, User
from checkins.models import CheckIn
from goals.models import Cycle, KeyResult, Objective
from goals.progress import key_result_progress
from goals.seeding.common import (
    SEED_PASSWORD,
    Quarter,
    cycle_weeks,
    date_goals_to_planning,
    existing_company,
    moment,
    seed_password_hash,
    weekly_values,
)


@dataclass(frozen=True)
class Tier:
    name: str
    people: int
    team_levels: tuple[int, ...]  # teams per level, the company first

    @property
    def slug(self) -> str:
        return f"scale-{self.name.lower()}"


TIERS = {
    tier.name: tier
    for tier in (
        Tier("S", 50, (1, 2, 3)),
        Tier("M", 1_000, (1, 5, 21, 98)),
        Tier("L", 10_000, (1, 6, 33, 192, 1_018)),
    )
}
CYCLES = 8  # two years of quarters, the last one containing today
OBJECTIVES_PER_TEAM = 3  # in each cycle
KEY_RESULTS_PER_OBJECTIVE = 4
BATCH_SIZE = 5_000
Kind = KeyResult.Kind
CHECKIN_FIELDS = ("key_result", "author", "value", "confidence", "note", "blocker", "created_at")

FIRST_NAMES = (
    "Ada", "Amara", "Bruno", "Camille", "Chen", "Dara", "Diego", "Elif", "Emil", "Farah",
    "Greta", "Hamid", "Ines", "Isaac", "Jana", "Kwame", "Lea", "Luca", "Maya", "Mikko",
    "Nadia", "Nils", "Olga", "Pablo", "Quinn", "Rania", "Rosa", "Sami", "Sven", "Tariq",
    "Uma", "Vera", "Wen", "Xavier", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Andersen", "Baptiste", "Costa", "Dimitrov", "Eriksen", "Fischer", "Gallo", "Horvat",
    "Ivanova", "Janssen", "Kaur", "Lopez", "Moreau", "Nakamura", "Okoye", "Popescu",
    "Quispe", "Rahman", "Silva", "Takahashi", "Umar", "Varga", "Weber", "Yilmaz", "Zhou",
)  # fmt: skip
JOB_TITLES = (
    "Software Engineer", "Product Designer", "Product Manager", "Data Analyst",
    "Account Executive", "Customer Success Manager", "Marketing Specialist",
    "Support Specialist", "Operations Analyst", "QA Engineer", "Recruiter",
)  # fmt: skip
LEVEL_NAMES = ("Division", "Department", "Group", "Team")  # the lowest level is "Team"
OBJECTIVE_TITLES = (
    "Make onboarding effortless for new customers",
    "Become the team other teams rely on",
    "Win the mid-market segment",
    "Make our releases boringly reliable",
    "Turn support into a reason to stay",
    "Grow revenue without growing costs",
    "Know our customers better than anyone",
    "Cut the time from idea to customer in half",
    "Make every customer a reference",
    "Run a service nobody has to think about",
)
# (kind, title with {start} and {target}, unit, whether the target is below the start)
MEASURES = (
    (Kind.NUMBER, "Grow weekly active accounts from {start} to {target}", "", False),
    (Kind.NUMBER, "Grow qualified leads a week from {start} to {target}", "", False),
    (Kind.NUMBER, "Cut open incidents from {start} to {target}", "", True),
    (Kind.NUMBER, "Cut days to close a deal from {start} to {target}", "days", True),
    (Kind.PERCENT, "Raise trial-to-paid conversion from {start}% to {target}%", "%", False),
    (Kind.PERCENT, "Raise on-time delivery from {start}% to {target}%", "%", False),
    (Kind.PERCENT, "Reduce monthly churn from {start}% to {target}%", "%", True),
    (Kind.PERCENT, "Reduce failed deployments from {start}% to {target}%", "%", True),
    (Kind.CURRENCY, "Grow monthly revenue from €{start} to €{target}", "EUR", False),
    (Kind.CURRENCY, "Cut cloud cost a month from €{start} to €{target}", "EUR", True),
    (Kind.MILESTONE, "SOC 2 Type II report issued", "", False),
    (Kind.MILESTONE, "New pricing live for every customer", "", False),
)  # fmt: skip
NOTES = (
    "On track.",
    "Slower week: holidays.",
    "The release landed; the numbers should follow.",
    "Data is a week late.",
    "Better than expected.",
)
BLOCKERS = (
    "Waiting on another team's release.",
    "The data source has been broken since Tuesday.",
    "Two people out sick.",
)


def seed_scale(*, tier_name: str, today: date, log: Callable[[str], None]) -> list[str]:
    """Build the tier, or find it already built; returns what to tell the user."""
    tier = TIERS[tier_name]
    if existing_company(tier.slug, command=f"seed_scale --tier {tier.name}"):
        return [f"Tier {tier.name} is already built in this database: reusing it.", _counts()]
    build = _Build(tier, today, log)
    with transaction.atomic():
        build.run()
    if connection.vendor == "postgresql":
        # Fresh statistics, so that benchmarks see the plans a live database would use.
        with build.phase("analyze"), connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return build.summary()


@dataclass(frozen=True, slots=True)
class Story:
    """How one key result's weekly check-ins go. Drawn again from ``seed`` each time
    it is asked, so the values always come out the same."""

    seed: int
    kind: str
    start: Decimal
    target: Decimal
    pace: float
    confidence: int
    times: Sequence[datetime]  # the team's check-in times in the cycle, up to today
    elapsed: Sequence[float]  # the fraction of the cycle elapsed at each
    offset: timedelta  # the owner's minutes past the team's check-in hour

    def checkins(self) -> Iterator[tuple[datetime, Decimal, int, str, str]]:
        """``(time, value, confidence, note, blocker)`` week after week."""
        rng = random.Random(self.seed)  # noqa: S311 (reproducible, not secret)
        weekly = weekly_values(
            rng,
            self.kind,
            self.start,
            self.target,
            pace=self.pace,
            confidence=self.confidence,
            elapsed=self.elapsed,
        )
        for at, (value, confidence) in zip(self.times, weekly, strict=True):
            note = rng.choice(NOTES) if rng.random() < 0.15 else ""
            blocker = rng.choice(BLOCKERS) if rng.random() < 0.03 else ""
            yield at + self.offset, value, confidence, note, blocker


@dataclass
class _Build:
    """One build of a tier: the phases in order, and what each needs of the previous."""

    tier: Tier
    today: date
    log: Callable[[str], None]
    rng: random.Random = field(init=False)
    password: str = field(init=False)  # one hash for everyone
    seconds: dict[str, float] = field(default_factory=dict)
    teams: list[list[Team]] = field(default_factory=list)  # by level, the company first
    members: dict[int, list[User]] = field(default_factory=dict)  # team pk → lead first
    cycles: list[Cycle] = field(default_factory=list)
    objectives: dict[tuple[int, int], list[Objective]] = field(default_factory=dict)
    rollup_of: dict[int, KeyResult] = field(default_factory=dict)  # objective pk → its KR
    stories: list[tuple[KeyResult, Story]] = field(default_factory=list)
    schedules: dict[tuple[int, int], tuple[list[datetime], list[float]]] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        self.rng = random.Random(self.tier.name)  # noqa: S311 (reproducible, not secret)
        self.password = seed_password_hash()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - started
        self.log(f"{name}: {self.seconds[name]:.1f} s")

    def run(self) -> None:
        with self.phase("teams"):
            self._teams()
        with self.phase("people"):
            self._people()
        with self.phase("cycles"):
            self._cycles()
        with self.phase("objectives and key results"):
            for level in range(len(self.teams)):
                self._goals_of_level(level)
        with self.phase("check-ins"):
            if connection.vendor == "postgresql":
                _copy_checkins(self._checkin_rows())
            else:
                _insert_checkins(self._checkin_rows())
        with self.phase("roll-up"):
            rollup.recompute_all(closed_too=True)
            for cycle in self.cycles:
                date_goals_to_planning(cycle)

    def summary(self) -> list[str]:
        site = settings.SITE_URL.rstrip("/")
        ceo = self.members[self.teams[0][0].pk][0]
        lead = self.members[self.teams[-1][-1].pk][0]
        phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())
        return [
            f"Tier {self.tier.name} built in {sum(self.seconds.values()):.1f} s ({phases}).",
            _counts(),
            f"Sign in at {site}/ as {ceo.username} (the CEO) or {lead.username} (a team "
            f"lead); every generated person's password is {SEED_PASSWORD}.",
        ]

    # --- The organisation ----------------------------------------------------------------

    def _teams(self) -> None:
        """Level by level, each team under a team of the level above, in even blocks."""
        levels = [[Team(name=f"Waymark Scale {self.tier.name}", slug=self.tier.slug)]]
        depth = len(self.tier.team_levels)
        for level, count in enumerate(self.tier.team_levels[1:], start=1):
            name = LEVEL_NAMES[level - depth]
            above = levels[-1]
            levels.append(
                [self._team(name, n, above[n * len(above) // count]) for n in range(count)]
            )
        for teams in levels:
            Team.objects.bulk_create(teams, batch_size=BATCH_SIZE)
        self.teams = levels

    def _team(self, level_name: str, number: int, parent: Team) -> Team:
        return Team(
            name=f"{level_name} {number + 1}",
            slug=f"{self.tier.slug}-{level_name.lower()}-{number + 1}",
            parent=parent,
            checkin_weekday=self.rng.choice((0, 0, 0, 1, 2, 3, 4)),
            checkin_hour=self.rng.choice((9, 9, 10, 11, 14, 16)),
        )

    def _people(self) -> None:
        """A lead and members for each team. Members report to their lead, a lead to the
        lead of the team above, so managers form one tree under the CEO; people are
        inserted depth by depth, managers first."""
        placed = [(level, team) for level, teams in enumerate(self.teams) for team in teams]
        per_team, extra = divmod(self.tier.people, len(placed))
        by_depth: list[list[User]] = [[] for _ in range(len(self.teams) + 1)]
        memberships: list[Membership] = []
        numbers = itertools.count(1)
        for index, (level, team) in enumerate(placed):
            boss = self.members[team.parent_id][0] if team.parent_id else None
            lead = self._person(team, boss, next(numbers), lead=True)
            size = per_team + (index < extra)  # the first teams take the remainder
            members = [self._person(team, lead, next(numbers)) for _ in range(size - 1)]
            self.members[team.pk] = [lead, *members]
            by_depth[level].append(lead)
            by_depth[level + 1] += members
            memberships.append(Membership(user=lead, team=team, role=Membership.Role.LEAD))
            memberships += [Membership(user=member, team=team) for member in members]
        for people in by_depth:
            User.objects.bulk_create(people, batch_size=BATCH_SIZE)
        Membership.objects.bulk_create(memberships, batch_size=BATCH_SIZE)

    def _person(self, team: Team, manager: User | None, number: int, *, lead: bool = False) -> User:
        username = f"{self.tier.slug}-{number:05d}"
        if manager is None:
            title = "Chief Executive Officer"
        else:
            title = f"Lead, {team.name}" if lead else self.rng.choice(JOB_TITLES)
        return User(
            username=username,
            first_name=self.rng.choice(FIRST_NAMES),
            last_name=self.rng.choice(LAST_NAMES),
            email=f"{username}@scale.example",
            job_title=title,
            manager=manager,
            password=self.password,
        )

    def _cycles(self) -> None:
        current = Quarter.containing(self.today)
        quarters = [current.shifted(offset) for offset in range(1 - CYCLES, 1)]
        self.cycles = Cycle.objects.bulk_create(
            Cycle(
                name=quarter.name,
                start_date=quarter.start,
                end_date=quarter.end,
                state=state,
                # Written in bulk (no save()): closed the morning after its last day.
                closed_at=moment(quarter.end + timedelta(days=1), 10)
                if state == Cycle.State.CLOSED
                else None,
            )
            for quarter in quarters
            for state in [quarter.state_on(self.today)]
        )

    # --- Goals -----------------------------------------------------------------------------

    def _goals_of_level(self, level: int) -> None:
        """The level's objectives, aligned to the level above (already written), then their
        key results; the first objective of a team with teams below has a roll-up key
        result, which those teams' first objectives feed."""
        planned = [(team, cycle) for cycle in self.cycles for team in self.teams[level]]
        for team, cycle in planned:
            above = self.objectives.get((team.parent_id, cycle.pk), []) if team.parent_id else []
            titles = self.rng.sample(OBJECTIVE_TITLES, OBJECTIVES_PER_TEAM)
            self.objectives[team.pk, cycle.pk] = [
                self._objective(team, cycle, number, title, above)
                for number, title in enumerate(titles)
            ]
        Objective.objects.bulk_create(
            [o for team, cycle in planned for o in self.objectives[team.pk, cycle.pk]],
            batch_size=BATCH_SIZE,
        )
        fed_from_below = level + 1 < len(self.teams)
        key_results: list[KeyResult] = []
        for team, cycle in planned:
            for number, objective in enumerate(self.objectives[team.pk, cycle.pk]):
                measures = self.rng.sample(MEASURES, KEY_RESULTS_PER_OBJECTIVE)
                for position, measure in enumerate(measures):
                    if fed_from_below and number == 0 and position == 0:
                        key_result = _rollup_key_result(objective, team)
                        self.rollup_of[objective.pk] = key_result
                    else:
                        key_result = self._key_result(objective, team, cycle, position, measure)
                    key_results.append(key_result)
        KeyResult.objects.bulk_create(key_results, batch_size=BATCH_SIZE)

    def _objective(
        self, team: Team, cycle: Cycle, number: int, title: str, above: Sequence[Objective]
    ) -> Objective:
        """The first objective counts towards the roll-up key result above; most others
        align to one of the parent team's objectives, a few stand alone."""
        parent = parent_key_result = None
        if above and number == 0:
            parent, parent_key_result = above[0], self.rollup_of[above[0].pk]
        elif above and self.rng.random() < 0.9:
            parent = self.rng.choice(above)
        members = self.members[team.pk]
        return Objective(
            cycle=cycle,
            team=team,
            owner=members[0] if number == 0 else self.rng.choice(members),
            title=title,
            kind=self.rng.choices(list(Objective.Kind), weights=(3, 1))[0],
            visibility=self.rng.choices(list(Objective.Visibility), weights=(19, 1))[0],
            parent=parent,
            parent_key_result=parent_key_result,
        )

    def _key_result(
        self,
        objective: Objective,
        team: Team,
        cycle: Cycle,
        position: int,
        measure: tuple[str, str, str, bool],
    ) -> KeyResult:
        """A key result whose current state is its story's latest check-in."""
        kind, title, unit, decreasing = measure
        start, target = self._start_and_target(kind, decreasing)
        members = self.members[team.pk]
        owner = objective.owner if self.rng.random() < 0.7 else self.rng.choice(members)
        times, elapsed = self._schedule(team, cycle)
        story = Story(
            seed=self.rng.getrandbits(64),
            kind=kind,
            start=start,
            target=target,
            pace=max(-0.3, min(1.5, self.rng.gauss(0.85, 0.35))),
            confidence=self.rng.randint(5, 8),
            times=times,
            elapsed=elapsed,
            offset=timedelta(minutes=owner.pk % 45),
        )
        checkins = list(story.checkins())
        latest = checkins[-1] if checkins else None
        current = latest[1] if latest else start
        key_result = KeyResult(
            objective=objective,
            title=title.format(start=f"{start:,}", target=f"{target:,}"),
            owner=owner,
            kind=kind,
            unit=unit,
            start_value=start,
            target_value=target,
            current_value=current,
            confidence=latest[2] if latest else None,
            last_checkin_at=latest[0] if latest else None,
            progress=key_result_progress(start, target, current, milestone=kind == Kind.MILESTONE),
            position=position,
        )
        self.stories.append((key_result, story))
        return key_result

    def _start_and_target(self, kind: str, decreasing: bool) -> tuple[Decimal, Decimal]:
        rng = self.rng
        if kind == Kind.MILESTONE:
            return Decimal(0), Decimal(1)
        if kind == Kind.PERCENT:
            start = rng.uniform(5, 60) if decreasing else rng.uniform(10, 85)
            change = start * rng.uniform(0.3, 0.6) if decreasing else rng.uniform(5, 14.5)
            target = start - change if decreasing else start + change
            return Decimal(f"{start:.1f}"), Decimal(f"{target:.1f}")
        base = rng.randint(20, 900) * (1_000 if kind == Kind.CURRENCY else 1)
        factor = rng.uniform(0.4, 0.8) if decreasing else rng.uniform(1.3, 2.5)
        step = 1_000 if kind == Kind.CURRENCY else 1
        return Decimal(base), Decimal(round(base * factor / step) * step)

    def _schedule(self, team: Team, cycle: Cycle) -> tuple[list[datetime], list[float]]:
        """The team's check-in times in the cycle up to today, and the share of the cycle
        elapsed at each; shared by all of the team's key results in that cycle."""
        key = (team.pk, cycle.pk)
        if key not in self.schedules:
            weeks = cycle_weeks(cycle, team.checkin_weekday, before=self.today)
            self.schedules[key] = (
                [moment(day, team.checkin_hour) for day, _share in weeks],
                [share for _day, share in weeks],
            )
        return self.schedules[key]

    # --- Check-ins --------------------------------------------------------------------------

    def _checkin_rows(self) -> Iterator[tuple[object, ...]]:
        """Rows in ``CHECKIN_FIELDS`` order, drawn key result by key result."""
        for key_result, story in self.stories:
            for at, value, confidence, note, blocker in story.checkins():
                yield key_result.pk, key_result.owner_id, value, confidence, note, blocker, at


def _rollup_key_result(objective: Objective, team: Team) -> KeyResult:
    return KeyResult(
        objective=objective,
        title=f"The teams in {team.name} reach their aligned objectives",
        owner=objective.owner,
        kind=Kind.PERCENT,
        unit="%",
        start_value=Decimal(0),
        target_value=Decimal(100),
        current_value=Decimal(0),
        progress_source=KeyResult.ProgressSource.ROLLUP,
        position=0,
    )


def _copy_checkins(rows: Iterable[tuple[object, ...]]) -> None:
    """PostgreSQL's COPY: an order of magnitude faster than INSERTs for a million rows."""
    columns = [CheckIn._meta.get_field(name).column for name in CHECKIN_FIELDS]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(CheckIn._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _insert_checkins(rows: Iterable[tuple[object, ...]]) -> None:
    """Other databases (SQLite in tests and the embedded default): batched INSERTs."""
    attnames = [CheckIn._meta.get_field(name).attname for name in CHECKIN_FIELDS]
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_SIZE)):
        CheckIn.objects.bulk_create(
            [CheckIn(**dict(zip(attnames, row, strict=True))) for row in batch],
            batch_size=BATCH_SIZE,
        )


def _counts() -> str:
    counts = {
        "teams": Team.objects.count(),
        "people": User.objects.count(),
        "memberships": Membership.objects.count(),
        "cycles": Cycle.objects.count(),
        "objectives": Objective.objects.count(),
        "key results": KeyResult.objects.count(),
        "check-ins": CheckIn.objects.count(),
    }
    return "Rows: " + ", ".join(f"{count:,} {name}" for name, count in counts.items()) + "."
