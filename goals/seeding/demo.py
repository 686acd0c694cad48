"""Writes the demo company of ``demo_content`` through the services, idempotently.

Every row is found by its natural key (username, team slug, cycle name, objective by
cycle + team + title, key result by objective + title, check-in by key result + time)
and written only when it is missing or differs, so a second run changes nothing, not
even the history tables. Times are anchored on the cycles' dates, never on "now".

Check-ins go through ``checkin_record``, the one write path, so validation, current
values, confidence, progress and roll-up are the service's own. The service stamps them
"now"; afterwards the seed moves each new check-in to its week (and the key result's
``last_checkin_at`` with it). That is the only thing the seed writes behind a service.
Patching the clock instead would also fake every other timestamp written meanwhile.
"""

from __future__ import annotations

import itertools
import random
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import models, transaction
from django.db.models import Max

from alignment.models import Membership, Team, User
from checkins.models import ActionItem, CheckIn, OneOnOne, WeeklyUpdate
from checkins.services import checkin_record
from goals.models import Cycle, Dependency, Initiative, KeyResult, Kpi, Objective
from goals.progress import suggested_grade
from goals.seeding import demo_content as content
from goals.seeding.common import (
    SEED_PASSWORD,
    Quarter,
    cycle_weeks,
    date_goals_to_planning,
    decimal_places,
    existing_company,
    moment,
    seed_password_hash,
    weekly_days,
    weekly_values,
)
from goals.services import (
    key_result_grade,
    key_result_save,
    kpi_record_reading,
    objective_save,
    reflection_save,
)

M = TypeVar("M", bound=models.Model)


def seed_demo(*, today: date) -> list[str]:
    """Build (or bring up to date) the demo company; returns what to tell the user."""
    existing_company(content.COMPANY_SLUG, command="seed_demo")
    with transaction.atomic():
        teams = _teams()
        people = _people(teams)
        quarter = Quarter.containing(today)
        previous = _cycle(quarter.shifted(-1), today, closed_by=people["maren"])
        active = _cycle(quarter, today)
        _, previous_tracked = _goals(previous, content.PREVIOUS_OBJECTIVES, teams, people)
        objectives, active_tracked = _goals(active, content.ACTIVE_OBJECTIVES, teams, people)
        _record_checkins(previous_tracked + active_tracked, today)
        if previous.is_closed:
            _grades_and_reflections(previous, people)
        _kpis(active, teams, people, objectives, today)
        _one_on_ones(active, people, today)
        _dependencies(active, teams, people, objectives)
        for cycle in (previous, active):
            date_goals_to_planning(cycle)
    return _summary(active, people)


# --- Writing one row by its natural key --------------------------------------------------


def _validated_save(instance: models.Model) -> None:
    instance.full_clean()
    instance.save()


def upsert(
    model: type[M],
    lookup: dict[str, Any],
    values: dict[str, Any],
    save: Callable[[M], object] = _validated_save,
) -> M:
    """The row matching ``lookup``, created or updated to ``values`` (by attribute name,
    ``owner_id`` not ``owner``). Saves only when something differs, so a rerun leaves
    no new history rows and no new ``updated_at``."""
    instance = model._default_manager.filter(**lookup).first()
    if instance is None:
        instance = model(**lookup, **values)
    elif all(getattr(instance, name) == value for name, value in values.items()):
        return instance
    else:
        for name, value in values.items():
            setattr(instance, name, value)
    save(instance)
    return instance


# --- The organisation ---------------------------------------------------------------------


def _teams() -> dict[str, Team]:
    teams: dict[str, Team] = {}
    for spec in content.TEAMS:  # parents come first
        teams[spec.slug] = upsert(
            Team,
            {"slug": spec.slug},
            {
                "name": spec.name,
                "parent_id": teams[spec.parent].pk if spec.parent else None,
                "checkin_weekday": spec.checkin_weekday,
                "checkin_hour": spec.checkin_hour,
            },
        )
    return teams


