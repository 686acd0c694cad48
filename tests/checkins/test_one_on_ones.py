"""One-to-ones: the agenda since the previous one, privacy, action items carried over
and marked done, scheduling, and query budgets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from checkins.models import ActionItem, CheckIn, OneOnOne
from checkins.services import action_item_add, checkin_record, one_on_one_schedule
from tests import factories

LIST = reverse("checkins:one-on-ones")
CREATE = reverse("checkins:one-on-one-create")


def _url(one_on_one) -> str:
    return reverse("checkins:one-on-one", args=[one_on_one.pk])


def _done_url(item) -> str:
    return reverse("checkins:action-item-done", args=[item.one_on_one_id, item.pk])


def _checkin(key_result, value, *, days_ago, confidence=7, note="", blocker=""):
    checkin = checkin_record(
        key_result=key_result,
        author=key_result.owner,
        value=Decimal(value),
        confidence=confidence,
        note=note,
        blocker=blocker,
    )
    CheckIn.objects.filter(pk=checkin.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days_ago)
    )
    return checkin


def _agenda(page: str) -> str:
    return page.split('id="agenda-heading"')[1].split("</section>")[0]


@pytest.fixture
def pair(org):
    """The lead manages the owner; a first one-to-one held 10 days ago, with check-ins
    before it and after it, and a second one scheduled today."""
    key_result = factories.KeyResultFactory(
        objective=factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner),
        owner=org.owner,
        title="Grow weekly actives",
    )
    _checkin(key_result, 10, days_ago=20, confidence=8, note="Old news")
    first = one_on_one_schedule(
        manager=org.lead,
        report=org.owner,
        scheduled_for=timezone.localdate() - dt.timedelta(days=10),
    )
    OneOnOne.objects.filter(pk=first.pk).update(held_at=timezone.now() - dt.timedelta(days=10))
    first.refresh_from_db()
    _checkin(key_result, 20, days_ago=5, confidence=5, note="New news", blocker="Waiting on legal")
    _checkin(key_result, 25, days_ago=2, confidence=5, note="Newer news")
    org.key_result = key_result
    org.first = first
    return org


def test_agenda_lists_only_what_changed_since_the_previous_one(pair, login):
    second = one_on_one_schedule(
        manager=pair.lead, report=pair.owner, scheduled_for=timezone.localdate()
    )
    agenda = _agenda(login(pair.lead).get(_url(second)).content.decode())
    assert "New news" in agenda
    assert "Newer news" in agenda
    assert "Waiting on legal" in agenda
    assert "confidence 8 → 5" in agenda
    assert "Old news" not in agenda


def test_first_agenda_covers_the_14_days_before_it_was_held(pair, login):
    agenda = _agenda(login(pair.owner).get(_url(pair.first)).content.decode())
    assert "Old news" in agenda
    assert "New news" not in agenda


@pytest.mark.parametrize("persona", ["teammate", "outsider"])
def test_a_third_person_gets_404(pair, login, persona):
    client = login(getattr(pair, persona))
    assert client.get(_url(pair.first)).status_code == 404
    item = action_item_add(one_on_one=pair.first, text="Write it up", owner=pair.owner)
    assert client.post(_done_url(item)).status_code == 404
    item.refresh_from_db()
    assert item.done_at is None


def test_the_two_people_and_admins_see_it(pair, login):
    for person in (pair.lead, pair.owner, pair.admin):
        assert login(person).get(_url(pair.first)).status_code == 200


def test_open_action_items_carry_to_the_next_one_to_one(pair, login):
    open_item = action_item_add(one_on_one=pair.first, text="Draft the plan", owner=pair.owner)
    done_item = action_item_add(one_on_one=pair.first, text="Book the room", owner=pair.lead)
    ActionItem.objects.filter(pk=done_item.pk).update(done_at=timezone.now())
    response = login(pair.lead).post(
        CREATE, {"report": pair.owner.pk, "scheduled_for": timezone.localdate().isoformat()}
    )
    second = OneOnOne.objects.exclude(pk=pair.first.pk).get()
    assert response.status_code == 302
    assert response.url == _url(second)
    carried = list(second.action_items.all())
    assert [(item.text, item.owner, item.carried_from) for item in carried] == [
        ("Draft the plan", pair.owner, open_item)
    ]
    page = login(pair.owner).get(_url(second)).content.decode()
    assert "Draft the plan" in page
    assert "carried from" in page


def test_marking_an_action_item_done(pair, login):
    item = action_item_add(one_on_one=pair.first, text="Draft the plan", owner=pair.owner)
    client = login(pair.owner)
    assert client.get(_done_url(item)).status_code == 405
    response = client.post(_done_url(item))
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.done_at is not None
    client.post(_done_url(item), {"undo": "1"})
    item.refresh_from_db()
    assert item.done_at is None


def test_both_people_edit_notes_and_add_action_items(pair, login):
    client = login(pair.owner)
    response = client.post(_url(pair.first), {"notes": "We talked about hiring", "held": "on"})
    assert response.status_code == 302
    client.post(_url(pair.first), {"add_item": "1", "text": "Post the job", "owner": pair.lead.pk})
    pair.first.refresh_from_db()
    assert pair.first.notes == "We talked about hiring"
    assert pair.first.action_items.get().owner == pair.lead
    # Only the two people can own an action item.
    page = login(pair.lead).post(
        _url(pair.first), {"add_item": "1", "text": "Sneaky", "owner": pair.outsider.pk}
    )
    assert page.status_code == 200
    assert "Select a valid choice" in page.content.decode()


def test_only_managers_schedule_and_only_with_their_reports(pair, login):
    assert login(pair.teammate).get(CREATE).status_code == 403
    client = login(pair.lead)
    assert str(pair.teammate) not in client.get(CREATE).content.decode()
    response = client.post(
        CREATE, {"report": pair.teammate.pk, "scheduled_for": timezone.localdate().isoformat()}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert OneOnOne.objects.count() == 1


def test_list_shows_my_one_to_ones_as_manager_and_report(pair, login):
    one_on_one_schedule(
        manager=pair.lead,
        report=pair.owner,
        scheduled_for=timezone.localdate() + dt.timedelta(days=3),
    )
    lead_page = login(pair.lead).get(LIST).content.decode()
    upcoming = lead_page.split('id="upcoming-heading"')[1].split("</section>")[0]
    past = lead_page.split('id="past-heading"')[1].split("</section>")[0]
    assert f"With {pair.owner}" in upcoming
    assert f"With {pair.owner}" in past
    assert "your manager" in login(pair.owner).get(LIST).content.decode()
    assert "With" not in login(pair.outsider).get(LIST).content.decode().split("</h1>")[1]


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


def test_query_counts_do_not_grow_with_data(pair, login):
    second = one_on_one_schedule(
        manager=pair.lead, report=pair.owner, scheduled_for=timezone.localdate()
    )
    client = login(pair.lead)
    small_detail = _count_queries(client, _url(second))
    small_list = _count_queries(client, LIST)
    for i in range(20):
        key_result = factories.KeyResultFactory(
            objective=pair.key_result.objective, owner=pair.owner, title=f"More {i}"
        )
        _checkin(key_result, 10, days_ago=4, confidence=6, blocker=f"Blocked {i}")
        _checkin(key_result, 20, days_ago=1, confidence=3)
        action_item_add(one_on_one=second, text=f"Item {i}", owner=pair.owner)
        one_on_one_schedule(
            manager=pair.lead,
            report=pair.owner,
            scheduled_for=timezone.localdate() - dt.timedelta(days=100 + i),
        )
    assert _count_queries(client, _url(second)) == small_detail
    assert _count_queries(client, LIST) == small_list
    assert (small_detail, small_list) == (6, 4)
