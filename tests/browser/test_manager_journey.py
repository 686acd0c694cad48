"""A manager's first session, in a real browser: create an objective with three key
results (one decreasing), fix a mistake, read the coach, add an initiative, then see it
in the cycle overview."""

from __future__ import annotations

import pytest

from goals.models import Initiative, Objective
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_key_result(page, index: int, title: str, start: str, target: str, kind="number"):
    row = page.get_by_role("group", name=f"Key result {index + 1}")
    row.get_by_label("Title", exact=True).fill(title)
    row.get_by_label("Kind", exact=True).select_option(kind)
    row.get_by_label("From", exact=True).fill(start)
    row.get_by_label("To", exact=True).fill(target)


def test_manager_creates_an_objective_and_finds_it_in_the_cycle_overview(
    live_server, page, screenshot, org
):
    factories.ObjectiveFactory(cycle=org.cycle, team=org.company, owner=org.lead, title="Grow")
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("owner")
    page.get_by_label("Password").fill(factories.TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="New objective").click()
    page.get_by_label("Title", exact=True).first.fill("Make renting a bike effortless")
    fill_key_result(page, 0, "Launch the rental app", "0", "1")
    coach = page.locator("#coach")
    coach.get_by_text("reads like an activity").wait_for()  # the coach, live
    assert coach.get_by_text("Not aligned to the parent team").is_visible()
    screenshot("objective-create-coach")

    fill_key_result(page, 0, "Weekly rentals from 200 to 400", "200", "400")
    fill_key_result(page, 1, "Cancellation rate from 12% to 6%", "12", "6", kind="percent")
    fill_key_result(page, 2, "Damage claims a month from 30 to 30", "30", "30")
    page.get_by_role("button", name="Create objective").click()

    error = page.get_by_text("The target must differ from the start value.")
    error.wait_for()
    row = page.get_by_role("group", name="Key result 2")
    assert row.get_by_label("Title", exact=True).input_value() == "Cancellation rate from 12% to 6%"
    screenshot("objective-create-error")
    fill_key_result(page, 2, "Damage claims a month from 30 to 10", "30", "10")
    page.get_by_role("button", name="Create objective").click()

    page.get_by_role("heading", name="Make renting a bike effortless", level=1).wait_for()
    objective = Objective.objects.get(title="Make renting a bike effortless")
    assert objective.key_results.count() == 3
    assert page.locator(".kr-title", has_text="Cancellation rate from 12% to 6%").is_visible()

    first = page.locator("tbody.kr").first
    first.get_by_text("Add an initiative").click()
    first.get_by_label("Title", exact=True).fill("Self-service returns at every dock")
    first.get_by_role("button", name="Add").click()
    first.get_by_text("Self-service returns at every dock").wait_for()
    assert Initiative.objects.get().key_result.objective == objective
    screenshot("objective-page")

    page.get_by_role("link", name="Cycle", exact=True).click()
    page.get_by_role("link", name="Make renting a bike effortless").first.wait_for()
    assert "Product" in page.content()
    screenshot("cycle-overview")