def _people(teams: dict[str, Team]) -> dict[str, User]:
    people: dict[str, User] = {}
    password = seed_password_hash()
    for spec in content.PEOPLE:  # managers come first
        person = upsert(
            User,
            {"username": spec.username},
            {
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@kestrel.example",
                "job_title": spec.job_title,
                "manager_id": people[spec.manager].pk if spec.manager else None,
                "is_staff": spec.admin,
                "is_superuser": spec.admin,
                "password": password,
            },
        )
        role = Membership.Role.LEAD if spec.lead else Membership.Role.MEMBER
        upsert(Membership, {"user": person, "team": teams[spec.team]}, {"role": role})
        people[spec.username] = person
    return people


def _cycle(quarter: Quarter, today: date, closed_by: User | None = None) -> Cycle:
    state = quarter.state_on(today)
    closed = state == Cycle.State.CLOSED
    return upsert(
        Cycle,
        {"name": quarter.name},
        {
            "start_date": quarter.start,
            "end_date": quarter.end,
            "state": state,
            # Closed by the CEO on the first working morning after the quarter.
            "closed_at": moment(quarter.end + timedelta(days=1), 10) if closed else None,
            "closed_by_id": closed_by.pk if closed and closed_by else None,
        },
    )


# --- Grades and reflections of the closed quarter -----------------------------------------


def _grades_and_reflections(cycle: Cycle, people: dict[str, User]) -> None:
    """Every key result of the closed quarter graded by its owner (at its progress
    rounded to 0.1, or as ``content.GRADE_OVERRIDES`` say, with their reasons), and the
    reflections of ``content.REFLECTIONS``. Grades are dated the quarter's last day."""
    titles = {spec.key: spec.title for spec in content.PREVIOUS_OBJECTIVES}
    overrides = {
        (titles[spec.objective], spec.key_result): spec for spec in content.GRADE_OVERRIDES
    }
    graded_at = moment(cycle.end_date, 16)
    key_results = KeyResult.objects.filter(
        objective__cycle=cycle, archived_at__isnull=True
    ).select_related("objective", "owner")
    for key_result in key_results.order_by("objective_id", "position", "pk"):
        override = overrides.get((key_result.objective.title, key_result.position))
        grade = Decimal(override.grade) if override else suggested_grade(key_result.progress)
        reason = override.reason if override else ""
        if key_result.grade == grade and key_result.grade_reason == reason:
            continue
        key_result_grade(key_result=key_result, grade=grade, reason=reason, actor=key_result.owner)
        KeyResult.objects.filter(pk=key_result.pk).update(graded_at=graded_at)
    objectives = {objective.title: objective for objective in Objective.objects.filter(cycle=cycle)}
    for spec in content.REFLECTIONS:
        reflection_save(
            objective=objectives[titles[spec.objective]],
            author=people[spec.author],
            what_changed=spec.what_changed,
            what_worked=spec.what_worked,
            what_did_not=spec.what_did_not,
            learned=spec.learned,
            next_focus=spec.next_focus,
        )


# --- Goals -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tracked:
    """A key result that is checked in on, with what its story needs."""

    key_result: KeyResult
    spec: content.KeyResultSpec
    team: Team
    owner: User
    cycle: Cycle


def _goals(
    cycle: Cycle,
    specs: Sequence[content.ObjectiveSpec],
    teams: dict[str, Team],
    people: dict[str, User],
) -> tuple[dict[str, Objective], list[Tracked]]:
    """Objectives (parents first), their key results and initiatives, through the
    services so that roll-up key results follow the objectives aligned to them."""
    objectives: dict[str, Objective] = {}
    key_results: dict[str, list[KeyResult]] = {}
    tracked: list[Tracked] = []
    for spec in specs:
        objective = _objective(cycle, spec, teams, people, objectives, key_results)
        objectives[spec.key] = objective
        key_results[spec.key] = []
        for position, kr_spec in enumerate(spec.key_results):
            owner = people[kr_spec.owner or spec.owner]
            key_result = _key_result(objective, kr_spec, owner, position)
            key_results[spec.key].append(key_result)
            for initiative in kr_spec.initiatives:
                _initiative(key_result, initiative, people, cycle)
            if not kr_spec.rollup:
                tracked.append(Tracked(key_result, kr_spec, teams[spec.team], owner, cycle))
    return objectives, tracked


