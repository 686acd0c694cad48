"""The calibration report: figures worked out by hand on a small history, the pure rules,
who sees what, and a query count that does not grow with the history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from goals import calibration
from goals.models import Cycle, KeyResult, Objective
from tests import factories

URL = reverse("goals:calibration")
D = Decimal


def at(day: str) -> dt.datetime:
    """Noon, local time, on ``day`` (YYYY-MM-DD)."""
    return timezone.make_aware(dt.datetime.fromisoformat(day).replace(hour=12))


def checkin(kr: KeyResult, day: str, confidence: int) -> None:
    factories.CheckInFactory(key_result=kr, created_at=at(day), confidence=confidence)


@pytest.fixture
def history(org):
    """Two closed cycles, Product (owner, teammate) and Sales (outsider), 9 key results
    of which 8 graded.

    Q3: 7–27 Jul 2025, Monday to Sunday: weeks of 7, 14 and 21 Jul (3 weeks).
    Q4: Wed 1 Oct – Mon 20 Oct 2025: weeks of 29 Sep, 6, 13 and 20 Oct (4 weeks).
    """
    q3 = factories.CycleFactory(
        name="2025 Q3",
        start_date=dt.date(2025, 7, 7),
        end_date=dt.date(2025, 7, 27),
        state=Cycle.State.CLOSED,
    )
    q4 = factories.CycleFactory(
        name="2025 Q4",
        start_date=dt.date(2025, 10, 1),
        end_date=dt.date(2025, 10, 20),
        state=Cycle.State.CLOSED,
    )
    committed, aspirational = Objective.Kind.COMMITTED, Objective.Kind.ASPIRATIONAL
    p1 = factories.ObjectiveFactory(cycle=q3, team=org.product, owner=org.owner, kind=committed)
    p2 = factories.ObjectiveFactory(cycle=q4, team=org.product, owner=org.owner, kind=aspirational)
    s1 = factories.ObjectiveFactory(cycle=q3, team=org.sales, owner=org.outsider, kind=committed)
    s2 = factories.ObjectiveFactory(cycle=q4, team=org.sales, owner=org.outsider, kind=aspirational)

    def kr(objective, owner, grade, weight=1):
        return factories.KeyResultFactory(
            objective=objective,
            owner=owner,
            grade=None if grade is None else D(grade),
            weight=D(weight),
        )

    k = {
        1: kr(p1, org.owner, "1.00"),
        2: kr(p1, org.teammate, "0.80", weight=3),
        3: kr(p2, org.owner, "0.50"),
        4: kr(p2, org.teammate, "0.70"),
        5: kr(p2, org.teammate, None),
        6: kr(s1, org.outsider, "0.20"),
        7: kr(s1, org.outsider, "0.30"),
        8: kr(s2, org.outsider, "0.00"),
        9: kr(s2, org.outsider, "0.00"),
    }
    # Left out: an archived key result, and a graded one of the active cycle.
    archived = kr(p1, org.owner, "0.00")
    KeyResult.objects.filter(pk=archived.pk).update(archived_at=timezone.now())
    current = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner)
    kr(current, org.owner, "0.30")

    checkin(k[1], "2025-07-08", 9)
    checkin(k[1], "2025-07-09", 7)  # same week as the 8th
    checkin(k[1], "2025-07-22", 8)
    checkin(k[1], "2025-07-30", 1)  # after the cycle: not counted
    checkin(k[2], "2025-07-15", 6)
    for day in ("2025-07-07", "2025-07-14", "2025-07-21", "2025-07-27"):  # 27th: a Sunday
        checkin(k[6], day, 8)
    checkin(k[3], "2025-09-30", 2)  # the day before the cycle: not counted
    checkin(k[3], "2025-10-02", 5)
    checkin(k[3], "2025-10-20", 4)
    checkin(k[4], "2025-10-08", 7)
    checkin(k[5], "2025-10-08", 3)
    checkin(k[5], "2025-10-15", 3)
    checkin(k[8], "2025-10-06", 3)
    return k


def lines(response, key="team_lines"):
    return {line.label: line.group for line in response.context[key]}


def test_team_figures_match_the_hand_arithmetic(org, history, login):
    response = login(org.lead).get(URL)
    assert response.status_code == 200
    teams = lines(response)
    assert set(teams) == {"Product", "Sales"}
    product, sales = teams["Product"], teams["Sales"]

    # Product grades 1.0, 0.8, 0.5, 0.7 (k5 ungraded; the archived and active ones left out).
    assert (product.key_results, product.graded) == (5, 4)
    assert product.distribution == {"missed": 0, "progress": 1, "delivered": 3}
    assert product.mean == pytest.approx(3.0 / 4, abs=1e-9)  # 0.75: no signal
    assert product.committed_mean == pytest.approx((1.0 + 0.8) / 2, abs=1e-9)  # 0.9
    assert product.aspirational_mean == pytest.approx((0.5 + 0.7) / 2, abs=1e-9)  # 0.6
    assert product.signals == []
    # Rhythm: k1 2/3 weeks, k2 1/3, k3 2/4 (30 Sep is before the start), k4 1/4, k5 2/4.
    assert product.rhythm == pytest.approx((2 / 3 + 1 / 3 + 2 / 4 + 1 / 4 + 2 / 4) / 5, abs=1e-9)
    # Brier: k1 p=(9+7+8)/3/10=0.8, o=1 → 0.04; k2 p=0.6, o=1 → 0.16;
    # k3 p=(5+4)/2/10=0.45, o=0 → 0.2025; k4 p=0.7, o=1 → 0.09. Mean 0.4925/4 = 0.123125.
    assert product.forecasts == 4
    assert product.brier == pytest.approx(0.123125, abs=1e-9)
    assert product.reading == "well calibrated"
    # Said 2.55/4 = 63.75% on average, delivered 3/4: more than 10 points under.
    assert product.mean_forecast == pytest.approx(0.6375, abs=1e-9)
    assert product.delivered_share == pytest.approx(0.75, abs=1e-9)
    assert product.bias == "under-confident"
    # Buckets: k2 6 and k3 4.5→5 in 4–6 (one delivered); k1 8 and k4 7 in 7–8 (both).
    assert [(b.label, b.forecasts, b.delivered) for b in product.reliability] == [
        ("1–3", 0, 0),
        ("4–6", 2, 1),
        ("7–8", 2, 2),
        ("9–10", 0, 0),
    ]

    # Sales grades 0.2, 0.3, 0.0, 0.0: all missed, mean 0.125 ≤ 0.15 over 4 → too absurd.
    assert sales.distribution == {"missed": 4, "progress": 0, "delivered": 0}
    assert sales.mean == pytest.approx(0.5 / 4, abs=1e-9)
    assert sales.committed_mean == pytest.approx(0.25, abs=1e-9)
    assert sales.aspirational_mean == pytest.approx(0.0, abs=1e-9)
    assert [hint.rule for hint in sales.signals] == ["too-absurd"]
    # Rhythm: k6 3/3 (four check-ins, one a week), k7 0, k8 1/4, k9 0.
    assert sales.rhythm == pytest.approx((1 + 0 + 1 / 4 + 0) / 4, abs=1e-9)
    # Brier: k6 p=0.8, o=0 → 0.64; k8 p=0.3, o=0 → 0.09. Mean 0.73/2 = 0.365.
    assert sales.brier == pytest.approx(0.365, abs=1e-9)
    assert (sales.reading, sales.bias) == ("poorly calibrated", "over-confident")
    assert [(b.forecasts, b.delivered) for b in sales.reliability] == [
        (1, 0),
        (0, 0),
        (1, 0),
        (0, 0),
    ]
    content = response.content.decode()
    assert "well calibrated, under-confident" in content
    assert "too few forecasts to judge" in content  # Sales has only 2 forecasts
    assert "Too absurd" in content


def test_people_of_a_team_match_the_hand_arithmetic(org, history, login):
    response = login(org.lead).get(URL, {"team": "product"})
    people = lines(response, "people_lines")
    assert set(people) == {"Olu Owner", "Tia Mate"}
    owner, mate = people["Olu Owner"], people["Tia Mate"]
    # Owner: k1 1.0 (committed), k3 0.5 (aspirational).
    assert owner.distribution == {"missed": 0, "progress": 1, "delivered": 1}
    assert (owner.committed_mean, owner.aspirational_mean) == (
        pytest.approx(1.0),
        pytest.approx(0.5),
    )
    assert owner.rhythm == pytest.approx((2 / 3 + 2 / 4) / 2, abs=1e-9)  # 7/12
    assert owner.brier == pytest.approx((0.04 + 0.2025) / 2, abs=1e-9)  # 0.12125
    # Teammate: k2 0.8 (committed), k4 0.7 (aspirational), k5 ungraded.
    assert mate.distribution == {"missed": 0, "progress": 0, "delivered": 2}
    assert mate.committed_mean == pytest.approx(0.8, abs=1e-9)
    assert mate.aspirational_mean == pytest.approx(0.7, abs=1e-9)
    assert mate.rhythm == pytest.approx((1 / 3 + 1 / 4 + 2 / 4) / 3, abs=1e-9)  # 13/36
    assert mate.brier == pytest.approx((0.16 + 0.09) / 2, abs=1e-9)  # 0.125
    assert "People of Product" in response.content.decode()


def test_private_goals_stay_out_of_an_outsiders_figures(org, history, login):
    secret = factories.ObjectiveFactory(
        cycle=history[1].objective.cycle,
        team=org.product,
        owner=org.owner,
        visibility=Objective.Visibility.PRIVATE,
        title="Secret pricing",
    )
    factories.KeyResultFactory(objective=secret, grade=D("0.10"))
    assert lines(login(org.outsider).get(URL))["Product"].graded == 4
    assert lines(login(org.lead).get(URL))["Product"].graded == 5


def test_unknown_team_is_a_404(org, login):
    assert login(org.lead).get(URL, {"team": "nope"}).status_code == 404


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302


def test_an_empty_history_says_so(org, login):
    response = login(org.owner).get(URL)
    assert "No graded key results in closed cycles" in response.content.decode()


def test_timid_signal_and_segments():
    rows = [
        calibration.KeyResultRow(
            key_result_id=n,
            team_id=1,
            owner_id=1,
            kind="committed",
            grade=D("1.0") if n else D("0.9"),
            weight=1,
            cycle_start=dt.date(2025, 1, 1),
            cycle_end=dt.date(2025, 3, 31),
        )
        for n in range(5)
    ]
    group = calibration.calibrate(rows)
    # (0.9 + 4 × 1.0) / 5 = 0.98 ≥ 0.95 over 5 grades.
    assert [hint.rule for hint in group.signals] == ["too-timid"]
    assert group.brier is None and group.reading == "no forecasts"
    assert group.rhythm == 0
    segments = calibration.stacked_segments({"missed": 1, "progress": 1, "delivered": 1})
    assert [(s.x, s.width) for s in segments] == [(0, 33.33), (33.33, 33.33), (66.66, 33.34)]


def test_confidence_buckets_round_half_up():
    assert calibration.confidence_bucket(3.4) == "1–3"
    assert calibration.confidence_bucket(3.5) == "4–6"
    assert calibration.confidence_bucket(8.5) == "9–10"
    assert calibration.cycle_weeks(dt.date(2025, 10, 1), dt.date(2025, 10, 20)) == 4


def _grow(org, cycle, n):
    for i in range(n):
        team = factories.TeamFactory(parent=org.company)
        person = factories.UserFactory()
        factories.MembershipFactory(user=person, team=team)
        objective = factories.ObjectiveFactory(cycle=cycle, team=team, owner=person)
        for grade in ("0.2", "0.9"):
            kr = factories.KeyResultFactory(objective=objective, grade=D(grade))
            checkin(kr, "2025-07-10", 1 + i % 10)
    return team


def test_query_count_does_not_grow_with_history(org, history, login):
    client = login(org.lead)
    cycle = history[1].objective.cycle

    def count():
        with CaptureQueriesContext(connection) as context:
            assert client.get(URL, {"team": "product"}).status_code == 200
        return len(context)

    _grow(org, cycle, 1)
    small = count()
    _grow(org, cycle, 20)
    assert count() == small
    assert small <= 10
