"""The weekly team review: its four sections, its privacy and its query budget."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alignment.models import Membership
from checkins.models import CheckIn
from checkins.services import checkin_record
from goals.models import Objective
from tests import factories


def _url(team) -> str:
    return reverse("checkins:team-review", args=[team.slug])


def _section(page: str, heading_id: str) -> str:
    return page.split(f'id="{heading_id}"')[1].split("</section>")[0]


def _checkin(key_result, value, *, confidence=7, days_ago=0, blocker="", note=""):
    checkin = checkin_record(
        key_result=key_result,
        author=key_result.owner,
        value=Decimal(value),
        confidence=confidence,
        blocker=blocker,
        note=note,
    )
    if days_ago:
        CheckIn.objects.filter(pk=checkin.pk).update(
            created_at=timezone.now() - dt.timedelta(days=days_ago)
        )
    return checkin


def _key_result(org, title, *, owner=None, objective=None):
    objective = objective or factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=owner or org.owner
    )
    return factories.KeyResultFactory(objective=objective, owner=owner or org.owner, title=title)


@pytest.fixture
def week(org):
    """A Product week: a blocker, a confidence drop 7 → 4, a key result behind pace, one
    moved from 20% to 35%, and a teammate who has not checked in."""
    blocked = _key_result(org, "Ship the billing page")
    _checkin(blocked, 60, days_ago=9)
    _checkin(blocked, 62, days_ago=1, blocker="Waiting on the legal review", note="Copy done")
    dropped = _key_result(org, "Sign ten design partners")
    _checkin(dropped, 55, confidence=7, days_ago=10)
    _checkin(dropped, 58, confidence=4, days_ago=2)
    behind = _key_result(org, "Cut onboarding time")
    _checkin(behind, 5, days_ago=20)
    _checkin(behind, 10, days_ago=9)
    moved = _key_result(org, "Grow weekly actives")
    _checkin(moved, 20, days_ago=12)
    _checkin(moved, 35, days_ago=3)
    quiet = _key_result(org, "Answer every ticket in a day", owner=org.teammate)
    _checkin(quiet, 70, days_ago=10)
    return org


def test_blockers_come_first_with_author_and_note(week, login):
    page = login(week.lead).get(_url(week.product)).content.decode()
    blockers = _section(page, "blockers-heading")
    assert "Waiting on the legal review" in blockers
    assert "Copy done" in blockers
    assert str(week.owner) in blockers
    assert page.index("blockers-heading") < page.index("attention-heading")
    assert page.index("attention-heading") < page.index("moved-heading")
    assert page.index("moved-heading") < page.index("missing-heading")


def test_confidence_drops_and_key_results_behind_pace_are_at_risk(week, login):
    attention = _section(
        login(week.lead).get(_url(week.product)).content.decode(), "attention-heading"
    )
    assert "Sign ten design partners" in attention
    assert "Confidence dropped 7 → 4" in attention
    assert "Cut onboarding time" in attention
    assert "Behind the expected pace" in attention
    assert "on this pace: " in attention
    assert "Ship the billing page" not in attention
    assert "Grow weekly actives" not in attention


def test_what_moved_shows_from_and_to(week, login):
    moved = _section(login(week.lead).get(_url(week.product)).content.decode(), "moved-heading")
    assert "Grow weekly actives" in moved
    assert "20% → 35%" in moved
    assert "Cut onboarding time" not in moved  # last check-in 9 days ago


def test_members_without_a_check_in_this_week_are_listed(week, login):
    missing = _section(login(week.lead).get(_url(week.product)).content.decode(), "missing-heading")
    assert str(week.teammate) in missing
    assert "Answer every ticket in a day" in missing
    assert str(week.owner) not in missing
    assert str(week.lead) not in missing  # owns no key result


def test_private_objectives_stay_hidden_from_outsiders(week, login):
    private = factories.ObjectiveFactory(
        cycle=week.cycle,
        team=week.product,
        owner=week.owner,
        visibility=Objective.Visibility.PRIVATE,
    )
    secret = _key_result(week, "Secret acquisition", objective=private)
    _checkin(secret, 10, blocker="The board has not decided")
    outsider_page = login(week.outsider).get(_url(week.product)).content.decode()
    assert "The board has not decided" not in outsider_page
    assert "Secret acquisition" not in outsider_page
    lead_page = login(week.lead).get(_url(week.product)).content.decode()
    assert "The board has not decided" in lead_page


def test_unknown_team_is_404_and_anonymous_is_sent_to_sign_in(org, client, login):
    assert client.get(_url(org.product)).status_code == 302
    assert login(org.owner).get(reverse("checkins:team-review", args=["nope"])).status_code == 404


def test_no_active_cycle_says_so(org, login):
    org.cycle.state = "closed"
    org.cycle.save()
    page = login(org.lead).get(_url(org.product)).content.decode()
    assert "There is no active cycle" in page


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


def test_query_count_does_not_grow_with_data(week, login):
    client = login(week.lead)
    small = _count_queries(client, _url(week.product))
    for i in range(20):
        person = factories.UserFactory()
        Membership.objects.create(user=person, team=week.product)
        for j in range(5):
            key_result = _key_result(week, f"More {i}-{j}", owner=person)
            _checkin(key_result, 10 + j, confidence=7, days_ago=12)
            if j % 2:
                _checkin(key_result, 30 + j, confidence=3, days_ago=2, blocker=f"Blocked {i}")
    large = _count_queries(client, _url(week.product))
    assert large == small, (small, large)
    # Session, user, team, cycles, key results (with the reader's access as a subquery),
    # blockers, forecast, members.
    assert small == 8
