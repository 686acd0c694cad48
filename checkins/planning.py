"""Which nudges are due now: rows written in bulk, once per recipient and period.

Planning only writes ``Nudge`` rows (state *pending*); ``checkins.delivery`` sends them.
A row that already exists for the same (recipient, kind, period, scope) or (team, kind,
period) is skipped by the database, so duplicate ticks, retries and two beat processes
plan nothing twice. Queries are per batch of people or per team, never per key result.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from alignment.models import Membership, Team, User
from checkins import compose, links, schedule
from checkins.digest import build_digest
from checkins.models import Nudge
from checkins.queries import unchecked_key_results
from goals.models import KeyResult, Objective


@dataclass
class PlanCounts:
    reminders: int = 0
    escalations: int = 0
    digests: int = 0
    team_messages: int = 0

    @property
    def total(self) -> int:
        return self.reminders + self.escalations + self.digests + self.team_messages


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _write(rows: Iterable[Nudge]) -> int:
    """Insert ``rows`` (all of one kind and period), skipping any that already exist;
    returns how many were new."""
    rows = list(rows)
    if not rows:
        return 0
    same = Nudge.objects.filter(kind=rows[0].kind, period=rows[0].period)
    before = same.count()
    Nudge.objects.bulk_create(rows, ignore_conflicts=True)
    return same.count() - before


def _chat_teams() -> QuerySet[Team]:
    return Team.objects.filter(archived_at__isnull=True, webhook_failed_at__isnull=True).exclude(
        webhook_url=""
    )


def _emailable(people: QuerySet[User]) -> QuerySet[User]:
    return (
        people.filter(is_active=True)
        .exclude(email="")
        .exclude(nudge_channel=User.NudgeChannel.PAUSED)
    )


# Reminders


def plan_reminders(now: dt.datetime, teams: QuerySet[Team]) -> int:
    """One e-mail per person with due key results, on the first of their teams' check-in
    days (teams they belong to, or whose objectives they own key results in); people who
    chose chat and own due key results of a team with a chat are named there instead."""
    period = schedule.period_of(now)
    due = unchecked_key_results(before=schedule.due_before(now))
    members = Membership.objects.filter(team__in=teams).values("user_id")
    owners = due.filter(Q(objective__team__in=teams) | Q(owner__in=members)).values("owner_id")
    # Not the team chat rows: their NULL recipient would make NOT IN exclude everyone.
    reminded = Nudge.objects.filter(
        kind=Nudge.Kind.REMINDER, period=period, recipient__isnull=False
    ).values("recipient_id")
    # Chat instead of e-mail only for someone a team chat names: a due key result on the
    # objective of a team with a working webhook (see ``plan_team_reminders``).
    named_in_chat = due.filter(owner=OuterRef("pk"), objective__team__in=_chat_teams())
    people = list(
        _emailable(User.objects.filter(pk__in=owners))
        .exclude(pk__in=reminded)
        .exclude(Q(nudge_channel=User.NudgeChannel.CHAT) & Exists(named_in_chat))
        .order_by("pk")
    )
    written = 0
    for batch in _batches(people, settings.WAYMARK["NUDGE_BATCH_SIZE"]):
        by_owner: dict[int, list[dict]] = defaultdict(list)
        for row in (
            due.filter(owner__in=batch)
            .order_by("objective__title", "position", "pk")
            .values("pk", "title", "owner_id", "objective__title", "since")
        ):
            by_owner[row["owner_id"]].append(row)
        written += _write(_reminder(person, by_owner[person.pk], period) for person in batch)
    return written


def _reminder(person: User, key_results: list[dict], period: str) -> Nudge:
    message = compose.reminder(
        person,
        key_results,
        checkin_url=links.checkin_url(
            user_id=person.pk, period=period, key_result_ids=[row["pk"] for row in key_results]
        ),
        preferences_url=links.preferences_url(user_id=person.pk),
    )
    return _email(person, Nudge.Kind.REMINDER, period, "", message)


def plan_team_reminders(now: dt.datetime, teams: QuerySet[Team]) -> int:
    """One chat message per team with a webhook, naming who has key results due."""
    period = schedule.period_of(now)
    chat_teams = {team.pk: team for team in _chat_teams().filter(pk__in=teams.values("pk"))}
    if not chat_teams:
        return 0
    due: dict[int, list[dict]] = defaultdict(list)
    for row in (
        unchecked_key_results(before=schedule.due_before(now))
        .filter(objective__team__in=list(chat_teams), owner__is_active=True)
        .exclude(owner__nudge_channel=User.NudgeChannel.PAUSED)
        .values("objective__team_id", "owner__first_name", "owner__last_name", "owner__username")
        .annotate(count=Count("pk"))
        .order_by("objective__team_id", "owner__first_name", "owner__username")
    ):
        name = f"{row['owner__first_name']} {row['owner__last_name']}".strip()
        due[row["objective__team_id"]].append(
            {"name": name or row["owner__username"], "count": row["count"]}
        )
    return _write(
        _chat(
            chat_teams[team_id],
            Nudge.Kind.REMINDER,
            period,
            compose.team_reminder(chat_teams[team_id], rows),
        )
        for team_id, rows in due.items()
    )


# Escalations


def plan_escalations(now: dt.datetime, teams: QuerySet[Team]) -> int:
    """Stale key results of each team's objectives, reported once per week and team to
    the owner's manager and to the team's leads. A private objective's key results go
    only to those who can read it here: the team's leads and managers in the team."""
    period = schedule.period_of(now)
    stale = list(
        unchecked_key_results(before=schedule.stale_before(now))
        .filter(objective__team__in=teams)
        .select_related("owner", "objective")
        .order_by("since", "pk")
    )
    if not stale:
        return 0
    team_ids = {kr.objective.team_id for kr in stale}
    in_team: dict[int, set[int]] = defaultdict(set)
    leads: dict[int, set[int]] = defaultdict(set)
    for user_id, team_id, role in Membership.objects.filter(team__in=team_ids).values_list(
        "user_id", "team_id", "role"
    ):
        in_team[team_id].add(user_id)
        if role == Membership.Role.LEAD:
            leads[team_id].add(user_id)

    reports: dict[tuple[int, int], list[KeyResult]] = defaultdict(list)
    for kr in stale:
        team_id = kr.objective.team_id
        recipients = set(leads[team_id])
        manager_id = kr.owner.manager_id
        private = kr.objective.visibility == Objective.Visibility.PRIVATE
        if manager_id and (not private or manager_id in in_team[team_id]):
            recipients.add(manager_id)
        recipients.discard(kr.owner_id)
        for recipient_id in recipients:
            reports[(recipient_id, team_id)].append(kr)

    already = set(
        Nudge.objects.filter(
            kind=Nudge.Kind.ESCALATION, period=period, scope__in=[_team_scope(t) for t in team_ids]
        ).values_list("recipient_id", "scope")
    )
    wanted = {key for key in reports if (key[0], _team_scope(key[1])) not in already}
    people = {
        person.pk: person
        for person in _emailable(User.objects.filter(pk__in={pk for pk, _ in wanted}))
    }
    team_by_id = Team.objects.in_bulk(team_ids)
    rows = []
    for recipient_id, team_id in sorted(wanted):
        if recipient_id not in people:
            continue
        key_results = [
            {
                "title": kr.title,
                "objective__title": kr.objective.title,
                "owner": kr.owner,
                "days": (now - kr.since).days,
            }
            for kr in reports[(recipient_id, team_id)]
        ]
        person, team = people[recipient_id], team_by_id[team_id]
        message = compose.escalation(
            person, team, key_results, preferences_url=links.preferences_url(user_id=person.pk)
        )
        rows.append(_email(person, Nudge.Kind.ESCALATION, period, _team_scope(team_id), message))
    return _write(rows)


