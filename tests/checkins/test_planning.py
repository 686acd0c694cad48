"""Planning nudges: who gets what, on which day, once per week, in bounded queries.

Every test plans at an explicit moment (organisation time zone) and sets the key
results' last check-in relative to it, so nothing depends on today's date.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import AutoField
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alignment.models import Membership, Team, User
from checkins import links, planning, schedule
from checkins.digest import build_digest
from checkins.models import CheckIn, Nudge
from checkins.services import checkin_record
from goals.models import Cycle, KeyResult, Objective
from tests import factories


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    """An aware moment in the organisation's time zone."""
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))  # noqa: DTZ001


# Week 48 of 2026: Monday the 23rd to Sunday the 29th.
MONDAY = at(2026, 11, 23)
WEDNESDAY = at(2026, 11, 25)
FRIDAY = at(2026, 11, 27)
NEXT_MONDAY = at(2026, 11, 30)


def objective(org, *, team=None, owner=None, cycle=None, **fields) -> Objective:
    return factories.ObjectiveFactory(
        cycle=cycle or org.cycle, team=team or org.product, owner=owner or org.owner, **fields
    )


def key_result(
    org,
    title: str,
    *,
    owner=None,
    days: float | None = 8,
    now: dt.datetime = MONDAY,
    objective_=None,
    team=None,
    **fields,
) -> KeyResult:
    """A key result whose last check-in was ``days`` before ``now`` (``None``: never
    checked in, created ``8`` days before ``now``)."""
    owner = owner or org.owner
    kr = factories.KeyResultFactory(
        objective=objective_ or objective(org, team=team, owner=owner),
        owner=owner,
        title=title,
        **fields,
    )
    if days is None:
        KeyResult.objects.filter(pk=kr.pk).update(created_at=now - dt.timedelta(days=8))
    else:
        KeyResult.objects.filter(pk=kr.pk).update(last_checkin_at=now - dt.timedelta(days=days))
    kr.refresh_from_db()
    return kr


def emails(kind=Nudge.Kind.REMINDER) -> list[tuple[str, str, str]]:
    """(username, period, scope) of the planned e-mails of ``kind``."""
    return sorted(
        Nudge.objects.filter(kind=kind, channel=Nudge.Channel.EMAIL).values_list(
            "recipient__username", "period", "scope"
        )
    )


def chats(kind=Nudge.Kind.REMINDER) -> list[tuple[str, str]]:
    return sorted(
        Nudge.objects.filter(kind=kind, channel=Nudge.Channel.WEBHOOK).values_list(
            "team__slug", "period"
        )
    )


def body_of(username: str, kind=Nudge.Kind.REMINDER) -> str:
    return Nudge.objects.get(kind=kind, recipient__username=username).body


def listed_titles(body: str) -> list[str]:
    """The titles of the "- Title (Objective)" lines of a reminder or escalation."""
    return [line[2:].split(" (")[0] for line in body.splitlines() if line.startswith("- ")]


def set_schedule(team: Team, **fields) -> None:
    Team.objects.filter(pk=team.pk).update(**fields)


# When reminders go out


def test_period_is_the_iso_week_in_the_organisation_time_zone(settings):
    settings.TIME_ZONE = "Pacific/Auckland"  # Sunday 29th 13:00 UTC is Monday there
    sunday_utc = dt.datetime(2026, 11, 29, 13, 0, tzinfo=dt.UTC)
    assert schedule.period_of(sunday_utc) == "2026-W49"
    assert schedule.period_of(dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)) == "2026-W48"


def test_reminders_go_out_on_the_team_day_from_its_hour(org):
    set_schedule(org.product, checkin_weekday=Team.Weekday.WEDNESDAY, checkin_hour=14)
    set_schedule(org.sales, checkin_weekday=Team.Weekday.THURSDAY)
    key_result(org, "Activation from 20% to 60%", days=8, now=WEDNESDAY)

    assert planning.plan_due(MONDAY.replace(hour=14)).total == 0
    assert planning.plan_due(at(2026, 11, 25, 13, 59)).total == 0
    assert emails() == []

    assert planning.plan_due(at(2026, 11, 25, 14, 0)).reminders == 1
    assert emails() == [("owner", "2026-W48", "")]


