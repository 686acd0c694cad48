"""Roll-up through the cascade on hand-checked examples."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alignment import rollup
from checkins.services import checkin_record
from goals import services
from goals.models import KeyResult, Objective
from tests import factories

ROLLUP = KeyResult.ProgressSource.ROLLUP


def record(key_result: KeyResult, value) -> None:
    checkin_record(
        key_result=key_result, author=key_result.owner, value=Decimal(value), confidence=7
    )


def progress_of(row) -> float:
    row.refresh_from_db()
    return row.progress


@pytest.mark.django_db
def test_objective_progress_is_weighted_and_handles_decreasing_key_results():
    objective = factories.ObjectiveFactory()
    signups = factories.KeyResultFactory(objective=objective, start_value=0, target_value=100)
    churn = factories.KeyResultFactory(
        objective=objective, start_value=8, target_value=4, current_value=8, weight=Decimal(3)
    )
    record(signups, 40)  # 0.4, weight 1
    record(churn, 5)  # (5 - 8) / (4 - 8) = 0.75, weight 3
    # (0.4 * 1 + 0.75 * 3) / 4 = 0.6625
    assert progress_of(objective) == pytest.approx(0.6625)


@pytest.mark.django_db
def test_rollup_mode_climbs_two_levels():
    company = factories.ObjectiveFactory(title="Company")
    company_kr = factories.KeyResultFactory(objective=company, progress_source=ROLLUP)
    company_other = factories.KeyResultFactory(objective=company, start_value=0, target_value=10)
    team = factories.ObjectiveFactory(
        title="Team", cycle=company.cycle, parent=company, parent_key_result=company_kr
    )
    team_kr = factories.KeyResultFactory(objective=team, progress_source=ROLLUP)
    person_a = factories.ObjectiveFactory(
        cycle=company.cycle, parent=team, parent_key_result=team_kr, parent_weight=Decimal(1)
    )
    person_b = factories.ObjectiveFactory(
        cycle=company.cycle, parent=team, parent_key_result=team_kr, parent_weight=Decimal(3)
    )
    a_kr = factories.KeyResultFactory(objective=person_a)
    b_kr = factories.KeyResultFactory(objective=person_b)

    record(a_kr, 100)  # person A: 1.0
    record(b_kr, 20)  # person B: 0.2
    record(company_other, 5)  # company's own key result: 0.5

    # team key result: (1.0 * 1 + 0.2 * 3) / 4 = 0.4; team objective has only it: 0.4
    assert progress_of(team_kr) == pytest.approx(0.4)
    assert progress_of(team) == pytest.approx(0.4)
    # company key result takes the team's 0.4; company = (0.4 + 0.5) / 2 = 0.45
    assert progress_of(company_kr) == pytest.approx(0.4)
    assert progress_of(company) == pytest.approx(0.45)


@pytest.mark.django_db
def test_moving_an_objective_to_another_parent_updates_both_parents():
    cycle = factories.CycleFactory()
    old_parent_kr = factories.KeyResultFactory(
        objective=factories.ObjectiveFactory(cycle=cycle), progress_source=ROLLUP
    )
    new_parent_kr = factories.KeyResultFactory(
        objective=factories.ObjectiveFactory(cycle=cycle), progress_source=ROLLUP
    )
    child = factories.ObjectiveFactory(
        cycle=cycle, parent=old_parent_kr.objective, parent_key_result=old_parent_kr
    )
    record(factories.KeyResultFactory(objective=child), 80)
    assert progress_of(old_parent_kr) == pytest.approx(0.8)

    child.parent = new_parent_kr.objective
    child.parent_key_result = new_parent_kr
    services.objective_save(objective=child)

    assert progress_of(new_parent_kr) == pytest.approx(0.8)
    assert progress_of(old_parent_kr) == 0.0


@pytest.mark.django_db
def test_archived_key_results_and_objectives_stop_counting():
    objective = factories.ObjectiveFactory()
    kept = factories.KeyResultFactory(objective=objective)
    dropped = factories.KeyResultFactory(objective=objective)
    record(kept, 50)
    record(dropped, 100)
    assert progress_of(objective) == pytest.approx(0.75)
    services.key_result_archive(key_result=dropped)
    assert progress_of(objective) == pytest.approx(0.5)


@pytest.mark.django_db
def test_full_recompute_repairs_drifted_progress():
    parent_kr = factories.KeyResultFactory(progress_source=ROLLUP)
    child = factories.ObjectiveFactory(
        cycle=parent_kr.objective.cycle,
        parent=parent_kr.objective,
        parent_key_result=parent_kr,
    )
    record(factories.KeyResultFactory(objective=child), 60)
    Objective.objects.update(progress=0)
    KeyResult.objects.filter(pk=parent_kr.pk).update(progress=0)

    assert rollup.recompute_all() == 2
    assert progress_of(child) == pytest.approx(0.6)
    assert progress_of(parent_kr) == pytest.approx(0.6)
    assert progress_of(parent_kr.objective) == pytest.approx(0.6)


@pytest.mark.django_db
def test_full_recompute_repairs_a_roll_up_key_result_that_nothing_feeds_any_more():
    parent_kr = factories.KeyResultFactory(progress_source=ROLLUP)
    KeyResult.objects.filter(pk=parent_kr.pk).update(progress=0.7)

    rollup.recompute_all()

    assert progress_of(parent_kr) == 0.0
    assert progress_of(parent_kr.objective) == 0.0


@pytest.mark.django_db
def test_a_recompute_that_changes_nothing_writes_no_row():
    objective = factories.ObjectiveFactory()
    record(factories.KeyResultFactory(objective=objective), 60)
    rollup.recompute_all()
    Objective.objects.filter(pk=objective.pk).update(progress=0.25)
    # Only the drifted row is written: the UPDATE's own filter skips rows already right.
    updated = Objective.objects.filter(rollup._changed(rollup.OBJECTIVE_FIELDS)).count()
    assert updated == 1
    rollup.recompute_all()
    assert Objective.objects.filter(rollup._changed(rollup.OBJECTIVE_FIELDS)).count() == 0
    assert progress_of(objective) == pytest.approx(0.6)


@pytest.mark.django_db
def test_distinct_from_counts_null_as_a_value():
    objective = factories.ObjectiveFactory()  # no key results: lowest confidence NULL
    Objective.objects.filter(pk=objective.pk).update(lowest_confidence=None, progress=0.5)
    rows = Objective.objects.filter(pk=objective.pk)
    assert not rows.filter(lowest_confidence__distinct_from=None).exists()
    assert rows.filter(lowest_confidence__distinct_from=3).exists()
    assert not rows.filter(progress__distinct_from=0.5).exists()
    assert rows.filter(progress__distinct_from=0.75).exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_objectives_and_key_results_leave_room_for_updates_in_place():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)",
            [["goals_objective", "goals_keyresult"]],
        )
        options = dict(cursor.fetchall())
    assert options == {
        "goals_objective": ["fillfactor=80"],
        "goals_keyresult": ["fillfactor=80"],
    }


@pytest.mark.django_db
def test_objective_keeps_its_lowest_confidence_and_oldest_check_in_through_check_ins():
    """What "needs attention" reads on the objective's row follows every check-in."""
    objective = factories.ObjectiveFactory()
    first, second = factories.KeyResultFactory.create_batch(2, objective=objective)
    checkin_record(key_result=first, author=first.owner, value=Decimal(10), confidence=8)
    checkin_record(key_result=second, author=second.owner, value=Decimal(20), confidence=3)
    objective.refresh_from_db()
    first.refresh_from_db()
    assert objective.lowest_confidence == 3
    assert objective.stalest_checkin_at == first.last_checkin_at

    checkin_record(key_result=second, author=second.owner, value=Decimal(30), confidence=9)
    objective.refresh_from_db()
    assert objective.lowest_confidence == 8

    services.key_result_archive(key_result=first)
    objective.refresh_from_db()
    second.refresh_from_db()
    assert objective.lowest_confidence == 9  # archived key results don't count
    assert objective.stalest_checkin_at == second.last_checkin_at
