from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from goals import progress as math
from goals import queries


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """My week: my objectives and key results in the active cycles."""
    today = timezone.localdate()
    cycles = queries.active_cycles()
    objectives = list(queries.my_objectives(request.user, cycles))
    sections = []
    for cycle in cycles:
        expected = cycle.expected_progress(today)
        rows = [
            {
                "objective": objective,
                "attention": math.needs_attention(
                    objective.progress, expected, _lowest_confidence(objective)
                ),
            }
            for objective in objectives
            if objective.cycle_id == cycle.pk
        ]
        sections.append({"cycle": cycle, "expected": expected, "rows": rows})
    return render(request, "goals/home.html", {"sections": sections, "today": today})


def _lowest_confidence(objective) -> int | None:
    confidences = [kr.confidence for kr in objective.key_results.all() if kr.confidence]
    return min(confidences, default=None)


def cycle_current(request, *args, **kwargs):
    raise Http404


def cycle_overview(request, *args, **kwargs):
    raise Http404


def team_detail(request, *args, **kwargs):
    raise Http404


def person_detail(request, *args, **kwargs):
    raise Http404
