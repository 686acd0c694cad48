"""Roll-up in the background, the repair command, snapshots, and the forest under
concurrent re-alignment."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from alignment import rollup, tasks
from checkins.services import checkin_record
from goals import services
from goals.models import KeyResult, Objective, ObjectiveSnapshot
from okr_site.celery import app
from tests import factories

ROLLUP = KeyResult.ProgressSource.ROLLUP


@pytest.fixture
def cascade(db):
    """A company key result in roll-up mode, fed by a team objective with one key result."""
    company_kr = factories.KeyResultFactory(progress_source=ROLLUP)
    team = factories.ObjectiveFactory(
        cycle=company_kr.objective.cycle,
        parent=company_kr.objective,
        parent_key_result=company_kr,
    )
    return company_kr, team, factories.KeyResultFactory(objective=team)


def test_with_a_broker_the_climb_is_queued_after_commit(
    cascade, django_capture_on_commit_callbacks
):
    company_kr, team, team_kr = cascade
    app.conf.task_always_eager = False
    try:
        with (
            mock.patch.object(tasks.rollup_from, "delay") as delay,
            django_capture_on_commit_callbacks(execute=True) as callbacks,
        ):
            checkin_record(
                key_result=team_kr, author=team_kr.owner, value=Decimal(50), confidence=7
            )
            delay.assert_not_called()  # nothing leaves before the commit
    finally:
        app.conf.task_always_eager = True
    assert len(callbacks) == 1
    delay.assert_called_once_with(team.pk)
    team.refresh_from_db()
    assert team.progress == pytest.approx(0.5)  # the own objective follows at once
    company_kr.refresh_from_db()
    assert company_kr.progress == 0.0  # the climb waits for the worker

    tasks.rollup_from(team.pk)  # what the worker runs
    company_kr.refresh_from_db()
    assert company_kr.progress == pytest.approx(0.5)


def test_in_process_the_climb_happens_at_once(cascade):
    company_kr, _, team_kr = cascade
    checkin_record(key_result=team_kr, author=team_kr.owner, value=Decimal(30), confidence=7)
    company_kr.refresh_from_db()
    assert company_kr.progress == pytest.approx(0.3)


def test_repair_command_rebuilds_drifted_progress_and_reports(cascade):
    company_kr, _, team_kr = cascade
    checkin_record(key_result=team_kr, author=team_kr.owner, value=Decimal(80), confidence=7)
    Objective.objects.update(progress=0)
    KeyResult.objects.filter(pk=company_kr.pk).update(progress=0)

    out = StringIO()
    call_command("recompute_progress", "--snapshot", stdout=out)

    company_kr.refresh_from_db()
    assert company_kr.progress == pytest.approx(0.8)
    assert "Recomputed 2 objectives in" in out.getvalue()
    assert "Recorded 2 snapshots" in out.getvalue()


def test_snapshots_are_one_a_day_and_follow_the_latest_progress(cascade):
    _, team, _ = cascade
    day = dt.date(2026, 11, 24)
    rollup.take_snapshots(day=day)
    Objective.objects.filter(pk=team.pk).update(progress=0.4)
    rollup.take_snapshots(day=day)
    snapshot = ObjectiveSnapshot.objects.get(objective=team, day=day)
    assert snapshot.progress == pytest.approx(0.4)
    assert ObjectiveSnapshot.objects.filter(day=day).count() == 2


def test_objectives_of_closed_cycles_are_not_snapshotted(cascade):
    _, team, _ = cascade
    team.cycle.state = "closed"
    team.cycle.save()
    assert rollup.take_snapshots(day=dt.date(2026, 11, 24)) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_realignments_cannot_close_a_loop():
    """A under B and B under A, at the same moment: one wins, the other is refused."""
    cycle = factories.CycleFactory()
    first = factories.ObjectiveFactory(cycle=cycle, title="A")
    second = factories.ObjectiveFactory(cycle=cycle, title="B")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def align(child_pk: int, parent_pk: int) -> None:
        try:
            child = Objective.objects.get(pk=child_pk)
            child.parent_id = parent_pk
            barrier.wait()
            services.objective_save(objective=child)
            outcomes.append("saved")
        except ValidationError as error:
            outcomes.append(" ".join(error.messages))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=align, args=(first.pk, second.pk)),
        threading.Thread(target=align, args=(second.pk, first.pk)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == [
        "That objective is aligned below this one: it would make a loop.",
        "saved",
    ]
    parents = dict(Objective.objects.values_list("pk", "parent_id"))
    assert not (parents[first.pk] == second.pk and parents[second.pk] == first.pk)