def _objective(
    cycle: Cycle,
    spec: content.ObjectiveSpec,
    teams: dict[str, Team],
    people: dict[str, User],
    objectives: dict[str, Objective],
    key_results: dict[str, list[KeyResult]],
) -> Objective:
    parent_kr = key_results[spec.parent][spec.parent_kr] if spec.parent_kr is not None else None
    return upsert(
        Objective,
        {"cycle": cycle, "team": teams[spec.team], "title": spec.title},
        {
            "owner_id": people[spec.owner].pk,
            "description": spec.description,
            "kind": spec.kind,
            "visibility": (
                Objective.Visibility.PRIVATE if spec.private else Objective.Visibility.PUBLIC
            ),
            "parent_id": objectives[spec.parent].pk if spec.parent else None,
            "parent_key_result_id": parent_kr.pk if parent_kr else None,
        },
        save=lambda objective: objective_save(objective=objective),
    )


def _key_result(
    objective: Objective, spec: content.KeyResultSpec, owner: User, position: int
) -> KeyResult:
    source = KeyResult.ProgressSource
    return upsert(
        KeyResult,
        {"objective": objective, "title": spec.title},
        {
            "kind": spec.kind,
            "unit": spec.unit,
            "start_value": Decimal(spec.start),
            "target_value": Decimal(spec.target),
            "owner_id": owner.pk,
            "position": position,
            "progress_source": source.ROLLUP if spec.rollup else source.CHECKINS,
        },
        save=lambda key_result: key_result_save(key_result=key_result),
    )


def _initiative(
    key_result: KeyResult,
    spec: content.InitiativeSpec,
    people: dict[str, User],
    cycle: Cycle,
) -> Initiative:
    return upsert(
        Initiative,
        {"key_result": key_result, "title": spec.title},
        {
            "owner_id": people[spec.owner].pk if spec.owner else key_result.owner_id,
            "status": spec.status,
            "due_date": cycle.start_date + timedelta(weeks=spec.due_week),
            "link": spec.link,
        },
    )


# --- Check-ins and weekly updates ----------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One week of a key result's story: what its owner checks in."""

    tracked: Tracked
    at: datetime
    previous: Decimal
    value: Decimal
    confidence: int
    note: str
    blocker: str

    @property
    def week_start(self) -> date:
        return self.at.date() - timedelta(days=self.at.weekday())


def _story(tracked: Tracked, today: date) -> list[Point]:
    """The key result's weekly check-ins up to yesterday. The whole cycle is drawn from
    a random generator seeded by the key result, then cut at today, so a week's values
    never depend on the day the seed runs."""
    spec, cycle, team = tracked.spec, tracked.cycle, tracked.team
    rng = random.Random(f"{cycle.name}/{spec.title}")  # noqa: S311 (not for security)
    weeks = cycle_weeks(cycle, team.checkin_weekday, before=cycle.end_date + timedelta(days=1))
    start, target = Decimal(spec.start), Decimal(spec.target)
    elapsed = [share for _day, share in weeks]
    weekly = weekly_values(
        rng, spec.kind, start, target, pace=spec.pace, confidence=spec.confidence, elapsed=elapsed
    )
    # A person's check-ins of a week land within the same minute, at the team's hour.
    minute = zlib.crc32(tracked.owner.username.encode()) % 45
    points = []
    for week, ((day, _share), (value, confidence)) in enumerate(zip(weeks, weekly, strict=True)):
        if day >= today:
            break
        previous = weekly[week - 1][0] if week else start
        note = spec.notes.get(week) or _generic_note(rng, previous, value, target - start)
        points.append(
            Point(
                tracked=tracked,
                at=moment(day, team.checkin_hour, minute, tracked.key_result.position),
                previous=previous,
                value=value,
                confidence=confidence,
                note=note,
                blocker=spec.blockers.get(week, ""),
            )
        )
    return points


def _generic_note(rng: random.Random, previous: Decimal, value: Decimal, span: Decimal) -> str:
    """Most check-ins carry a short note saying where the value went; some none."""
    moved = (value - previous) * (1 if span > 0 else -1)
    direction = "better" if moved > 0 else "worse" if moved < 0 else "flat"
    notes = content.NOTES_BY_DIRECTION[direction]
    return rng.choice(notes) if rng.random() < 0.7 else ""


