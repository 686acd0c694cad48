"""The end of a cycle: closing it, carrying unfinished objectives forward, opening the
next one.

Each page runs a fixed number of queries whatever the number of teams and objectives:
counts are aggregated in SQL and the objectives offered are loaded in one query with
what their rows show.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from alignment.queries import team_access_for
from checkins.planning import plan_planning_reminders
from goals import access, services
from goals import progress as math
from goals.models import Cycle, KeyResult, Objective

NEW_CYCLE = "new"


def _active_key_results(cycle: Cycle):
    return KeyResult.objects.filter(
        objective__cycle=cycle, objective__archived_at__isnull=True, archived_at__isnull=True
    )


def _ungraded_by_team(cycle: Cycle) -> list[dict]:
    """Per team with key results: how many are ungraded of how many (one query)."""
    return list(
        _active_key_results(cycle)
        .values("objective__team__name", "objective__team__slug")
        .annotate(total=Count("pk"), ungraded=Count("pk", filter=Q(grade__isnull=True)))
        .filter(ungraded__gt=0)
        .order_by("objective__team__name")
    )


@login_required
def cycle_close(request: HttpRequest, pk: int) -> HttpResponse:
    """What is still ungraded and unreflected, then "Close the cycle". With anything
    left open, closing needs a confirmation; then on to carrying objectives forward."""
    cycle = get_object_or_404(Cycle, pk=pk)
    if cycle.is_closed:
        messages.info(request, f"{cycle} is closed.")
        return redirect("goals:carry-over", pk=cycle.pk)
    access.refuse(access.cycle_close_refusal(request.user, cycle))
    ungraded = _ungraded_by_team(cycle)
    unreflected = list(
        Objective.objects.active()
        .filter(cycle=cycle, reflection__isnull=True)
        .select_related("team", "owner")
        .order_by("team__name", "title")
    )
    open_items = bool(ungraded or unreflected)
    error = ""
    if request.method == "POST":
        if open_items and not request.POST.get("confirm"):
            error = "Some things are still open: tick the box to close the cycle anyway."
        else:
            try:
                services.cycle_close(cycle=cycle, actor=request.user)
            except ValidationError as problem:
                messages.error(request, " ".join(problem.messages))
            else:
                messages.success(
                    request,
                    f"{cycle} is closed: its goals are read-only now. "
                    "Carry what is unfinished into the next cycle.",
                )
            return redirect("goals:carry-over", pk=cycle.pk)
    return render(
        request,
        "goals/cycle_close.html",
        {
            "cycle": cycle,
            "ungraded": ungraded,
            "ungraded_total": sum(row["ungraded"] for row in ungraded),
            "unreflected": unreflected,
            "open_items": open_items,
            "error": error,
        },
        status=400 if error else 200,
    )


def _full_grade(objective: Objective) -> float | None:
    """The objective's grade once every active key result has one, else None."""
    rows = [(kr.grade, kr.weight) for kr in objective.active_key_results]
    return None if math.grading_is_partial(rows) else math.objective_grade(rows)


def _unfinished(objective: Objective) -> bool:
    """Below 1.0 by its grade once fully graded, else by its progress."""
    grade = _full_grade(objective)
    return (grade if grade is not None else objective.progress) < 1.0


def _carry_rows(user, cycle: Cycle, team_access) -> list[dict]:
    """The cycle's unfinished objectives ``user`` may carry, grouped by team, each with
    the copies already made (three queries)."""
    objectives = (
        Objective.objects.visible_to(user, access=team_access)
        .active()
        .filter(cycle=cycle)
        .select_related("team", "owner", "cycle")
        .prefetch_related(
            Prefetch(
                "key_results",
                queryset=KeyResult.objects.filter(archived_at__isnull=True),
                to_attr="active_key_results",
            ),
            Prefetch(
                "carried_into",
                queryset=Objective.objects.select_related("cycle").order_by("pk"),
                to_attr="copies",
            ),
        )
        .order_by("team__name", "title")
    )
    teams: dict[str, list[Objective]] = defaultdict(list)
    for objective in objectives:
        if access.carry_over_refusal(user, objective, access=team_access) is None and (
            objective.copies or _unfinished(objective)
        ):
            objective.grade = _full_grade(objective)
            teams[objective.team.name].append(objective)
    return [{"team": name, "objectives": rows} for name, rows in teams.items()]


