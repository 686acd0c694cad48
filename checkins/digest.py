"""The weekly digest for a team's leads: what happened since last week, in one read.

It is the team review (``checkins.reviews.team_review``) seen from the inbox, plus the
stale key results and the one or two things that most need attention. A fixed number
of queries per team.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.urls import reverse

from alignment.models import Team
from checkins import schedule
from checkins.links import absolute
from checkins.models import CheckIn
from checkins.queries import unchecked_key_results
from checkins.reviews import team_review
from goals.models import Cycle, KeyResult, Objective

# How many "most needs attention" items the digest leads with.
TOP_ITEMS = 2


@dataclass
class Digest:
    team: Team
    review_url: str
    moved: list[dict] = field(default_factory=list)  # key_result, before, after
    confidence_drops: list[dict] = field(default_factory=list)  # key_result, before, after
    blockers: list[CheckIn] = field(default_factory=list)
    stale: list[KeyResult] = field(default_factory=list)  # annotated with ``since``
    missing: list[dict] = field(default_factory=list)  # person, key_results
    top: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.moved or self.confidence_drops or self.blockers or self.stale)


def _stale_key_results(team: Team, now: dt.datetime) -> list[KeyResult]:
    return list(
        unchecked_key_results(before=schedule.stale_before(now))
        .filter(objective__team=team)
        .select_related("owner", "objective")
        .order_by("since", "pk")
    )


def _top_items(digest: Digest, attention: list[dict], now: dt.datetime) -> list[str]:
    """The one or two things to raise first: the longest-stale key result, the biggest
    confidence drop, then the key result furthest behind its pace."""
    items: list[str] = []
    if digest.stale:
        oldest = digest.stale[0]
        days = (now - oldest.since).days
        items.append(f"“{oldest.title}” ({oldest.owner}) has had no check-in for {days} days.")
    if digest.confidence_drops:
        worst = max(digest.confidence_drops, key=lambda row: row["before"] - row["after"])
        kr = worst["key_result"]
        items.append(
            f"Confidence in “{kr.title}” fell from {worst['before']} to {worst['after']}/10."
        )
    behind = sorted(
        (row for row in attention if row["behind"]),
        key=lambda row: row["key_result"].progress - row["expected"],
    )
    if behind:
        kr = behind[0]["key_result"]
        items.append(
            f"“{kr.title}” is at {kr.progress:.0%} where the pace says {behind[0]['expected']:.0%}."
        )
    return items[:TOP_ITEMS]


def build_digest(team: Team, *, now: dt.datetime, visible: QuerySet[Objective]) -> Digest:
    """The digest of ``team``'s active cycles as of ``now``, over the objectives in
    ``visible`` (all of them for the team's own leads and channel)."""
    cycles = list(Cycle.objects.filter(state=Cycle.State.ACTIVE))
    review = team_review(team, cycles, visible, now=now)
    digest = Digest(
        team=team,
        review_url=absolute(reverse("checkins:team-review", args=[team.slug])),
        moved=review.moved,
        blockers=review.blockers,
        missing=review.not_checked_in,
        stale=_stale_key_results(team, now),
    )
    digest.confidence_drops = [
        {
            "key_result": row["key_result"],
            "before": row["key_result"].previous_confidence,
            "after": row["key_result"].latest_confidence,
        }
        for row in review.attention
        if row["dropped"]
    ]
    digest.top = _top_items(digest, review.attention, now)
    return digest
