"""The lessons library: reflections of closed cycles, searched and filtered, for the
people who may read them, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from goals.models import Cycle, Objective, Reflection
from tests import factories

URL = reverse("goals:lessons")


def reflect(objective, author, **answers) -> Reflection:
    return Reflection.objects.create(objective=objective, author=author, **answers)


def graded(cycle, team, owner, grades, *, title, **extra) -> Objective:
    """An objective with one key result per ``(grade, weight)``."""
    objective = factories.ObjectiveFactory(
        cycle=cycle, team=team, owner=owner, title=title, **extra
    )
    for grade, weight in grades:
        factories.KeyResultFactory(
            objective=objective,
            grade=None if grade is None else Decimal(grade),
            weight=Decimal(weight),
        )
    return objective


@pytest.fixture
def library(org):
    closed = factories.CycleFactory(
        name="2025 Q3",
        start_date=dt.date(2025, 7, 1),
        end_date=dt.date(2025, 9, 30),
        state=Cycle.State.CLOSED,
    )
    # (1.0 × 1 + 0.8 × 3) / 4 = 0.85 → delivered.
    onboarding = graded(
        closed, org.product, org.owner, [("1.0", 1), ("0.8", 3)], title="Faster onboarding"
    )
    reflect(
        onboarding,
        org.owner,
        what_worked="Pairing new riders with a mentor.",
        learned="Checklists beat videos.",
    )
    # (0.5 + 0.7) / 2 = 0.6 (the ungraded one left out) → progress.
    pricing = graded(
        closed,
        org.product,
        org.owner,
        [("0.5", 1), ("0.7", 1), (None, 1)],
        title="Pricing page",
        kind=Objective.Kind.ASPIRATIONAL,
    )
    reflect(pricing, org.owner, what_did_not="The onboarding survey got no answers.")
    # 0.6 and 0.7: the mean is 0.65, which rounds to 0.7 → delivered.
    edge = graded(closed, org.sales, org.outsider, [("0.6", 1), ("0.7", 1)], title="Edge")
    reflect(edge, org.outsider, next_focus="Renewals.")
    # 0.1 → missed.
    pipeline = graded(closed, org.sales, org.outsider, [("0.1", 1)], title="Pipeline")
    reflect(pipeline, org.outsider, what_changed="Two reps left.")
    # A private one of Product, and one in the active cycle: not for everyone.
    secret = graded(
        closed,
        org.product,
        org.owner,
        [("0.2", 1)],
        title="Secret merger",
        visibility=Objective.Visibility.PRIVATE,
    )
    reflect(secret, org.owner, learned="Keep it quiet.")
    current = graded(org.cycle, org.product, org.owner, [("0.9", 1)], title="Ongoing")
    reflect(current, org.owner, learned="Too early.")
    return closed


def titles(response) -> list[str]:
    return [item["objective"].title for item in response.context["items"]]


def test_lists_closed_cycles_reflections_with_their_grade_band(org, library, login):
    response = login(org.lead).get(URL)
    assert response.status_code == 200
    items = {item["objective"].title: item for item in response.context["items"]}
    assert set(items) == {"Faster onboarding", "Pricing page", "Edge", "Pipeline", "Secret merger"}
    assert items["Faster onboarding"]["grade"] == pytest.approx(0.85)
    assert items["Faster onboarding"]["band"] == "delivered"
    assert items["Pricing page"]["band"] == "progress"
    assert items["Edge"]["band"] == "delivered"
    assert items["Pipeline"]["band"] == "missed"
    # Empty answers are left out.
    assert items["Faster onboarding"]["answers"] == [
        ("What worked", "Pairing new riders with a mentor."),
        ("What we learned", "Checklists beat videos."),
    ]
    content = response.content.decode()
    assert "0.85 · Delivered" in content
    assert "What didn&#x27;t work" in content


def test_outsider_does_not_see_private_reflections(org, library, login):
    response = login(org.outsider).get(URL)
    assert "Secret merger" not in titles(response)
    assert "Keep it quiet" not in response.content.decode()
    assert login(org.outsider).get(URL, {"q": "quiet"}).context["items"] == []


def test_search_covers_answers_and_title(org, library, login):
    client = login(org.lead)
    # "onboarding" is in one title and in another objective's answer.
    assert sorted(titles(client.get(URL, {"q": "ONBOARDING"}))) == [
        "Faster onboarding",
        "Pricing page",
    ]
    assert titles(client.get(URL, {"q": "renewals"})) == ["Edge"]
    assert titles(client.get(URL, {"q": "nothing like this"})) == []


def test_filter_by_team_and_its_sub_teams(org, library, login):
    client = login(org.lead)
    assert sorted(titles(client.get(URL, {"team": "sales"}))) == ["Edge", "Pipeline"]
    assert titles(client.get(URL, {"team": "company"})) == []
    assert len(titles(client.get(URL, {"team": "company", "below": "1"}))) == 5
    assert client.get(URL, {"team": "nope"}).status_code == 404


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("missed", ["Pipeline", "Secret merger"]),
        ("progress", ["Pricing page"]),
        ("delivered", ["Edge", "Faster onboarding"]),
        ("whatever", ["Edge", "Faster onboarding", "Pipeline", "Pricing page", "Secret merger"]),
    ],
)
def test_filter_by_outcome(org, library, login, outcome, expected):
    assert sorted(titles(login(org.lead).get(URL, {"outcome": outcome}))) == expected


def test_pages_of_twenty_keep_the_filters(org, library, login):
    for n in range(25):
        objective = graded(library, org.sales, org.outsider, [("0.2", 1)], title=f"Old {n}")
        reflect(objective, org.outsider, learned="Lesson")
    client = login(org.lead)
    first = client.get(URL, {"q": "lesson"})
    assert len(first.context["items"]) == 20
    assert 'href="?q=lesson&amp;page=2"' in first.content.decode()
    assert len(client.get(URL, {"q": "lesson", "page": 2}).context["items"]) == 5


def test_query_count_does_not_grow_with_the_library(org, library, login):
    client = login(org.lead)

    def count():
        with CaptureQueriesContext(connection) as context:
            response = client.get(URL, {"team": "company", "below": "1", "outcome": "missed"})
            assert response.status_code == 200
        return len(context)

    small = count()
    for n in range(40):
        team = factories.TeamFactory(parent=org.sales)
        objective = graded(library, team, org.outsider, [("0.1", 1), ("0.2", 2)], title=f"X{n}")
        reflect(objective, org.outsider, learned="More")
    assert count() == small
    assert small <= 10
