"""When nudges are due: the week they belong to, and the teams whose moment has come.

A team's reminders go out on its check-in day from its check-in hour on (organisation
time zone), and its leads' digest on its digest day from the same hour. The tick runs
every few minutes, so a tick missed (worker or Redis down) is caught up by the next one
the same day; the once-per-week rows make catching up safe.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from alignment.models import Team


def period_of(now: dt.datetime) -> str:
    """The ISO week of ``now`` in the organisation's time zone, e.g. ``2026-W48``."""
    year, week, _ = timezone.localtime(now).isocalendar()
    return f"{year}-W{week:02d}"


def _active_teams() -> QuerySet[Team]:
    return Team.objects.filter(archived_at__isnull=True)


def checkin_teams_due(now: dt.datetime) -> QuerySet[Team]:
    """Teams whose check-in day is today and whose check-in hour has come."""
    local = timezone.localtime(now)
    return _active_teams().filter(checkin_weekday=local.weekday(), checkin_hour__lte=local.hour)


def digest_teams_due(now: dt.datetime) -> QuerySet[Team]:
    """Teams whose digest day is today and whose check-in hour has come."""
    local = timezone.localtime(now)
    return _active_teams().filter(digest_weekday=local.weekday(), checkin_hour__lte=local.hour)


def due_before(now: dt.datetime) -> dt.datetime:
    """A key result last checked in before this is due for a check-in."""
    return now - dt.timedelta(days=settings.WAYMARK["DUE_AFTER_DAYS"])


def stale_before(now: dt.datetime) -> dt.datetime:
    """A key result last checked in before this is stale and escalates."""
    return now - dt.timedelta(days=settings.WAYMARK["STALE_AFTER_DAYS"])