def test_no_reminder_the_day_after_the_team_day(org):
    set_schedule(org.product, checkin_weekday=Team.Weekday.MONDAY, checkin_hour=9)
    key_result(org, "Activation from 20% to 60%", days=8, now=MONDAY)

    counts = planning.plan_due(at(2026, 11, 24, 9, 30))

    assert (counts.reminders, counts.escalations, counts.team_messages) == (0, 0, 0)
    assert emails() == []


def test_a_late_tick_the_same_day_catches_up(org):
    key_result(org, "Activation from 20% to 60%", days=8)

    assert planning.plan_due(at(2026, 11, 23, 17, 45)).reminders == 1
    assert emails() == [("owner", "2026-W48", "")]


def test_hour_is_read_in_the_organisation_time_zone(org, settings):
    settings.TIME_ZONE = "America/New_York"
    key_result(org, "Activation from 20% to 60%", days=8)
    # 13:59 UTC is 08:59 in New York (EST): not yet; 14:00 UTC is 09:00 there.
    assert planning.plan_due(dt.datetime(2026, 11, 23, 13, 59, tzinfo=dt.UTC)).reminders == 0
    assert planning.plan_due(dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC)).reminders == 1


# Once per person and week


def test_one_reminder_per_person_per_week_whatever_the_teams_and_ticks(org):
    Membership.objects.create(user=org.owner, team=org.sales)
    set_schedule(org.sales, checkin_weekday=Team.Weekday.WEDNESDAY)
    key_result(org, "Activation from 20% to 60%", days=8)
    key_result(org, "Close ten pilots", team=org.sales, days=8)

    assert planning.plan_due(MONDAY).reminders == 1
    assert planning.plan_due(MONDAY + dt.timedelta(minutes=5)).reminders == 0
    assert planning.plan_due(MONDAY + dt.timedelta(minutes=5)).reminders == 0
    assert planning.plan_due(WEDNESDAY).reminders == 0

    assert emails() == [("owner", "2026-W48", "")]
    # The Monday reminder already listed both teams' key results.
    assert sorted(listed_titles(body_of("owner"))) == [
        "Activation from 20% to 60%",
        "Close ten pilots",
    ]

    assert planning.plan_due(NEXT_MONDAY).reminders == 1
    assert emails() == [("owner", "2026-W48", ""), ("owner", "2026-W49", "")]


def test_a_team_chat_message_does_not_stop_later_teams_reminders(org):
    """The team chat row of the week has no recipient; people of a team whose day comes
    later in the week are still reminded."""
    set_schedule(org.product, webhook_url="https://chat.example.org/hooks/product")
    set_schedule(org.sales, checkin_weekday=Team.Weekday.WEDNESDAY)
    key_result(org, "Activation from 20% to 60%", days=8)
    key_result(org, "Close ten pilots", owner=org.outsider, team=org.sales, days=10)

    planning.plan_due(MONDAY)
    assert chats() == [("product", "2026-W48")]
    assert planning.plan_due(WEDNESDAY).reminders == 1

    assert emails() == [("outsider", "2026-W48", ""), ("owner", "2026-W48", "")]


def test_the_database_refuses_a_second_reminder_in_a_period(org):
    key_result(org, "Activation from 20% to 60%", days=8)
    planning.plan_due(MONDAY)
    duplicate = Nudge(
        recipient=org.owner, kind=Nudge.Kind.REMINDER, period="2026-W48", subject="Again"
    )
    assert planning._write([duplicate]) == 0
    assert Nudge.objects.count() == 1


# What a reminder lists