def _record_checkins(tracked: Iterable[Tracked], today: date) -> None:
    """Each person's weekly update, then their check-ins of that week linked to it,
    week after week; check-ins already there (by key result and time) are skipped."""
    weeks: dict[tuple[date, int], list[Point]] = defaultdict(list)
    for item in tracked:
        for point in _story(item, today):
            weeks[point.week_start, point.tracked.owner.pk].append(point)
    existing = set(CheckIn.objects.values_list("key_result_id", "created_at"))
    recorded: list[CheckIn] = []
    updates: list[WeeklyUpdate] = []
    for week_start, owner_pk in sorted(weeks):
        points = sorted(weeks[week_start, owner_pk], key=lambda point: point.at)
        update = _weekly_update(points, week_start)
        updates.append(update)
        for point in points:
            if (point.tracked.key_result.pk, point.at) not in existing:
                recorded.append(_checkin(point, update))
    _move_to_their_week(recorded, updates, weeks)


def _weekly_update(points: Sequence[Point], week_start: date) -> WeeklyUpdate:
    author = points[0].tracked.owner
    moves = [
        f"{p.tracked.key_result.title}: {_shown(p.previous, p)} → {_shown(p.value, p)}"
        for p in points
        if p.value != p.previous
    ]
    focus = content.NEXT_FOCUS[
        (week_start.toordinal() // 7 + zlib.crc32(author.username.encode()))
        % len(content.NEXT_FOCUS)
    ]
    return upsert(
        WeeklyUpdate,
        {"author": author, "week_start": week_start},
        {
            "what_moved": "\n".join(moves) or "Nothing moved this week.",
            "whats_blocked": "\n".join(p.blocker for p in points if p.blocker),
            "next_focus": focus,
        },
    )


def _shown(value: Decimal, point: Point) -> str:
    """A value as the owner would write it: 97.4%, €436,000, 4.8 s, done."""
    key_result = point.tracked.key_result
    if key_result.is_milestone:
        return "done" if value == 1 else "not done"
    if key_result.kind == KeyResult.Kind.PERCENT:
        return f"{value}%"
    if key_result.kind == KeyResult.Kind.CURRENCY:
        return f"€{value:,}"
    return f"{value} {key_result.unit}".strip()


def _checkin(point: Point, update: WeeklyUpdate) -> CheckIn:
    checkin = checkin_record(
        key_result=point.tracked.key_result,
        author=point.tracked.owner,
        value=point.value,
        confidence=point.confidence,
        note=point.note,
        blocker=point.blocker,
        weekly_update=update,
    )
    checkin.created_at = point.at
    return checkin


def _move_to_their_week(
    recorded: list[CheckIn],
    updates: list[WeeklyUpdate],
    weeks: dict[tuple[date, int], list[Point]],
) -> None:
    """Give the check-ins just recorded (stamped "now" by the service) and the weekly
    updates their week's time, and each touched key result its latest check-in's."""
    CheckIn.objects.bulk_update(recorded, ["created_at"], batch_size=500)
    for update in updates:
        update.created_at = update.updated_at = min(
            point.at for point in weeks[update.week_start, update.author_id]
        )
    WeeklyUpdate.objects.bulk_update(updates, ["created_at", "updated_at"], batch_size=500)
    touched = {checkin.key_result_id for checkin in recorded}
    latest = (
        CheckIn.objects.filter(key_result_id__in=touched)
        .values("key_result_id")
        .annotate(at=Max("created_at"))
    )
    KeyResult.objects.bulk_update(
        [KeyResult(pk=row["key_result_id"], last_checkin_at=row["at"]) for row in latest],
        ["last_checkin_at"],
        batch_size=500,
    )


# --- KPIs, one-to-ones, dependencies ---------------------------------------------------------


def _kpis(
    cycle: Cycle,
    teams: dict[str, Team],
    people: dict[str, User],
    objectives: dict[str, Objective],
    today: date,
) -> None:
    """Weekly Monday readings from eight weeks before the cycle up to today."""
    mondays = weekly_days(
        cycle.start_date - timedelta(weeks=8), today, Team.Weekday.MONDAY, before=today
    )
    for spec in content.KPIS:
        kpi = upsert(
            Kpi,
            {"team": teams[spec.team], "name": spec.name},
            {
                "description": spec.description,
                "unit": spec.unit,
                "direction": spec.direction,
                "green_threshold": Decimal(spec.green),
                "red_threshold": Decimal(spec.red),
            },
        )
        kpi.guarded_objectives.set([objectives[key] for key in spec.guards])
        read = set(kpi.readings.values_list("read_on", flat=True))
        lead = _lead_of(spec.team, people)
        for day, value in zip(mondays, _readings(spec, len(mondays)), strict=True):
            if day not in read:
                kpi_record_reading(kpi=kpi, read_on=day, value=value, recorded_by=lead)


def _readings(spec: content.KpiSpec, count: int) -> list[Decimal]:
    """``count`` weekly values following the KPI's course, give or take 1.5 %."""
    rng = random.Random(spec.name)  # noqa: S311 (not for security)
    kind = KeyResult.Kind.PERCENT if spec.unit == "%" else KeyResult.Kind.NUMBER
    places = decimal_places(kind, Decimal(spec.green), Decimal(spec.red))
    return [
        Decimal(f"{_on_course(spec.course, week) * rng.gauss(1.0, 0.015):.{places}f}")
        for week in range(count)
    ]


def _on_course(course: Sequence[tuple[int, float]], week: int) -> float:
    """The course's value at ``week``: straight lines between its points, flat after."""
    for (week_a, value_a), (week_b, value_b) in itertools.pairwise(course):
        if week <= week_b:
            return value_a + (value_b - value_a) * (week - week_a) / (week_b - week_a)
    return course[-1][1]


def _lead_of(team_slug: str, people: dict[str, User]) -> User:
    return next(
        people[spec.username] for spec in content.PEOPLE if spec.team == team_slug and spec.lead
    )


def _one_on_ones(cycle: Cycle, people: dict[str, User], today: date) -> None:
    """Held (with a time) once their day has passed; until then they are scheduled."""
    for spec in content.ONE_ON_ONES:
        day = cycle.start_date + timedelta(weeks=spec.week)
        day += timedelta(days=(Team.Weekday.TUESDAY - day.weekday()) % 7)  # not a weekend
        held_at = moment(day, 14) if day < today else None
        meeting = upsert(
            OneOnOne,
            {"manager": people[spec.manager], "report": people[spec.report], "scheduled_for": day},
            {"held_at": held_at, "notes": spec.notes},
        )
        for owner, text, done in spec.action_items:
            done_at = held_at + timedelta(hours=2) if done and held_at else None
            upsert(
                ActionItem,
                {"one_on_one": meeting, "text": text},
                {"owner_id": people[owner].pk, "done_at": done_at},
            )


def _dependencies(
    cycle: Cycle,
    teams: dict[str, Team],
    people: dict[str, User],
    objectives: dict[str, Objective],
) -> None:
    """Accepted while the quarter was being planned."""
    for spec in content.DEPENDENCIES:
        upsert(
            Dependency,
            {
                "requesting_objective": objectives[spec.requesting],
                "providing_team": teams[spec.providing_team],
                "description": spec.description,
            },
            {
                "providing_objective_id": objectives[spec.providing].pk,
                "needed_by": cycle.start_date + timedelta(weeks=spec.needed_by_week),
                "state": Dependency.State.ACCEPTED,
                "response_note": spec.response_note,
                "requested_by_id": people[spec.requested_by].pk,
                "responded_by_id": people[spec.responded_by].pk,
                "responded_at": moment(cycle.start_date - timedelta(days=2), 16),
            },
        )


# --- What to tell the user ----------------------------------------------------------------


def _summary(active: Cycle, people: dict[str, User]) -> list[str]:
    site = settings.SITE_URL.rstrip("/")
    guide = people[content.LOGIN_USERNAME]
    counts = {
        "teams": Team.objects.count(),
        "people": User.objects.count(),
        "objectives": Objective.objects.count(),
        "key results": KeyResult.objects.count(),
        "check-ins": CheckIn.objects.count(),
        "KPIs": Kpi.objects.count(),
    }
    return [
        "Kestrel Bikes is ready: "
        + ", ".join(f"{count} {name}" for name, count in counts.items())
        + f"; {active.name} is the active cycle.",
        "",
        f"Open {site}/ and sign in as {guide.username} / {SEED_PASSWORD} "
        f"({guide.get_full_name()}, {guide.job_title}).",
        f"Admin: {site}/admin/ as {content.ADMIN_USERNAME} / {SEED_PASSWORD}.",
        "Every demo person has that password; usernames are first names (the CEO is maren).",
    ]
