"""A person signs in and sees their goals, in a real browser."""

from __future__ import annotations

from decimal import Decimal

import pytest

from checkins.services import checkin_record
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_person_signs_in_and_sees_their_objectives(live_server, page, screenshot, org):
    objective = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="Make onboarding effortless"
    )
    churn = factories.KeyResultFactory(
        objective=objective,
        title="Reduce week-one churn from 8% to 4%",
        kind="percent",
        start_value=8,
        target_value=4,
        current_value=8,
    )
    checkin_record(key_result=churn, author=org.owner, value=Decimal(6), confidence=3)

    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.get_by_label("Username").fill("owner")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()

    page.get_by_label("Password").fill(factories.TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("heading", name="My week").wait_for()
    assert page.get_by_role("heading", name="Make onboarding effortless").is_visible()
    row = page.get_by_role("row", name="Reduce week-one churn from 8% to 4%")
    assert "6%" in row.inner_text()
    assert row.get_by_role("progressbar").get_attribute("aria-valuenow") == "50"
    assert row.locator(".confidence-low").inner_text() == "3/10"
    screenshot("home")

    page.get_by_role("button", name="Sign out").click()
    assert "/login/" in page.url