def test_reminder_lists_exactly_the_due_key_results(org):
    closed = factories.CycleFactory(name="2026 Q3", state=Cycle.State.CLOSED)
    planned = factories.CycleFactory(name="2027 Q1", state=Cycle.State.PLANNING)
    due = [
        key_result(org, "Due for exactly six days", days=6),
        key_result(org, "Due for eight days", days=8),
        key_result(org, "Never checked in", days=None),
        key_result(org, "Stale for twenty days", days=20),
    ]
    key_result(org, "Fresh, five days and 23 hours", days=5 + 23 / 24)
    key_result(org, "Archived", days=9, archived_at=MONDAY)
    key_result(
        org, "On an archived objective", days=9, objective_=objective(org, archived_at=MONDAY)
    )
    key_result(org, "In a closed cycle", days=9, objective_=objective(org, cycle=closed))
    key_result(org, "In a planned cycle", days=9, objective_=objective(org, cycle=planned))
    key_result(org, "Rolled up", days=9, progress_source=KeyResult.ProgressSource.ROLLUP)
    key_result(org, "Someone else's", owner=org.teammate, days=3)

    assert planning.plan_due(MONDAY).reminders == 1

    nudge = Nudge.objects.get(kind=Nudge.Kind.REMINDER, recipient=org.owner)
    assert nudge.subject == "Check-in day: 4 key results to update"
    assert sorted(listed_titles(nudge.body)) == sorted(kr.title for kr in due)
    assert nudge.body.startswith("Hello Olu,\n\nIt's check-in day. These key results have")
    for title in ["Fresh", "Archived", "archived objective", "closed cycle", "planned cycle"]:
        assert title not in nudge.body
    assert "Rolled up" not in nudge.body

    token = re.search(r'/check-in/link/#([^\s"<]+)', nudge.body).group(1)
    grant = links.read_checkin_token(token)
    assert grant.user_id == org.owner.pk
    assert grant.period == "2026-W48"
    assert grant.key_result_ids == tuple(sorted(kr.pk for kr in due))
    assert f'href="{links.absolute("/check-in/link/")}#{token}"' in nudge.html_body


def test_people_without_due_key_results_get_no_reminder(org):
    key_result(org, "Fresh", days=2)
    assert planning.plan_due(MONDAY).total == 0
    assert Nudge.objects.count() == 0


def test_paused_inactive_and_addressless_people_get_nothing(org):
    User.objects.filter(pk=org.teammate.pk).update(nudge_channel=User.NudgeChannel.PAUSED)
    User.objects.filter(pk=org.outsider.pk).update(is_active=False)
    no_address = factories.UserFactory(username="noaddress", email="")
    Membership.objects.create(user=no_address, team=org.product)
    for person in (org.owner, org.teammate, org.outsider, no_address):
        key_result(org, f"Stale of {person.username}", owner=person, days=20)

    planning.plan_due(MONDAY)

    assert emails() == [("owner", "2026-W48", "")]
    # The lead (also the owner's manager) hears about the stale ones, all four.
    assert emails(Nudge.Kind.ESCALATION) == [("lead", "2026-W48", f"team:{org.product.pk}")]


def test_a_person_paused_since_last_week_gets_nothing_this_week(org):
    key_result(org, "Activation from 20% to 60%", days=8)
    planning.plan_due(MONDAY)
    User.objects.filter(pk=org.owner.pk).update(nudge_channel=User.NudgeChannel.PAUSED)

    assert planning.plan_due(NEXT_MONDAY).reminders == 0
    assert emails() == [("owner", "2026-W48", "")]


# Team chat


def test_chat_preferring_person_is_named_in_the_team_chat_and_not_emailed(org):
    set_schedule(org.product, webhook_url="https://chat.example.org/hooks/product")
    User.objects.filter(pk=org.owner.pk).update(nudge_channel=User.NudgeChannel.CHAT)
    key_result(org, "Activation from 20% to 60%", days=8)
    key_result(org, "Retention from 30% to 45%", days=7)
    key_result(org, "Close ten pilots", owner=org.teammate, days=6)
    key_result(org, "Fresh one", owner=org.lead, days=1)

    counts = planning.plan_due(MONDAY)

    assert (counts.reminders, counts.team_messages) == (1, 1)
    assert emails() == [("teammate", "2026-W48", "")]
    chat = Nudge.objects.get(channel=Nudge.Channel.WEBHOOK)
    assert (chat.team, chat.kind, chat.recipient) == (org.product, Nudge.Kind.REMINDER, None)
    assert chat.subject == "Product: check-in day"
    assert chat.body == (
        "Check-in day for Product. Key results waiting for an update:\n"
        "- Olu Owner: 2\n"
        "- Tia Mate: 1\n"
        "\n"
        f"Check in here: {links.absolute(reverse('checkins:weekly'))}\n"
    )


