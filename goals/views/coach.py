"""The quality coach in the browser: live hints while writing, and a report per cycle."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from alignment.models import Team
from alignment.queries import TeamTree
from goals import coaching
from goals.models import Cycle, Objective


@require_POST
@login_required
def objective_hints(request: HttpRequest) -> HttpResponse:
    """Hints for the objective form as typed (sent by htmx, debounced). Reads nothing
    but team sizes, and writes nothing."""
    hints = coaching.hints_for_draft(request.POST)
    return render(request, "goals/_coach_hints.html", {"hints": hints, "live": True})


@login_required
def coach_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Every hint for a cycle's visible objectives, by team; ``?team=<slug>`` narrows to a
    team and the teams below it."""
    cycle = get_object_or_404(Cycle, pk=pk)
    objectives = Objective.objects.visible_to(request.user).active().filter(cycle=cycle)
    team = None
    if slug := request.GET.get("team"):
        team = get_object_or_404(Team, slug=slug)
        scope = {team.pk} | TeamTree.load().descendants(team.pk)
        objectives = objectives.filter(team_id__in=scope)
    reports = coaching.cycle_report(objectives, cycle)
    return render(
        request,
        "goals/coach_report.html",
        {
            "cycle": cycle,
            "team": team,
            "reports": reports,
            "hint_count": sum(report.count for report in reports),
            "teams": Team.objects.filter(archived_at__isnull=True).only("name", "slug"),
            "cycles": Cycle.objects.only("name"),
        },
    )
