"""The read-only pages a manager lives in: my week, a cycle, a team, a person.

Each runs a fixed number of queries whatever the size of the organisation: reads are in
``goals.queries``, and what is derived per row (attention, scores of loaded objectives)
is computed in Python from rows already loaded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from alignment.access import team_settings_refusal
from alignment.models import Team, User
from alignment.queries import team_access_for
from alignment.tree import Org
from checkins.queries import recent_blockers
from goals import access, queries
from goals import progress as math
from goals.models import Cycle, Objective
from goals.spreadsheets import import_refusal
from goals.views import closing

# Check-ins within this many days count towards a cycle's check-in rate, and blockers
# raised within it are shown on the home page.
RECENT_DAYS = 7


@dataclass
class Section:
    """One cycle's objectives on a page, with what the cards need."""

    cycle: Cycle
    expected: float
    rows: list[dict]

    @property
    def score(self) -> float:
        return math.team_score(row["objective"].progress for row in self.rows)


def _sections(
    cycles: Iterable[Cycle], objectives: list[Objective], today: dt.date
) -> list[Section]:
    """``objectives`` (key results prefetched) grouped by cycle, each marked with why it
    needs attention (no query)."""
    sections = []
    for cycle in cycles:
        expected = cycle.expected_progress(today)
        rows = [
            {
                "objective": objective,
                "attention": math.needs_attention(
                    objective.progress, expected, objective.lowest_confidence
                ),
            }
            for objective in objectives
            if objective.cycle_id == cycle.pk
        ]
        sections.append(Section(cycle=cycle, expected=expected, rows=rows))
    return sections


def _my_key_results_needing_attention(
    user, sections: list[Section], now: dt.datetime
) -> list[dict]:
    """The key results ``user`` owns that are due a check-in, stale or at risk."""
    items = []
    for section in sections:
        for row in section.rows:
            for key_result in row["objective"].key_results.all():
                if key_result.owner_id != user.pk:
                    continue
                state = key_result.check_in_state(now)
                risk = math.needs_attention(
                    key_result.progress, section.expected, key_result.confidence
                )
                if state != "fresh" or risk:
                    items.append(
                        {
                            "key_result": key_result,
                            "objective": row["objective"],
                            "state": state,
                            "reasons": risk.reasons,
                            "behind": risk.behind_pace,
                            "expected": section.expected,
                        }
                    )
    # Stale first, then due, then the ones only at risk.
    order = {"stale": 0, "due": 1, "fresh": 2}
    return sorted(items, key=lambda item: order[item["state"]])


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """My week: what needs my attention, then my objectives and key results in the
    active cycles."""
    now = timezone.now()
    today = timezone.localdate(now)
    cycles = queries.active_cycles()
    team_access = team_access_for(request.user)
    visible = Objective.objects.visible_to(request.user, access=team_access)
    objectives = list(queries.objectives_of_person(visible, request.user, cycles))
    sections = _sections(cycles, objectives, today)
    # Blockers of my teams and of every team below the ones I lead.
    blockers = recent_blockers(
        visible, team_access.readable_private, since=now - dt.timedelta(days=RECENT_DAYS)
    )
    context = {
        "sections": sections,
        "today": today,
        "attention_items": _my_key_results_needing_attention(request.user, sections, now),
        "blockers": blockers,
        "recent_days": RECENT_DAYS,
    }
    return render(request, "goals/home.html", context)


def _with_query(url: str, **params: object) -> str:
    """``url`` with the non-empty ``params`` as its query string."""
    query = urlencode({key: value for key, value in params.items() if value})
    return f"{url}?{query}" if query else url


@login_required
def cycle_current(request: HttpRequest) -> HttpResponse:
    """The cycle running now (the earliest-starting active one), else the latest one."""
    cycle = (
        next(iter(queries.active_cycles()), None)
        or Cycle.objects.order_by("-start_date", "name").first()
    )
    if cycle is None:
        return render(request, "goals/cycle_overview.html", {"cycle": None})
    url = reverse("goals:cycle", args=[cycle.pk])
    return redirect(_with_query(url, team=request.GET.get("team", "")))


def _attention_reasons(objective: Objective, expected: float) -> list[str]:
    attention = math.needs_attention(objective.progress, expected, objective.lowest_confidence)
    reasons = list(attention.reasons)
    if objective.stale:
        reasons.append("a key result is stale")
    return reasons