def test_chat_preferring_person_is_emailed_when_no_team_has_a_webhook(org):
    User.objects.filter(pk=org.owner.pk).update(nudge_channel=User.NudgeChannel.CHAT)
    key_result(org, "Activation from 20% to 60%", days=8)

    counts = planning.plan_due(MONDAY)

    assert (counts.reminders, counts.team_messages) == (1, 0)
    assert emails() == [("owner", "2026-W48", "")]


def test_chat_preferring_person_is_emailed_when_the_team_webhook_is_failing(org):
    set_schedule(
        org.product,
        webhook_url="https://chat.example.org/hooks/product",
        webhook_failed_at=MONDAY - dt.timedelta(days=3),
    )
    User.objects.filter(pk=org.owner.pk).update(nudge_channel=User.NudgeChannel.CHAT)
    key_result(org, "Activation from 20% to 60%", days=8)

    counts = planning.plan_due(MONDAY)

    assert (counts.reminders, counts.team_messages) == (1, 0)
    assert emails() == [("owner", "2026-W48", "")]


def test_chat_preferring_person_whose_due_work_is_in_a_team_without_chat_is_emailed(org):
    """In a team with a chat, but every due key result sits on another team's objective:
    no chat names them, so the e-mail goes out."""
    set_schedule(org.product, webhook_url="https://chat.example.org/hooks/product")
    User.objects.filter(pk=org.owner.pk).update(nudge_channel=User.NudgeChannel.CHAT)
    key_result(org, "Close ten pilots", team=org.sales, days=8)

    counts = planning.plan_due(MONDAY)

    assert (counts.reminders, counts.team_messages) == (1, 0)
    assert emails() == [("owner", "2026-W48", "")]
    assert listed_titles(body_of("owner")) == ["Close ten pilots"]


def test_team_chat_is_posted_once_per_week(org):
    set_schedule(org.product, webhook_url="https://chat.example.org/hooks/product")
    key_result(org, "Activation from 20% to 60%", days=8)

    assert planning.plan_due(MONDAY).team_messages == 1
    assert planning.plan_due(MONDAY + dt.timedelta(hours=2)).team_messages == 0
    assert chats() == [("product", "2026-W48")]


# Escalations


@pytest.fixture
def manager(org) -> User:
    """Owner's manager, outside Product (the org's lead stays Product's lead)."""
    manager = factories.UserFactory(username="manager", first_name="Mona", last_name="Ger")
    Membership.objects.create(user=manager, team=org.sales)
    User.objects.filter(pk=org.owner.pk).update(manager=manager)
    org.owner.refresh_from_db()
    return manager


def test_stale_key_results_escalate_to_the_manager_and_the_lead_once(org, manager):
    User.objects.filter(pk=org.teammate.pk).update(manager=manager)
    key_result(org, "Activation from 20% to 60%", days=20)
    key_result(org, "Retention from 30% to 45%", days=15)
    key_result(org, "Only due, not stale", days=13)
    key_result(org, "Close ten pilots", owner=org.teammate, days=14)

    assert planning.plan_due(MONDAY).escalations == 2
    assert planning.plan_due(MONDAY + dt.timedelta(minutes=5)).escalations == 0

    scope = f"team:{org.product.pk}"
    assert emails(Nudge.Kind.ESCALATION) == [
        ("lead", "2026-W48", scope),
        ("manager", "2026-W48", scope),
    ]
    lead = Nudge.objects.get(kind=Nudge.Kind.ESCALATION, recipient=org.lead)
    assert lead.subject == "Product: 3 key results without a check-in"
    assert listed_titles(lead.body) == [
        "Activation from 20% to 60%",
        "Retention from 30% to 45%",
        "Close ten pilots",
    ]
    assert "owned by Olu Owner: 20 days" in lead.body
    assert "owned by Tia Mate: 14 days" in lead.body
    assert lead.body.startswith("Hello Lena,")
    manager_body = body_of("manager", Nudge.Kind.ESCALATION)
    assert listed_titles(manager_body) == [
        "Activation from 20% to 60%",
        "Retention from 30% to 45%",
        "Close ten pilots",
    ]
    assert not Nudge.objects.filter(kind=Nudge.Kind.ESCALATION, recipient=org.owner).exists()

    assert planning.plan_due(NEXT_MONDAY).escalations == 2


