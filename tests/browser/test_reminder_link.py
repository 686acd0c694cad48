"""From a reminder e-mail in a real browser: the signed link opens the person's check-in
without a password, one key result is checked in, and nothing else is unlocked. Also a
look at the reminders and team settings pages, wide and on a phone."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from alignment.models import Team
from checkins import links
from checkins.models import CheckIn
from goals.models import KeyResult
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def local(url: str) -> str:
    """Where a link from an e-mail leads on the test server: its path and its "#" part."""
    parts = urlsplit(url)
    return f"{parts.path}#{parts.fragment}"


@pytest.fixture
def reminder(org):
    objective = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="Riders love onboarding"
    )
    krs = [
        factories.KeyResultFactory(objective=objective, title="Activation rate from 20% to 45%"),
        factories.KeyResultFactory(objective=objective, title="Weekly active riders to 12 000"),
    ]
    url = links.checkin_url(
        user_id=org.owner.pk, period="2026-W48", key_result_ids=[kr.pk for kr in krs]
    )
    return local(url), krs


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My week").wait_for()


def test_open_the_reminder_link_and_check_in_one_key_result(
    live_server, page, screenshot, org, reminder
):
    link, krs = reminder
    token = link.split("#", 1)[1]
    sent = []  # what the browser sent the server: address, Referer and body
    page.on(
        "request",
        lambda request: sent.append(
            (request.url.split("#")[0], request.headers.get("referer", ""), request.post_data)
        ),
    )
    page.goto(f"{live_server.url}{link}")
    page.get_by_role("heading", name="Check in, Olu").wait_for()
    # The token went to the server once, in a POST body, and left the address bar.
    path = "/check-in/link/"
    assert page.url == f"{live_server.url}{path}"
    assert [token in url or token in referer for url, referer, _body in sent] == [False] * len(sent)
    assert sum(token in (body or "").replace("%3A", ":") for _url, _referer, body in sent) == 1
    assert page.get_by_role("link", name="Sign in to see everything").is_visible()
    assert page.get_by_role("button", name="Sign out").count() == 0
    screenshot("reminder-link")

    page.get_by_label(f"New value for {krs[0].title}").fill("abc")
    page.get_by_label(f"Confidence (1–10) for {krs[0].title}").select_option("7")
    page.get_by_role("button", name="Check in", exact=True).click()
    page.get_by_text("Nothing was saved").wait_for()
    assert page.get_by_text("Enter a number, like 42 or 3.5.").is_visible()
    screenshot("reminder-link-error")

    page.get_by_label(f"New value for {krs[0].title}").fill("31")
    page.get_by_label(f"Blocker for {krs[0].title}").fill("Waiting on the new copy")
    page.get_by_role("button", name="Check in", exact=True).click()
    page.get_by_text("Checked in 1 key result.").wait_for()
    assert page.url == f"{live_server.url}{path}"
    checkin = CheckIn.objects.get()
    assert (checkin.key_result_id, checkin.author_id) == (krs[0].pk, org.owner.pk)
    assert (checkin.value, checkin.confidence) == (31, 7)
    assert KeyResult.objects.get(pk=krs[0].pk).last_checkin_at is not None
    screenshot("reminder-link-done")

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}{link}")
    page.get_by_role("heading", name="Check in, Olu").wait_for()
    screenshot("reminder-link-phone")

    # The link signs nobody in: the rest of Waymark still asks for a password.
    page.goto(f"{live_server.url}/check-in/")
    page.get_by_role("heading", name="Sign in to Waymark").wait_for()


def test_a_broken_link_offers_to_sign_in(live_server, page, screenshot, org, reminder):
    link, _ = reminder
    page.goto(f"{live_server.url}{link[:-6]}x")
    page.get_by_role("heading", name="This link doesn’t work").wait_for()
    screenshot("reminder-link-invalid")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_role("heading", name="Sign in to Waymark").wait_for()

    # Opened without its "#" part (cut off when copied): nothing to open, sign in instead.
    page.goto(f"{live_server.url}{link.split('#')[0]}")
    page.get_by_role("heading", name="Opening the link from your e-mail…").wait_for()
    screenshot("reminder-link-opener")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_role("heading", name="Sign in to Waymark").wait_for()


def test_reminders_and_team_settings_pages(live_server, page, screenshot, org):
    page.goto(f"{live_server.url}{local(links.preferences_url(user_id=org.owner.pk))}")
    page.get_by_role("heading", name="Reminders").wait_for()
    page.get_by_label("My team's chat").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("None of your teams has a chat channel").wait_for()
    screenshot("preferences-link-error")

    Team.objects.filter(pk=org.product.pk).update(
        webhook_url="https://hooks.example.org/product",
        webhook_failed_at=timezone.now(),
        webhook_error="HTTP 404 from hooks.example.org: no_service",
    )
    sign_in(page, live_server, "lead")
    page.get_by_role("link", name="Reminders").click()
    page.get_by_role("heading", name="Reminders").wait_for()
    screenshot("preferences")

    page.goto(f"{live_server.url}/teams/product/")
    page.get_by_role("link", name="Team settings").click()
    page.get_by_role("heading", name="Settings of Product").wait_for()
    assert page.get_by_text("The chat webhook has stopped working").is_visible()
    page.get_by_label("Check-in hour").select_option("10:00")
    page.get_by_label("Chat webhook URL").fill("http://hooks.example.org/new")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("must start with https://").wait_for()
    screenshot("team-settings-error")
    page.get_by_label("Chat webhook URL").fill("https://hooks.example.org/new")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Settings of Product saved.").wait_for()
    assert page.get_by_text("The chat webhook has stopped working").count() == 0
    team = Team.objects.get(pk=org.product.pk)
    assert (team.checkin_hour, team.webhook_failed_at) == (10, None)
    screenshot("team-settings")

    Team.objects.filter(pk=org.product.pk).update(
        webhook_failed_at=timezone.now(), webhook_error="HTTP 410 Gone"
    )
    page.set_viewport_size(PHONE)
    page.reload()
    page.get_by_role("heading", name="Settings of Product").wait_for()
    screenshot("team-settings-phone")
    page.get_by_role("link", name="Reminders").click()
    page.get_by_role("heading", name="Reminders").wait_for()
    screenshot("preferences-phone")
