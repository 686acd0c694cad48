"""A lead builds a three-level cascade in the browser and reads it back in the tree."""

from __future__ import annotations

import pytest

from alignment.models import Membership
from goals.models import KeyResult, Objective
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def cascade(page, key_result_title: str, title: str, team: str, kr: tuple, owner: str = ""):
    """From the current objective page: Cascade on a key result, fill the new objective."""
    row = page.locator("tbody.kr", has=page.locator(".kr-title", has_text=key_result_title))
    row.get_by_role("link", name="Cascade").click()
    page.locator("#id_title").fill(title)
    page.get_by_label("For team").select_option(label=team)
    page.wait_for_load_state("networkidle")  # the owner field follows the team
    if owner:
        page.locator("#owner-field input").fill(owner)
    rollup = page.get_by_label("Take this key result’s progress from the objectives aligned")
    if rollup.count():
        rollup.check()
    first = page.get_by_role("group", name="Key result 1")
    first.get_by_label("Title", exact=True).fill(kr[0])
    first.get_by_label("From", exact=True).fill(kr[1])
    first.get_by_label("To", exact=True).fill(kr[2])
    page.get_by_role("button", name="Create the objective").click()
    page.get_by_role("heading", name=title, level=1).wait_for()


def test_lead_builds_a_three_level_cascade_and_reads_it_in_the_tree(
    live_server, page, screenshot, org
):
    Membership.objects.create(user=org.lead, team=org.company, role=Membership.Role.LEAD)
    company = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.company, owner=org.lead, title="Riders stay for years"
    )
    factories.KeyResultFactory(
        objective=company,
        title="Yearly retention from 60% to 80%",
        start_value=60,
        target_value=80,
    )
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("lead")
    page.get_by_label("Password").fill(factories.TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/objectives/{company.pk}/")

    cascade(
        page,
        "Yearly retention from 60% to 80%",
        "Onboarding that keeps riders",
        "Product",
        ("Week-one activation from 20% to 60%", "20", "60"),
    )
    cascade(
        page,
        "Week-one activation from 20% to 60%",
        "A first ride in five minutes",
        "Product",
        ("Minutes to a first ride from 15 to 5", "15", "5"),
        owner="owner",
    )

    person = Objective.objects.get(title="A first ride in five minutes")
    team = Objective.objects.get(title="Onboarding that keeps riders")
    assert (person.owner, person.parent, team.parent) == (org.owner, team, company)
    assert KeyResult.objects.get(title="Yearly retention from 60% to 80%").progress_source == (
        "rollup"
    )
    line = page.get_by_role("navigation", name="Line of sight")
    assert line.get_by_role("link", name="Riders stay for years").is_visible()
    assert line.get_by_role("link", name="Onboarding that keeps riders").is_visible()
    screenshot("cascade-person")

    page.get_by_role("link", name="Alignment", exact=True).click()
    page.get_by_role("link", name="Riders stay for years", exact=True).wait_for()
    page.get_by_text("1 aligned objective").first.click()
    page.get_by_role("link", name="Onboarding that keeps riders").wait_for()
    page.get_by_text("1 aligned objective").last.click()
    page.get_by_role("link", name="A first ride in five minutes").wait_for()
    screenshot("cascade-tree")