def test_an_owner_is_not_escalated_to_about_their_own_key_result(org):
    key_result(org, "Lead's own", owner=org.lead, days=20)
    assert planning.plan_due(MONDAY).escalations == 0
    assert emails(Nudge.Kind.ESCALATION) == []


def test_escalations_are_per_team(org, manager):
    Membership.objects.create(user=org.lead, team=org.sales, role=Membership.Role.LEAD)
    key_result(org, "Activation from 20% to 60%", days=20)
    key_result(org, "Close ten pilots", owner=org.outsider, team=org.sales, days=20)

    planning.plan_due(MONDAY)

    assert emails(Nudge.Kind.ESCALATION) == sorted(
        [
            ("lead", "2026-W48", f"team:{org.product.pk}"),
            ("lead", "2026-W48", f"team:{org.sales.pk}"),
            ("manager", "2026-W48", f"team:{org.product.pk}"),
        ]
    )


def test_a_private_objective_does_not_escalate_to_a_manager_outside_the_team(org, manager):
    private = objective(org, visibility=Objective.Visibility.PRIVATE)
    key_result(org, "Secret acquisition", days=20, objective_=private)
    key_result(org, "Public one", days=20)

    planning.plan_due(MONDAY)

    assert listed_titles(body_of("lead", Nudge.Kind.ESCALATION)) == [
        "Secret acquisition",
        "Public one",
    ]
    manager_body = body_of("manager", Nudge.Kind.ESCALATION)
    assert listed_titles(manager_body) == ["Public one"]
    assert "Secret" not in manager_body


def test_a_private_objective_escalates_to_a_manager_inside_the_team(org, manager):
    Membership.objects.create(user=manager, team=org.product)
    private = objective(org, visibility=Objective.Visibility.PRIVATE)
    key_result(org, "Secret acquisition", days=20, objective_=private)

    planning.plan_due(MONDAY)

    assert listed_titles(body_of("manager", Nudge.Kind.ESCALATION)) == ["Secret acquisition"]


# Digests


@pytest.fixture
def digest_week(org):
    """Product's week up to Friday 27 November, 09:00, in a cycle from 1 October to 31
    December: activation moved 20% → 35% with confidence 7 → 4, churn got a blocker,
    NPS has had no check-in for 20 days, and the lead has not checked in this week."""
    cycle = factories.CycleFactory(
        name="2026 Q4 (digest)",
        start_date=dt.date(2026, 10, 1),
        end_date=dt.date(2026, 12, 31),
    )
    now = FRIDAY

    def checkin(kr, value, confidence, days_ago, blocker=""):
        moment = now - dt.timedelta(days=days_ago)
        made = checkin_record(
            key_result=kr,
            author=kr.owner,
            value=Decimal(value),
            confidence=confidence,
            blocker=blocker,
        )
        CheckIn.objects.filter(pk=made.pk).update(created_at=moment)
        KeyResult.objects.filter(pk=kr.pk).update(last_checkin_at=moment)

    goal = objective(org, cycle=cycle, title="Delight new riders")
    activation = factories.KeyResultFactory(objective=goal, title="Activation", position=1)
    churn = factories.KeyResultFactory(
        objective=goal, owner=org.teammate, title="Churn", position=2
    )
    nps = factories.KeyResultFactory(objective=goal, title="NPS", position=3)
    hiring = factories.KeyResultFactory(
        objective=objective(org, cycle=cycle, owner=org.lead, title="Grow the team"),
        title="Interviews",
    )
    checkin(activation, 20, 7, days_ago=9)
    checkin(activation, 35, 4, days_ago=2)
    checkin(churn, 0, 6, days_ago=1, blocker="Waiting on the legal review")
    checkin(nps, 50, 6, days_ago=20)
    checkin(hiring, 50, 8, days_ago=8)
    return now