def _targets(cycle: Cycle) -> list[Cycle]:
    """Cycles to carry into: planning or active ones that start after ``cycle``."""
    return list(
        Cycle.objects.filter(
            state__in=[Cycle.State.PLANNING, Cycle.State.ACTIVE], start_date__gt=cycle.start_date
        ).order_by("start_date", "name")
    )


@login_required
def carry_over(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose unfinished objectives and a cycle (or a new next one) and carry them
    forward; objectives already carried show where to and are not offered again."""
    cycle = get_object_or_404(Cycle, pk=pk)
    if not cycle.is_closed and cycle.end_date >= timezone.localdate():
        access.refuse("Objectives are carried forward once their cycle is closed or has ended.")
    team_access = team_access_for(request.user)
    groups = _carry_rows(request.user, cycle, team_access)
    offered = {o.pk: o for group in groups for o in group["objectives"] if not o.copies}
    targets = _targets(cycle)
    next_name = services.next_cycle_name(cycle.name)
    can_create = (
        access.cycle_next_refusal(request.user, access=team_access) is None
        and not Cycle.objects.filter(name=next_name).exists()
    )
    error = ""
    if request.method == "POST":
        chosen = [
            offered[int(raw)]
            for raw in request.POST.getlist("objective")
            if raw.isdigit() and int(raw) in offered
        ]
        target = request.POST.get("into", "")
        into = next((c for c in targets if str(c.pk) == target), None)
        if not chosen:
            error = "Choose at least one objective to carry forward."
        elif into is None and not (target == NEW_CYCLE and can_create):
            error = "Choose the cycle to carry them into."
        else:
            try:
                if into is None:
                    into = services.cycle_create_next(cycle=cycle, actor=request.user)
                copies = services.objective_carry_forward(
                    objectives=chosen, into=into, actor=request.user
                )
            except ValidationError as problem:
                error = " ".join(problem.messages)
            else:
                messages.success(
                    request,
                    format_html(
                        "Carried into {}: {}.",
                        into.name,
                        format_html_join(
                            ", ",
                            '<a href="{}">{}</a>',
                            ((copy.get_absolute_url(), copy.title) for copy in copies),
                        ),
                    ),
                )
                return redirect("goals:carry-over", pk=cycle.pk)
    return render(
        request,
        "goals/carry_over.html",
        {
            "cycle": cycle,
            "groups": groups,
            "offered": len(offered),
            "targets": targets,
            "can_create": can_create,
            "next_name": next_name,
            "chosen_ids": {int(raw) for raw in request.POST.getlist("objective") if raw.isdigit()},
            "into": request.POST.get("into", ""),
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def cycle_next(request: HttpRequest, pk: int) -> HttpResponse:
    """Open the cycle after ``pk`` (same length, from the day after it ends) and remind
    every team lead and every owner of its objectives to draft their objectives. If the
    next cycle exists already (carrying forward created it), only the reminders are
    planned: each person gets one per cycle whatever is clicked twice."""
    cycle = get_object_or_404(Cycle, pk=pk)
    access.refuse(access.cycle_next_refusal(request.user))
    existing = Cycle.objects.filter(name=services.next_cycle_name(cycle.name)).first()
    try:
        created = existing or services.cycle_create_next(cycle=cycle, actor=request.user)
    except ValidationError as problem:
        messages.error(request, " ".join(problem.messages))
        return redirect("goals:cycle", pk=cycle.pk)
    planned = plan_planning_reminders(created, now=timezone.now(), previous=cycle)
    messages.success(
        request,
        f"{created} is {'ready' if existing else 'created'}, in planning; "
        f"{planned} new reminder{'' if planned == 1 else 's'} to draft objectives "
        "will be sent.",
    )
    return redirect("goals:cycle", pk=created.pk)


def cycle_end_actions(user, cycle: Cycle, *, access_=None) -> dict[str, bool]:
    """Which end-of-cycle links the cycle overview shows ``user`` (one query: the root
    teams). Carrying is offered to admins and anyone who leads a team, once the cycle
    is closed or has ended."""
    team_access = access_ if access_ is not None else team_access_for(user)
    may_plan = access.cycle_next_refusal(user, access=team_access) is None
    ended = cycle.is_closed or cycle.end_date < timezone.localdate()
    return {
        "close": may_plan and not cycle.is_closed,
        "carry": ended and (user.is_superuser or bool(team_access.leads_over)),
        "next": may_plan and cycle.state != Cycle.State.PLANNING,
    }
