"""seed_demo: the demo company's shape, that its numbers agree with each other, and that
running it again changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Q
from django.test import override_settings
from django.utils import timezone

from alignment.models import Membership, Team, User
from checkins.models import ActionItem, CheckIn, OneOnOne, WeeklyUpdate
from goals import progress as math
from goals.models import Cycle, KeyResult, Kpi, Objective
from goals.seeding.common import SEED_PASSWORD
from tests import factories

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", public_passwords=True, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def output(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The demo, built once for this module (it takes seconds) and flushed after it,
    with the fast hasher that conftest gives every test, so a rerun hashes the same."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        yield _seed()
        call_command("flush", interactive=False)


@pytest.fixture
def active(output, db) -> Cycle:
    return Cycle.objects.get(state=Cycle.State.ACTIVE)


def _depth(objective: Objective) -> int:
    """Levels in the cascade from the top down to ``objective`` (1 for a top objective)."""
    depth = 1
    while objective.parent_id is not None:
        objective = objective.parent
        depth += 1
    return depth


def test_company_has_departments_and_teams_each_with_one_lead(output, db):
    company = Team.objects.get(parent=None)
    departments = Team.objects.filter(parent=company)
    teams = Team.objects.filter(parent__in=departments)
    assert (departments.count(), teams.count(), Team.objects.count()) == (2, 4, 7)
    teams = Team.objects.annotate(leads=Count("memberships", filter=Q(memberships__role="lead")))
    assert {team.leads for team in teams} == {1}


def test_people_have_titles_and_one_manager_chain_up_to_the_ceo(output, db):
    people = list(User.objects.all())
    assert len(people) == 25
    assert all(person.job_title and person.get_full_name() for person in people)
    ceos = [person for person in people if person.manager_id is None]
    assert [ceo.username for ceo in ceos] == ["maren"]
    for person in people:
        chain = [person]
        while chain[-1].manager is not None and len(chain) <= len(people):
            chain.append(chain[-1].manager)
        assert chain[-1] == ceos[0], f"{person} does not report up to the CEO"
    assert all(Membership.objects.filter(user=person).exists() for person in people)


def test_admin_is_a_superuser_and_everyone_shares_the_demo_password(output, db):
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert list(User.objects.filter(is_superuser=True)) == [admin]
    assert User.objects.values("password").distinct().count() == 1
    assert User.objects.get(username="aisha").check_password(SEED_PASSWORD)


def test_active_cycle_is_this_quarter_and_the_previous_one_is_closed(output, active):
    today = timezone.localdate()
    assert active.start_date <= today <= active.end_date
    assert active.start_date.day == 1 and active.start_date.month in (1, 4, 7, 10)
    closed = Cycle.objects.get(state=Cycle.State.CLOSED)
    assert closed.end_date < active.start_date
    assert Cycle.objects.count() == 2


def test_objectives_cascade_company_to_people(output, active):
    objectives = list(Objective.objects.filter(cycle=active).select_related("parent"))
    assert len(objectives) >= 15
    assert max(_depth(objective) for objective in objectives) >= 3
    assert {objective.kind for objective in objectives} == set(Objective.Kind)
    assert 1 <= sum(o.visibility == Objective.Visibility.PRIVATE for o in objectives) <= 2
    fed = [o for o in objectives if o.parent_key_result_id is not None]
    assert fed, "some objectives feed a roll-up key result"
    assert {o.parent_key_result.progress_source for o in fed} == {"rollup"}
    leads = set(Membership.objects.filter(role="lead").values_list("user_id", flat=True))
    assert any(o.owner_id not in leads for o in objectives), "some are a person's own"


def test_key_results_of_every_kind_with_a_decreasing_one(output, active):
    key_results = KeyResult.objects.filter(objective__cycle=active)
    assert set(key_results.values_list("kind", flat=True)) == set(KeyResult.Kind)
    assert any(kr.target_value < kr.start_value for kr in key_results)
    assert key_results.filter(initiatives__isnull=False).exists()


def test_checkins_span_eight_weeks_and_none_is_in_the_future(output, db):
    checkins = CheckIn.objects.select_related("key_result__objective__cycle")
    weeks = {checkin.created_at.isocalendar()[:2] for checkin in checkins}
    assert len(weeks) >= 8
    assert not CheckIn.objects.filter(created_at__gt=timezone.now()).exists()
    for checkin in checkins:
        cycle = checkin.key_result.objective.cycle
        assert cycle.start_date <= timezone.localdate(checkin.created_at) <= cycle.end_date
    assert CheckIn.objects.exclude(blocker="").exists()
    assert CheckIn.objects.filter(weekly_update__isnull=False).count() == CheckIn.objects.count()
    assert WeeklyUpdate.objects.exists()


def test_key_results_hold_their_latest_checkin(output, db):
    tracked = KeyResult.objects.filter(progress_source="checkins", checkins__isnull=False)
    assert tracked.distinct().count() >= 12  # all of the closed cycle's, at least
    for key_result in tracked.distinct():
        latest = key_result.checkins.latest()
        assert key_result.current_value == latest.value, key_result.title
        assert key_result.confidence == latest.confidence
        assert key_result.last_checkin_at == latest.created_at
        assert key_result.progress == pytest.approx(key_result.computed_progress())


def test_progress_rolls_up_as_weighted_means(output, db):
    for objective in Objective.objects.prefetch_related("key_results"):
        pairs = [(kr.progress, kr.weight) for kr in objective.key_results.all()]
        assert objective.progress == pytest.approx(math.objective_progress(pairs))
    for key_result in KeyResult.objects.filter(progress_source="rollup"):
        pairs = [(o.progress, o.parent_weight) for o in key_result.aligned_objectives.all()]
        assert pairs
        assert key_result.progress == pytest.approx(math.weighted_mean(pairs))


def test_kpis_have_weekly_readings_one_red_one_guardrail(output, db):
    kpis = list(Kpi.objects.all())
    assert 3 <= len(kpis) <= 4
    assert all(kpi.readings.count() >= 8 for kpi in kpis)
    assert not Kpi.objects.filter(readings__read_on__gt=timezone.localdate()).exists()
    assert [kpi.health for kpi in kpis].count(Kpi.Health.RED) == 1
    assert any(kpi.guarded_objectives.exists() for kpi in kpis)


def test_one_on_ones_have_notes_and_action_items(output, db):
    meetings = list(OneOnOne.objects.all())
    assert len(meetings) == 2
    for meeting in meetings:
        assert meeting.notes and meeting.report.manager == meeting.manager
        assert meeting.action_items.exists()
    done = ActionItem.objects.filter(done_at__isnull=False).select_related("one_on_one")
    assert all(item.one_on_one.held_at < item.done_at for item in done)


def test_output_tells_how_to_log_in(output):
    site = settings.SITE_URL.rstrip("/")
    assert f"{site}/ and sign in as aisha / {SEED_PASSWORD}" in output
    assert f"{site}/admin/ as admin / {SEED_PASSWORD}" in output


def _snapshot() -> dict[str, object]:
    """Row counts of every table (history included) and the values a rerun could spoil."""
    counts = {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models(include_auto_created=True)
    }
    return {
        **counts,
        "users": list(
            User.objects.order_by("pk").values_list("username", "password", "manager_id")
        ),
        "key results": list(
            KeyResult.objects.order_by("pk").values_list(
                "current_value", "confidence", "progress", "last_checkin_at", "updated_at"
            )
        ),
        "objectives": list(
            Objective.objects.order_by("pk").values_list("progress", "created_at", "updated_at")
        ),
        "check-ins": list(
            CheckIn.objects.order_by("pk").values_list("created_at", "value", "note")
        ),
        "weekly updates": list(
            WeeklyUpdate.objects.order_by("pk").values_list("what_moved", "updated_at")
        ),
        "kpis": list(Kpi.objects.order_by("pk").values_list("latest_value", "latest_read_on")),
    }


def test_running_it_again_changes_nothing(output, db):
    before = _snapshot()
    _seed()
    assert _snapshot() == before


def test_refuses_a_database_holding_another_organisation(output, db):
    factories.TeamFactory(name="Umbrella", slug="umbrella")
    users = User.objects.count()
    with pytest.raises(CommandError, match=r"another organisation.*DATABASE_URL"):
        _seed()
    assert User.objects.count() == users


@pytest.mark.django_db
def test_a_site_with_debug_off_asks_before_loading_published_passwords():
    people = User.objects.count()

    with override_settings(DEBUG=False), pytest.raises(CommandError, match="--public-passwords"):
        call_command("seed_demo", stdout=StringIO())

    assert User.objects.count() == people
