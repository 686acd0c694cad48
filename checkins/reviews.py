"""Reads for the weekly team review and for one-to-ones.

Every function runs a fixed number of queries whatever the amount of data: the "previous
check-in" of each key result is a correlated subquery, and what is derived per row (the
forecast, the sections) is computed in Python from rows already loaded.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Trim
from django.shortcuts import get_object_or_404
from django.utils import timezone

from alignment.models import Membership, Team, User
from checkins.forecast import FORECAST_WINDOW, forecast
from checkins.models import ActionItem, CheckIn, OneOnOne
from goals import progress as math
from goals.models import Cycle, KeyResult, Objective, readable_objectives

# The team review looks at this many days; a first one-to-one's agenda at AGENDA_DAYS.
REVIEW_DAYS = 7
AGENDA_DAYS = 14


@dataclass
class TeamReview:
    since: dt.datetime
    blockers: list[CheckIn] = field(default_factory=list)
    attention: list[dict] = field(default_factory=list)
    moved: list[dict] = field(default_factory=list)
    not_checked_in: list[dict] = field(default_factory=list)


def _progress(key_result: KeyResult, value) -> float:
    return math.key_result_progress(
        key_result.start_value, key_result.target_value, value, milestone=key_result.is_milestone
    )


def team_review(
    team: Team, cycles: list[Cycle], visible: QuerySet[Objective], *, now: dt.datetime
) -> TeamReview:
    """The weekly review of ``team`` in ``cycles`` (four queries, plus what ``visible``
    costs): key results with their latest, previous and week-start check-ins; the week's
    blockers; check-ins of the forecast window; the team's members."""
    since = now - dt.timedelta(days=REVIEW_DAYS)
    today = timezone.localdate(now)
    review = TeamReview(since=since)
    if not cycles:
        return review
    history = CheckIn.objects.filter(key_result=OuterRef("pk")).order_by("-created_at", "-pk")
    key_results = list(
        KeyResult.objects.filter(
            archived_at__isnull=True,
            objective__archived_at__isnull=True,
            objective__team=team,
            objective__cycle__in=cycles,
            objective__in=visible.values("pk"),
        )
        .select_related("objective__cycle", "owner")
        .annotate(
            latest_at=Subquery(history.values("created_at")[:1]),
            latest_confidence=Subquery(history.values("confidence")[:1]),
            previous_confidence=Subquery(history.values("confidence")[1:2]),
            week_start_value=Subquery(history.filter(created_at__lt=since).values("value")[:1]),
            week_checkins=Count("checkins", filter=Q(checkins__created_at__gte=since)),
        )
        .order_by("objective__title", "position", "pk")
    )
    if not key_results:
        return review
    by_pk = {kr.pk: kr for kr in key_results}

    review.blockers = list(
        CheckIn.objects.annotate(blocker_text=Trim("blocker"))
        .exclude(blocker_text="")
        .filter(created_at__gte=since, key_result__in=list(by_pk))
        .select_related("author", "key_result__objective")
        .order_by("-created_at", "-pk")
    )

    points: dict[int, list[tuple[dt.date, float]]] = defaultdict(list)
    window = CheckIn.objects.filter(
        key_result__in=list(by_pk), created_at__gte=now - FORECAST_WINDOW - dt.timedelta(days=1)
    ).order_by("created_at", "pk")
    for key_result_id, created_at, value in window.values_list(
        "key_result_id", "created_at", "value"
    ):
        kr = by_pk[key_result_id]
        points[key_result_id].append((timezone.localdate(created_at), _progress(kr, value)))

    for kr in key_results:
        cycle = kr.objective.cycle
        expected = cycle.expected_progress(today)
        dropped = (
            kr.week_checkins > 0
            and kr.previous_confidence is not None
            and kr.latest_confidence < kr.previous_confidence
        )
        behind = expected - kr.progress > math.ATTENTION_GAP
        if dropped or behind:
            review.attention.append(
                {
                    "key_result": kr,
                    "expected": expected,
                    "dropped": dropped,
                    "behind": behind,
                    "forecast": forecast(
                        points.get(kr.pk, []),
                        start=cycle.start_date,
                        end=cycle.end_date,
                        today=today,
                    ),
                }
            )
        if kr.week_checkins and kr.progress_source == KeyResult.ProgressSource.CHECKINS:
            before = _progress(
                kr,
                kr.week_start_value if kr.week_start_value is not None else kr.start_value,
            )
            if abs(before - kr.progress) > 1e-9:
                review.moved.append({"key_result": kr, "before": before, "after": kr.progress})

    members = {
        membership.user_id: membership.user
        for membership in Membership.objects.filter(team=team).select_related("user")
    }
    owned: dict[int, list[KeyResult]] = defaultdict(list)
    checked_in: set[int] = set()
    for kr in key_results:
        if kr.owner_id in members:
            owned[kr.owner_id].append(kr)
            if kr.week_checkins:
                checked_in.add(kr.owner_id)
    review.not_checked_in = sorted(
        (
            {"person": members[owner_id], "key_results": krs}
            for owner_id, krs in owned.items()
            if owner_id not in checked_in
        ),
        key=lambda row: str(row["person"]),
    )
    return review


