"""The end of a quarter on the demo data, in a real browser: the CEO (who leads the
company) grades an objective, writes its reflection, closes the cycle, carries two
unfinished objectives into a newly created next cycle and finds a copy starting where
the original ended."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from goals.models import Cycle, KeyResult, Objective, Reflection
from goals.templatetags.waymark import kr_value

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "waymark-demo"


def _grade_and_reflect(live_server, page, screenshot, grading: str, graded: Objective):
    page.goto(f"{live_server.url}{grading}?team={graded.team.slug}")
    section = page.locator("section", has=page.locator(f"#objective-{graded.pk}"))
    grades = section.locator("input[name$='grade']")
    for index in range(grades.count()):
        grades.nth(index).fill("0.5")
    reasons = section.locator("[name$='reason']")
    for index in range(reasons.count()):
        reasons.nth(index).fill("We learned the market is slower than we planned.")
    page.get_by_role("button", name="Save grades").click()
    page.locator(".message").first.wait_for()
    screenshot("end-of-cycle-grading")
    assert not graded.key_results.filter(archived_at__isnull=True, grade__isnull=True).exists()

    # Reflect on it.
    page.goto(f"{live_server.url}{reverse('goals:reflection', args=[graded.pk])}")
    page.get_by_label("What did we learn?").fill("Dealers need a season to adopt.")
    page.get_by_role("button", name="Save reflection").click()
    page.locator(".message").first.wait_for()
    assert Reflection.objects.filter(objective=graded).exists()


def test_lead_grades_closes_and_carries_the_quarter_forward(live_server, page, screenshot):
    call_command("seed_demo", public_passwords=True, verbosity=0)
    cycle = Cycle.objects.get(state=Cycle.State.ACTIVE)
    # The quarter ends in a week: owners and leads may grade (from 3 weeks before).
    cycle.end_date = timezone.localdate() + dt.timedelta(days=7)
    cycle.save(update_fields=["end_date"])
    graded = (
        Objective.objects.active()
        .filter(cycle=cycle, owner__username="maren", key_results__isnull=False)
        .distinct()
        .first()
    )
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("maren")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # 1-2. Grade the key results of one objective, then reflect on it.
    _grade_and_reflect(
        live_server, page, screenshot, reverse("goals:grading", args=[cycle.pk]), graded
    )

    # 3. Close the cycle from its overview.
    page.goto(f"{live_server.url}{reverse('goals:cycle', args=[cycle.pk])}")
    page.get_by_role("link", name="Close the cycle").click()
    page.get_by_role("heading", name="Key results without a grade").wait_for()
    screenshot("end-of-cycle-close")
    page.get_by_label("Close the cycle anyway", exact=False).check()
    page.get_by_role("button", name="Close the cycle").click()
    page.get_by_role("heading", name="Carry objectives forward").wait_for()
    cycle.refresh_from_db()
    assert cycle.is_closed

    # 4. Carry two unfinished objectives into a new next cycle.
    boxes = page.locator("input[name=objective]")
    assert boxes.count() >= 2
    chosen = [int(boxes.nth(i).get_attribute("value")) for i in (0, 1)]
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_label("Carry into").select_option("new")
    screenshot("end-of-cycle-carry-over")
    page.get_by_role("button", name="Carry forward").click()
    message = page.locator(".message-success")
    message.wait_for()
    assert "Carried into" in message.inner_text()
    screenshot("end-of-cycle-carried")
    assert page.get_by_text("carried into", exact=False).count() >= 2

    # 5. Open a copy: its key results start where the originals ended.
    original = Objective.objects.get(pk=chosen[0])
    copy = Objective.objects.get(carried_from=original)
    message.get_by_role("link", name=original.title).first.click()
    page.get_by_role("heading", name=copy.title, level=1).wait_for()
    screenshot("end-of-cycle-carried-objective")
    old_kr = (
        original.key_results.filter(archived_at__isnull=True)
        .exclude(kind=KeyResult.Kind.MILESTONE)
        .order_by("position", "pk")
        .first()
    )
    new_kr = copy.key_results.get(title=old_kr.title)
    assert new_kr.start_value == old_kr.current_value
    assert f"from {kr_value(new_kr, new_kr.start_value)}" in page.content()
    assert "carried from" in page.content().lower()