@login_required
def cycle_overview(request: HttpRequest, pk: int) -> HttpResponse:
    """Every team's score in a cycle, the objectives needing attention and the check-in
    rate; filtered to a team and its sub-teams with ``?team=<slug>``. For htmx requests
    (the team filter) only the results are sent."""
    now = timezone.now()
    cycles = queries.all_cycles()
    cycle = next((cycle for cycle in cycles if cycle.pk == pk), None)
    if cycle is None:
        raise Http404("No such cycle.")
    org = Org.load()
    team = org.by_slug(request.GET.get("team", ""))
    team_ids = None if team is None else org.subtree(team)
    expected = cycle.expected_progress(timezone.localdate(now))
    team_access = team_access_for(request.user)
    overview = queries.cycle_overview(
        Objective.objects.visible_to(request.user, access=team_access),
        cycle,
        team_ids=team_ids,
        expected=expected,
        now=now,
        checkin_since=now - dt.timedelta(days=RECENT_DAYS),
    )
    context = {
        "cycle": cycle,
        "cycle_links": [
            {
                "label": other.name,
                "note": other.get_state_display(),
                "url": _with_query(
                    reverse("goals:cycle", args=[other.pk]), team=team.slug if team else ""
                ),
                "current": other.pk == cycle.pk,
            }
            for other in cycles
        ],
        "team_options": org.options(),
        "team": team,
        "expected": expected,
        "overview": overview,
        "attention": [
            {"objective": objective, "reasons": _attention_reasons(objective, expected)}
            for objective in overview.attention
        ],
        "recent_days": RECENT_DAYS,
        "can_import": import_refusal(request.user, cycle, team_access=team_access) is None,
        "end_of_cycle": closing.cycle_end_actions(request.user, cycle, access_=team_access),
    }
    template = "goals/cycle_overview.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


def _shown_cycles(request: HttpRequest, cycles: list[Cycle]) -> tuple[list[Cycle], Cycle | None]:
    """The cycles a team or person page shows: ``?cycle=<pk>``, or the active ones
    (earliest first). Returns them and the chosen cycle (None for "active")."""
    raw = request.GET.get("cycle", "")
    if not raw:
        active = [cycle for cycle in cycles if cycle.state == Cycle.State.ACTIVE]
        return sorted(active, key=lambda cycle: (cycle.start_date, cycle.name)), None
    chosen = next((cycle for cycle in cycles if str(cycle.pk) == raw), None)
    if chosen is None:
        raise Http404("No such cycle.")
    return [chosen], chosen


def _cycle_links(url: str, cycles: list[Cycle], chosen: Cycle | None) -> list[dict]:
    """Links switching a page between its active cycles and any one cycle."""
    links = [{"label": "Active cycles", "url": url, "current": chosen is None}]
    links += [
        {
            "label": cycle.name,
            "note": cycle.get_state_display(),
            "url": _with_query(url, cycle=cycle.pk),
            "current": chosen is not None and cycle.pk == chosen.pk,
        }
        for cycle in cycles
    ]
    return links


@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A team: its objectives in the shown cycles, its sub-teams' scores, its members
    and its KPIs."""
    team = get_object_or_404(Team.objects.select_related("parent"), slug=slug)
    cycles = queries.all_cycles()
    shown, chosen = _shown_cycles(request, cycles)
    team_access = team_access_for(request.user)
    visible = Objective.objects.visible_to(request.user, access=team_access)
    today = timezone.localdate()
    sections = _sections(shown, list(queries.team_objectives(visible, team, shown)), today)
    children = list(team.children.filter(archived_at__isnull=True).order_by("name"))
    scores = queries.team_scores(visible, shown, [child.pk for child in children])
    sub_teams = [
        {
            "team": child,
            "scores": [scores.get((child.pk, cycle.pk)) for cycle in shown],
        }
        for child in children
    ]
    context = {
        "team": team,
        "sections": sections,
        "shown": shown,
        "cycle_links": _cycle_links(reverse("goals:team", args=[team.slug]), cycles, chosen),
        "chosen": chosen,
        "sub_teams": sub_teams,
        "members": list(queries.team_members(team)),
        "kpis": list(queries.team_kpis(team)),
        "can_add_kpi": access.kpi_write_refusal(request.user, team.pk, access=team_access) is None,
        "can_edit_settings": team_settings_refusal(request.user, team, access=team_access) is None,
    }
    return render(request, "goals/team_detail.html", context)


@login_required
def person_detail(request: HttpRequest, username: str) -> HttpResponse:
    """A person: job title, manager, reports, teams, and the objectives and key results
    they own in the shown cycles (only those the reader may see)."""
    person = get_object_or_404(
        User.objects.select_related("manager"), username=username, is_active=True
    )
    cycles = queries.all_cycles()
    shown, chosen = _shown_cycles(request, cycles)
    team_access = team_access_for(request.user)
    visible = Objective.objects.visible_to(request.user, access=team_access)
    objectives = list(queries.objectives_of_person(visible, person, shown))
    served = [
        objective
        for objective in queries.company_objectives_served(objectives)
        if access.can_read_objective(request.user, objective, access=team_access)
    ]
    context = {
        "person": person,
        "served": served,
        "memberships": list(queries.person_memberships(person)),
        "reports": list(person.reports.filter(is_active=True).order_by("first_name", "last_name")),
        "sections": _sections(shown, objectives, timezone.localdate()),
        "cycle_links": _cycle_links(
            reverse("goals:person", args=[person.username]), cycles, chosen
        ),
        "chosen": chosen,
    }
    return render(request, "goals/person_detail.html", context)