def test_digest_sections_on_a_small_week(org, digest_week):
    digest = build_digest(
        org.product, now=digest_week, visible=Objective.objects.filter(team=org.product)
    )

    assert [(row["key_result"].title, row["before"], row["after"]) for row in digest.moved] == [
        ("Activation", pytest.approx(0.20), pytest.approx(0.35))
    ]
    assert [
        (row["key_result"].title, row["before"], row["after"]) for row in digest.confidence_drops
    ] == [("Activation", 7, 4)]
    assert [(c.key_result.title, c.blocker) for c in digest.blockers] == [
        ("Churn", "Waiting on the legal review")
    ]
    assert [(kr.title, (digest_week - kr.since).days) for kr in digest.stale] == [("NPS", 20)]
    assert [
        (str(row["person"]), [kr.title for kr in row["key_results"]]) for row in digest.missing
    ] == [("Lena Lead", ["Interviews"])]
    assert digest.top == [
        "“NPS” (Olu Owner) has had no check-in for 20 days.",
        "Confidence in “Activation” fell from 7 to 4/10.",
    ]


def test_digest_chat_message_reads_as_expected(org, digest_week):
    set_schedule(org.product, webhook_url="https://chat.example.org/hooks/product")

    emailed, posted = planning.plan_digests(digest_week, Team.objects.filter(pk=org.product.pk))

    assert (emailed, posted) == (1, 1)
    chat = Nudge.objects.get(kind=Nudge.Kind.DIGEST, team=org.product)
    review_url = links.absolute(reverse("checkins:team-review", args=[org.product.slug]))
    assert chat.subject == "Product: your week in goals"
    assert chat.body == (
        "Product: what happened since last week.\n"
        "Needs attention first:\n"
        "* “NPS” (Olu Owner) has had no check-in for 20 days.\n"
        "* Confidence in “Activation” fell from 7 to 4/10.\n"
        "\n"
        "Progress moved (1):\n"
        "- Activation: 20% → 35%\n"
        "\n"
        "Confidence drops (1):\n"
        "- Activation: 7 → 4/10\n"
        "\n"
        "New blockers (1):\n"
        "- Churn (Tia Mate): Waiting on the legal review\n"
        "\n"
        "Stale key results, no check-in for 14+ days (1):\n"
        "- NPS (Olu Owner)\n"
        "\n"
        "Missing check-ins this week (1):\n"
        "- Lena Lead: 1 key result\n"
        "\n"
        f"The team review: {review_url}\n"
    )
    lead = Nudge.objects.get(kind=Nudge.Kind.DIGEST, recipient=org.lead)
    assert lead.body.startswith("Hello Lena,\n\nProduct: what happened since last week.\n")
    assert "Change or pause these e-mails: " in lead.body
    assert "Waiting on the legal review" in lead.html_body


def test_digest_goes_to_each_lead_and_once_to_the_team_chat(org, digest_week):
    second_lead = factories.UserFactory(username="lead2", first_name="Lou")
    Membership.objects.create(user=second_lead, team=org.product, role=Membership.Role.LEAD)
    paused_lead = factories.UserFactory(username="lead3", nudge_channel=User.NudgeChannel.PAUSED)
    Membership.objects.create(user=paused_lead, team=org.product, role=Membership.Role.LEAD)
    set_schedule(org.product, webhook_url="https://chat.example.org/hooks/product")

    counts = planning.plan_due(digest_week)

    assert (counts.digests, counts.team_messages) == (2, 1)
    scope = f"team:{org.product.pk}"
    assert emails(Nudge.Kind.DIGEST) == [("lead", "2026-W48", scope), ("lead2", "2026-W48", scope)]
    assert chats(Nudge.Kind.DIGEST) == [("product", "2026-W48")]

    again = planning.plan_due(digest_week + dt.timedelta(hours=3))
    assert (again.digests, again.team_messages) == (0, 0)
    assert Nudge.objects.filter(kind=Nudge.Kind.DIGEST).count() == 3