# Digests


def plan_digests(now: dt.datetime, teams: QuerySet[Team]) -> tuple[int, int]:
    """Each team's digest: e-mailed to each of its leads and posted to its chat.
    Returns (e-mails, chat messages) planned."""
    period = schedule.period_of(now)
    teams = list(teams.order_by("pk"))
    if not teams:
        return 0, 0
    leads: dict[int, list[User]] = defaultdict(list)
    for membership in Membership.objects.filter(
        team__in=teams, role=Membership.Role.LEAD, user__in=_emailable(User.objects.all())
    ).select_related("user"):
        leads[membership.team_id].append(membership.user)
    done_emails = set(
        Nudge.objects.filter(
            kind=Nudge.Kind.DIGEST, period=period, recipient__isnull=False
        ).values_list("recipient_id", "scope")
    )
    done_teams = set(
        Nudge.objects.filter(kind=Nudge.Kind.DIGEST, period=period, team__isnull=False).values_list(
            "team_id", flat=True
        )
    )
    chat = set(
        _chat_teams().filter(pk__in=[team.pk for team in teams]).values_list("pk", flat=True)
    )
    emails = chats = 0
    for team in teams:
        readers = [
            lead for lead in leads[team.pk] if (lead.pk, _team_scope(team.pk)) not in done_emails
        ]
        post = team.pk in chat and team.pk not in done_teams
        if not readers and not post:
            continue
        # A team's own leads (and its channel) may read all of its objectives.
        digest = build_digest(team, now=now, visible=Objective.objects.filter(team=team))
        rows = [
            _email(
                lead,
                Nudge.Kind.DIGEST,
                period,
                _team_scope(team.pk),
                compose.digest(
                    lead, digest, preferences_url=links.preferences_url(user_id=lead.pk)
                ),
            )
            for lead in readers
        ]
        emails += _write(rows)
        if post:
            chats += _write([_chat(team, Nudge.Kind.DIGEST, period, compose.digest(None, digest))])
    return emails, chats