# One-to-ones


def one_on_ones_of(user: User) -> QuerySet[OneOnOne]:
    """``user``'s one-to-ones as manager or report, with their open action items counted."""
    return (
        OneOnOne.objects.filter(Q(manager=user) | Q(report=user))
        .select_related("manager", "report")
        .annotate(open_items=Count("action_items", filter=Q(action_items__done_at__isnull=True)))
        .order_by("-scheduled_for", "-pk")
    )


def get_one_on_one_for_user(user: User, pk: int) -> OneOnOne:
    """The one-to-one ``pk`` if ``user`` is its manager or report (or a superuser);
    404 for anyone else."""
    queryset = OneOnOne.objects.select_related("manager", "report")
    if not user.is_superuser:
        queryset = queryset.filter(Q(manager=user) | Q(report=user))
    # get(), not first(): an id names one row, there is nothing to sort.
    return get_object_or_404(queryset, pk=pk)


def previous_one_on_one(one_on_one: OneOnOne) -> OneOnOne | None:
    """The pair's one-to-one before this one (one query)."""
    return (
        OneOnOne.objects.filter(
            manager_id=one_on_one.manager_id,
            report_id=one_on_one.report_id,
        )
        .filter(
            Q(scheduled_for__lt=one_on_one.scheduled_for)
            | Q(scheduled_for=one_on_one.scheduled_for, pk__lt=one_on_one.pk)
        )
        .order_by("-scheduled_for", "-pk")
        .first()
    )


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@dataclass
class Agenda:
    since: dt.datetime
    until: dt.datetime
    previous: OneOnOne | None
    checkins: list[CheckIn]

    @property
    def blockers(self) -> list[CheckIn]:
        return [checkin for checkin in self.checkins if checkin.has_blocker]

    @property
    def confidence_changes(self) -> list[CheckIn]:
        return [
            checkin
            for checkin in self.checkins
            if checkin.previous_confidence is not None
            and checkin.previous_confidence != checkin.confidence
        ]


def agenda(one_on_one: OneOnOne, reader: User, *, now: dt.datetime) -> Agenda:
    """What the report did since the pair's previous one-to-one (when it was held, else
    the start of its day), or in the ``AGENDA_DAYS`` before this one for the first; up
    to when this one was held, on the key results ``reader`` may read (two queries)."""
    previous = previous_one_on_one(one_on_one)
    until = one_on_one.held_at or now
    if previous is not None:
        since = previous.held_at or _start_of(previous.scheduled_for)
    else:
        since = until - dt.timedelta(days=AGENDA_DAYS)
    checkins = list(
        CheckIn.objects.filter(
            author_id=one_on_one.report_id,
            created_at__gte=since,
            created_at__lt=until,
        )
        .filter(readable_objectives(reader, through="key_result__objective__"))
        .annotate(
            previous_confidence=Subquery(
                CheckIn.objects.filter(
                    key_result=OuterRef("key_result"), created_at__lt=OuterRef("created_at")
                )
                .order_by("-created_at", "-pk")
                .values("confidence")[:1]
            )
        )
        .select_related("author", "key_result__objective")
        .order_by("-created_at", "-pk")
    )
    return Agenda(since=since, until=until, previous=previous, checkins=checkins)


def action_items_of(one_on_one: OneOnOne) -> list[ActionItem]:
    """The one-to-one's action items, each with its owner and where it came from or
    went to (one query)."""
    return list(
        ActionItem.objects.filter(one_on_one=one_on_one)
        .select_related("owner", "carried_from__one_on_one")
        .annotate(
            carried_on=Exists(ActionItem.objects.filter(carried_from=OuterRef("pk"))),
        )
        .order_by("done_at", "created_at", "pk")
    )
