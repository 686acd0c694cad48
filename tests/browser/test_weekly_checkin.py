"""A member's weekly check-in in a real browser: five key results, one saved alone with
htmx, a mistake fixed, the rest in one submit; then their lead reads it on the
objective page and in the key result's history."""

from __future__ import annotations

import pytest

from checkins.models import CheckIn, WeeklyUpdate
from goals.models import KeyResult
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My week").wait_for()


def test_member_checks_in_five_key_results_and_the_lead_sees_them(
    live_server, page, screenshot, org
):
    objective = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="Riders love onboarding"
    )
    titles = [f"Activation step {n} from 0 to 100" for n in range(1, 5)]
    for title in titles:
        factories.KeyResultFactory(objective=objective, title=title)
    factories.KeyResultFactory(
        objective=objective,
        title="Ship the guided tour",
        kind=KeyResult.Kind.MILESTONE,
        start_value=0,
        target_value=1,
    )

    sign_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/check-in/")
    page.get_by_role("heading", name="Weekly check-in").wait_for()

    # One row saved alone, with htmx: the row comes back with its new progress.
    page.get_by_label(f"New value for {titles[0]}").fill("40")
    page.get_by_label(f"Confidence (1–10) for {titles[0]}").select_option("8")
    page.get_by_role("button", name=f"Save {titles[0]}").click()
    page.get_by_text("Saved: 40, confidence 8/10.").wait_for()
    assert CheckIn.objects.count() == 1

    # The rest with the keyboard: value, Tab, confidence, Tab, note…
    value = page.get_by_label(f"New value for {titles[1]}")
    value.focus()
    page.keyboard.type("abc")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name").endswith("-confidence")
    page.keyboard.press("7")
    page.keyboard.press("Tab")
    page.keyboard.type("Better copy on step 2")
    for title, typed in zip(titles[2:], ["30", "20"], strict=True):
        page.get_by_label(f"New value for {title}").fill(typed)
        page.get_by_label(f"Confidence (1–10) for {title}").select_option("6")
    page.get_by_label("Done? Ship the guided tour").select_option("1")
    page.get_by_label("Confidence (1–10) for Ship the guided tour").select_option("9")
    page.get_by_label("Blocker for Ship the guided tour").fill("Waiting on legal review")
    page.get_by_label("What moved").fill("The tour shipped.")
    page.get_by_role("button", name="Check in", exact=True).click()

    page.get_by_text("Nothing was saved").wait_for()
    assert page.get_by_text("Enter a number, like 42 or 3.5.").is_visible()
    assert page.get_by_label(f"New value for {titles[2]}").input_value() == "30"
    assert page.get_by_label("What moved").input_value() == "The tour shipped."
    assert CheckIn.objects.count() == 1
    screenshot("weekly-checkin-error")

    page.get_by_label(f"New value for {titles[1]}").fill("55")
    page.get_by_label(f"New value for {titles[1]}").press("Enter")  # submits the form
    page.get_by_text("Checked in 4 key results").wait_for()
    row = page.locator("tbody.ci-row", has_text=titles[1])
    assert row.get_by_role("progressbar").get_attribute("aria-valuenow") == "55"
    assert CheckIn.objects.count() == 5
    assert WeeklyUpdate.objects.get(author=org.owner).what_moved == "The tour shipped."
    screenshot("weekly-checkin-done")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/objectives/{objective.pk}/")
    page.get_by_role("heading", name="Riders love onboarding", level=1).wait_for()
    key_result = page.locator("tbody.kr", has_text=titles[1])
    assert key_result.get_by_text("55").first.is_visible()
    assert key_result.get_by_text("7/10").is_visible()
    tour = page.locator("tbody.kr", has_text="Ship the guided tour")
    assert tour.get_by_role("cell", name="Done", exact=True).is_visible()

    kr = KeyResult.objects.get(title=titles[1])
    page.goto(f"{live_server.url}/key-results/{kr.pk}/check-ins/")
    page.get_by_text("Better copy on step 2").wait_for()
    screenshot("weekly-checkin-history")

    # The lead's weekly team review: the blocker first, then what moved.
    page.goto(f"{live_server.url}/teams/{org.product.slug}/")
    page.get_by_role("link", name="Weekly review").click()
    page.get_by_role("heading", name="Blockers").wait_for()
    assert page.get_by_text("Waiting on legal review").is_visible()
    moved = page.get_by_role("heading", name="What moved").locator("xpath=following-sibling::*[1]")
    assert titles[1] in moved.inner_text()
    screenshot("weekly-checkin-team-review")
