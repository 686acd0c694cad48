"""seed_scale: tier S has the proportions of L, agrees with itself, is reproducible, and
never builds into a database that holds something else."""

from __future__ import annotations

import itertools
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from alignment.models import Membership, Team, User
from checkins.models import CheckIn
from goals import progress as math
from goals.models import Cycle, KeyResult, Objective
from goals.seeding.scale import CYCLES, KEY_RESULTS_PER_OBJECTIVE, OBJECTIVES_PER_TEAM, TIERS
from tests import factories

S = TIERS["S"]


def _seed_scale(tier: str = "S") -> str:
    out = StringIO()
    call_command("seed_scale", "--tier", tier, stdout=out)
    return out.getvalue()


@pytest.fixture
def built(db) -> str:
    return _seed_scale()


def _level(team: Team) -> int:
    level = 0
    while team.parent_id is not None:
        team = team.parent
        level += 1
    return level


def test_teams_and_people_follow_the_tier(built):
    teams = list(Team.objects.select_related("parent"))
    levels = [_level(team) for team in teams]
    assert tuple(levels.count(level) for level in range(len(S.team_levels))) == S.team_levels
    assert User.objects.count() == Membership.objects.count() == S.people
    leads = Team.objects.annotate(n=Count("memberships", filter=Q(memberships__role="lead")))
    assert {team.n for team in leads} == {1}


def test_everyone_but_the_ceo_reports_to_their_lead_or_the_lead_above(built):
    lead_of = dict(Membership.objects.filter(role="lead").values_list("team_id", "user_id"))
    assert User.objects.filter(manager=None).count() == 1
    for membership in Membership.objects.select_related("user", "team"):
        team, manager_id = membership.team, membership.user.manager_id
        if membership.role == Membership.Role.MEMBER:
            assert manager_id == lead_of[team.pk]
        elif team.parent_id is not None:
            assert manager_id == lead_of[team.parent_id]


def test_eight_quarters_the_last_active_none_in_the_future(built):
    cycles = list(Cycle.objects.order_by("start_date"))
    assert len(cycles) == CYCLES
    assert [cycle.state for cycle in cycles] == ["closed"] * (CYCLES - 1) + ["active"]
    assert cycles[-1].start_date <= timezone.localdate() <= cycles[-1].end_date
    for before, after in itertools.pairwise(cycles):
        assert (after.start_date - before.end_date).days == 1


def test_goals_cascade_in_the_proportions_of_the_tier(built):
    objectives = Objective.objects.select_related("team", "parent__team")
    assert objectives.count() == sum(S.team_levels) * OBJECTIVES_PER_TEAM * CYCLES
    assert KeyResult.objects.count() == objectives.count() * KEY_RESULTS_PER_OBJECTIVE
    aligned = [objective for objective in objectives if objective.parent_id]
    assert len(aligned) > objectives.filter(team__parent=None).count()
    for objective in aligned:
        assert objective.parent.team_id == objective.team.parent_id
        assert objective.parent.cycle_id == objective.cycle_id
    rollups = KeyResult.objects.filter(progress_source="rollup")
    assert rollups.exists()
    assert not rollups.filter(aligned_objectives=None).exists()


def test_checkins_are_weekly_within_their_cycle_and_never_in_the_future(built):
    assert not CheckIn.objects.filter(created_at__gt=timezone.now()).exists()
    assert not CheckIn.objects.filter(key_result__progress_source="rollup").exists()
    closed = KeyResult.objects.filter(objective__cycle__state="closed", progress_source="checkins")
    weeks = closed.annotate(n=Count("checkins")).values_list("n", flat=True).distinct()
    assert set(weeks) <= {12, 13, 14}  # every week of a quarter of 90 to 92 days
    for checkin in CheckIn.objects.select_related("key_result__objective__cycle")[:500]:
        cycle = checkin.key_result.objective.cycle
        assert cycle.start_date <= timezone.localdate(checkin.created_at) <= cycle.end_date


def test_key_results_hold_their_latest_checkin_and_progress_rolls_up(built):
    latest = {}  # key result → its latest check-in, in one query
    for key_result_id, *state in CheckIn.objects.order_by("created_at", "pk").values_list(
        "key_result_id", "value", "confidence", "created_at"
    ):
        latest[key_result_id] = state
    closed = KeyResult.objects.filter(objective__cycle__state="closed", progress_source="checkins")
    assert not closed.exclude(pk__in=latest).exists()
    tracked = KeyResult.objects.filter(pk__in=latest)
    for key_result in tracked:
        assert [
            key_result.current_value,
            key_result.confidence,
            key_result.last_checkin_at,
        ] == latest[key_result.pk]
        assert key_result.progress == pytest.approx(key_result.computed_progress())
    for objective in Objective.objects.prefetch_related("key_results"):
        pairs = [(kr.progress, kr.weight) for kr in objective.key_results.all()]
        assert objective.progress == pytest.approx(math.objective_progress(pairs))


def test_summary_gives_rows_phase_times_and_the_login(built):
    assert f"Rows: 6 teams, {S.people} people" in built
    assert "check-ins:" in built and "roll-up:" in built
    assert "scale-s-00001 (the CEO)" in built and "waymark-demo" in built


def _fingerprint() -> list[object]:
    return [
        list(
            User.objects.order_by("pk").values_list("username", "first_name", "manager__username")
        ),
        list(
            KeyResult.objects.order_by("pk").values_list(
                "objective__team__slug", "title", "current_value", "confidence", "progress"
            )
        ),
        CheckIn.objects.aggregate(n=Count("pk"), values=Sum("value"), sure=Sum("confidence")),
    ]


def test_same_tier_on_the_same_day_builds_the_same_organisation(db):
    with transaction.atomic():
        _seed_scale()
        first = _fingerprint()
        transaction.set_rollback(True)
    _seed_scale()
    assert _fingerprint() == first


def test_second_run_reuses_the_tier(built):
    checkins = CheckIn.objects.count()
    assert "already built in this database: reusing it" in _seed_scale()
    assert CheckIn.objects.count() == checkins


def test_refuses_another_tier(built):
    with pytest.raises(CommandError, match=r"another organisation \(company: scale-s\)"):
        _seed_scale("M")


def test_refuses_a_database_with_other_teams(db):
    factories.TeamFactory(name="Umbrella", slug="umbrella")
    with pytest.raises(CommandError, match=r"company: umbrella.*separate database"):
        _seed_scale()
    assert not User.objects.exists()