# Alerts


def plan_webhook_alert(team: Team, error: str, *, now: dt.datetime) -> int:
    """Tell the team's leads that its chat webhook failed for good (once a week)."""
    period = schedule.period_of(now)
    leads = _emailable(
        User.objects.filter(memberships__team=team, memberships__role=Membership.Role.LEAD)
    )
    return _write(
        _email(
            lead,
            Nudge.Kind.WEBHOOK_ALERT,
            period,
            _team_scope(team.pk),
            compose.webhook_alert(
                lead, team, error, preferences_url=links.preferences_url(user_id=lead.pk)
            ),
        )
        for lead in leads
    )


# Everything due at one moment


def plan_due(now: dt.datetime) -> PlanCounts:
    """Plan every reminder, escalation and digest whose team moment has come."""
    checkin_teams = schedule.checkin_teams_due(now)
    counts = PlanCounts(
        reminders=plan_reminders(now, checkin_teams),
        escalations=plan_escalations(now, checkin_teams),
        team_messages=plan_team_reminders(now, checkin_teams),
    )
    digests, chats = plan_digests(now, schedule.digest_teams_due(now))
    counts.digests = digests
    counts.team_messages += chats
    return counts


def _team_scope(team_id: int) -> str:
    return f"team:{team_id}"


def _email(person: User, kind: str, period: str, scope: str, message: compose.Message) -> Nudge:
    return Nudge(
        recipient=person,
        kind=kind,
        period=period,
        scope=scope,
        channel=Nudge.Channel.EMAIL,
        subject=message.subject[:200],
        body=message.text,
        html_body=message.html,
    )


def _chat(team: Team, kind: str, period: str, message: compose.Message) -> Nudge:
    return Nudge(
        team=team,
        kind=kind,
        period=period,
        channel=Nudge.Channel.WEBHOOK,
        subject=message.subject[:200],
        body=message.text,
    )


# Planning the next cycle


def plan_planning_reminders(cycle, *, now: dt.datetime, previous=None) -> int:
    """Ask every active team lead, and every owner of an objective in ``previous`` (the
    cycle ending; by default the one that ended last before ``cycle`` starts), to draft
    their objectives for ``cycle``: one e-mail per person per cycle, however often it is
    planned. Returns how many were new. Four queries, plus two to write."""
    from goals.models import Cycle

    if previous is None:
        previous = Cycle.objects.filter(end_date__lt=cycle.start_date).order_by("-end_date").first()
    owners = Objective.objects.active().filter(cycle=previous).values("owner")
    leads = Membership.objects.filter(
        role=Membership.Role.LEAD, team__archived_at__isnull=True
    ).values("user")
    people = list(
        _emailable(User.objects.filter(Q(pk__in=leads) | Q(pk__in=owners))).order_by("pk")
    )
    carried = dict(
        Objective.objects.active()
        .filter(cycle=cycle, carried_from__isnull=False, owner__in=people)
        .values_list("owner")
        .annotate(count=Count("pk"))
    )
    rows = [
        _email(
            person,
            Nudge.Kind.PLANNING,
            f"cycle:{cycle.pk}",
            "",
            compose.planning(
                person,
                cycle,
                previous,
                carried=carried.get(person.pk, 0),
                preferences_url=links.preferences_url(user_id=person.pk),
            ),
        )
        for person in people
    ]
    for row in rows:
        row.next_attempt_at = now
    return _write(rows)