def test_no_digest_before_the_hour_or_on_another_day(org, digest_week):
    assert planning.plan_due(digest_week - dt.timedelta(minutes=1)).digests == 0
    assert planning.plan_due(digest_week + dt.timedelta(days=1)).digests == 0
    assert emails(Nudge.Kind.DIGEST) == []


# Query budget


def _insert_statements(rows: int) -> int:
    """How many INSERTs the database needs for ``rows`` nudges: SQLite caps the number of
    parameters of one statement (999), PostgreSQL takes them all at once."""
    fields = [field for field in Nudge._meta.concrete_fields if not isinstance(field, AutoField)]
    probe = [Nudge()] * rows
    return math.ceil(rows / connection.ops.bulk_batch_size(fields, probe))


def _people(org, count: int, start: int, manager: User) -> None:
    """``count`` Product members with work due, one in three stale, one in four
    preferring the team chat, one in five on a private objective."""
    for n in range(start, start + count):
        person = factories.UserFactory(
            username=f"member{n}",
            manager=manager,
            nudge_channel=User.NudgeChannel.CHAT if n % 4 == 0 else User.NudgeChannel.EMAIL,
        )
        Membership.objects.create(user=person, team=org.product)
        visibility = Objective.Visibility.PRIVATE if n % 5 == 0 else Objective.Visibility.PUBLIC
        goal = objective(org, owner=person, visibility=visibility)
        key_result(org, f"Work {n}", owner=person, objective_=goal, days=20 if n % 3 else 8)
        key_result(org, f"More work {n}", owner=person, objective_=goal, days=7)


def test_plan_due_queries_do_not_grow_with_people(org):
    set_schedule(
        org.product,
        webhook_url="https://chat.example.org/hooks/product",
        digest_weekday=Team.Weekday.MONDAY,
    )
    manager = factories.UserFactory(username="manager")
    Membership.objects.create(user=manager, team=org.sales)

    _people(org, 3, 0, manager)
    with CaptureQueriesContext(connection) as few:
        counts = planning.plan_due(MONDAY)
    # 3 people, of whom 1 prefers the chat; the lead and the manager hear of 2 stale.
    assert (counts.reminders, counts.escalations, counts.digests, counts.team_messages) == (
        2,
        2,
        1,
        2,
    )

    Nudge.objects.all().delete()
    _people(org, 57, 3, manager)
    with CaptureQueriesContext(connection) as many:
        counts = planning.plan_due(MONDAY)
    assert (counts.reminders, counts.escalations, counts.digests, counts.team_messages) == (
        45,
        2,
        1,
        2,
    )

    extra = _insert_statements(45) - _insert_statements(2)
    assert len(many) == len(few) + extra, "\n".join(q["sql"] for q in many.captured_queries)


# The command


def test_send_nudges_at_a_moment_plans_and_sends_for_it(org):
    key_result(org, "Activation from 20% to 60%", days=8)
    out = StringIO()

    call_command("send_nudges", "--at", "2026-11-23T09:00", stdout=out)

    assert "planned 1 reminders, 0 escalations, 0 digests, 0 chat messages" in out.getvalue()
    assert "1 batches handed out" in out.getvalue()
    assert emails() == [("owner", "2026-W48", "")]
    assert [message.to for message in mail.outbox] == [["owner@example.org"]]
    assert Nudge.objects.get().state == Nudge.State.SENT

    call_command("send_nudges", "--at", "2026-11-23T09:05", stdout=StringIO())
    assert len(mail.outbox) == 1


def test_send_nudges_before_the_hour_plans_nothing(org):
    key_result(org, "Activation from 20% to 60%", days=8)
    out = StringIO()
    call_command("send_nudges", "--at", "2026-11-23T08:59", stdout=out)
    assert "planned 0 reminders" in out.getvalue()
    assert Nudge.objects.count() == 0


def test_send_nudges_refuses_a_moment_it_cannot_read(db):
    with pytest.raises(CommandError, match="is not a date and time"):
        call_command("send_nudges", "--at", "next monday", stdout=StringIO())
