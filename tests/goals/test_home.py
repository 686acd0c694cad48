"""The home page ("my week") after login."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checkins.services import checkin_record
from goals.models import Cycle, Objective
from tests import factories

HOME = reverse("goals:home")


def test_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_login_with_the_right_password_lands_on_home(client, org):
    response = client.post(
        reverse("login"),
        {"username": "owner", "password": factories.TEST_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == HOME
    assert "My week" in response.content.decode()


def test_login_with_a_wrong_password_says_so(client, org):
    response = client.post(reverse("login"), {"username": "owner", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_home_lists_my_objectives_and_key_results_with_progress(org, login):
    objective = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="Delight new riders"
    )
    key_result = factories.KeyResultFactory(
        objective=objective,
        title="Activation from 20% to 60%",
        kind="percent",
        start_value=20,
        target_value=60,
        current_value=20,
    )
    checkin_record(key_result=key_result, author=org.owner, value=Decimal(40), confidence=8)

    page = login(org.owner).get(HOME).content.decode()

    assert "Delight new riders" in page
    assert "Activation from 20% to 60%" in page
    assert "40%" in page  # current value, and progress (40 - 20) / (60 - 20) = 50%
    assert 'aria-valuenow="50"' in page
    assert "8/10" in page


def test_home_shows_key_results_i_own_under_someone_elses_objective(org, login):
    objective = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.lead, title="Lead's objective"
    )
    factories.KeyResultFactory(objective=objective, owner=org.teammate, title="Teammate's KR")
    assert "Lead&#x27;s objective" in login(org.teammate).get(HOME).content.decode()
    assert "Lead&#x27;s objective" not in login(org.outsider).get(HOME).content.decode()


def test_home_leaves_out_closed_cycles_and_archived_objectives(org, login):
    closed = factories.CycleFactory(name="2026 Q3", state=Cycle.State.CLOSED)
    factories.ObjectiveFactory(cycle=closed, owner=org.owner, title="Old news")
    archived = factories.ObjectiveFactory(cycle=org.cycle, owner=org.owner, title="Dropped")
    Objective.objects.filter(pk=archived.pk).update(archived_at=archived.created_at)
    page = login(org.owner).get(HOME).content.decode()
    assert "Old news" not in page
    assert "Dropped" not in page


def test_home_without_an_active_cycle_explains_it(org, login):
    Cycle.objects.update(state=Cycle.State.PLANNING)
    assert "There is no active cycle yet." in login(org.owner).get(HOME).content.decode()


def _make_goals(org, count: int) -> None:
    for _ in range(count):
        objective = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.lead)
        for _ in range(3):
            factories.KeyResultFactory(objective=objective, owner=org.lead)


def _count_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(HOME)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["lead", "admin"])
def test_home_query_count_does_not_grow_with_data(org, login, persona):
    client = login(getattr(org, persona))
    _make_goals(org, 2)
    small = _count_queries(client)
    _make_goals(org, 38)  # 20× as many objectives and key results
    large = _count_queries(client)
    assert small == large, f"{small} queries with 2 objectives, {large} with 40"
