"""The end of a cycle for the people who did the work: grading key results, reflecting on
objectives, and the team's retrospective page that puts both side by side.

Grading and the retrospective run a fixed number of queries whatever the number of
objectives: the objectives come in one query with their owner, team and reflection, and
their active key results in one more. Everything derived (objective grade, band,
verdict, who may grade what) is computed in Python from those rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from alignment.models import Team
from alignment.queries import TeamAccess, TeamTree, team_access_for
from goals import access, queries, services
from goals import progress as math
from goals.forms import GradeForm, ReflectionForm
from goals.models import Cycle, KeyResult, Objective, Reflection

# Where the service's field errors show on a grading row.
FORM_FIELD = {"grade": "grade", "grade_reason": "reason"}


@dataclass
class GradedObjective:
    """An objective with its active key results and what their grades add up to."""

    objective: Objective
    key_results: list[KeyResult]
    reflection: Reflection | None = None
    grade: float | None = field(init=False)
    partial: bool = field(init=False)

    def __post_init__(self) -> None:
        rows = [(kr.grade, kr.weight) for kr in self.key_results]
        self.grade = math.objective_grade(rows)
        self.partial = math.grading_is_partial(rows)

    @property
    def band(self) -> str | None:
        return math.grade_band(self.grade)

    @property
    def band_label(self) -> str:
        return math.BAND_LABELS.get(self.band or "", "Not graded")

    @property
    def verdict(self) -> str | None:
        return math.grade_verdict(self.objective.kind, self.grade)

    @property
    def ungraded(self) -> int:
        return sum(1 for kr in self.key_results if kr.grade is None)


def _active_key_results() -> Prefetch:
    return Prefetch(
        "key_results",
        queryset=KeyResult.objects.filter(archived_at__isnull=True)
        .select_related("owner")
        .order_by("position", "pk"),
    )


def _reflection_of(objective: Objective) -> Reflection | None:
    try:
        return objective.reflection
    except ObjectDoesNotExist:
        return None


def _summaries(objectives: QuerySet[Objective], cycle: Cycle) -> list[GradedObjective]:
    """Two queries: the objectives (with owner, team and reflection) and their key
    results. Each row's cycle is ``cycle``, so deciding who may grade costs nothing."""
    summaries = []
    for objective in objectives.select_related(
        "owner", "team", "reflection__author"
    ).prefetch_related(_active_key_results()):
        objective.cycle = cycle
        key_results = list(objective.key_results.all())
        for key_result in key_results:
            key_result.objective = objective
        summaries.append(GradedObjective(objective, key_results, _reflection_of(objective)))
    return summaries


def grading_summary(user, objective: Objective, key_results: list[KeyResult]) -> dict | None:
    """What the objective page's "Grade" section shows, once the cycle is in its
    grading window or closed (None before): the grades, and whether ``user`` may grade
    and reflect. One query (is there a reflection)."""
    cycle = objective.cycle
    if not (cycle.is_closed or access.grading_is_open(cycle)):
        return None
    team_access = team_access_for(user)
    active = [kr for kr in key_results if kr.archived_at is None]
    return {
        "summary": GradedObjective(
            objective,
            active,
            Reflection.objects.filter(objective=objective).select_related("author").first(),
        ),
        "can_grade": any(
            access.grading_refusal(user, kr, access=team_access) is None for kr in active
        ),
        "can_reflect": access.reflection_refusal(user, objective, access=team_access) is None,
    }


# --- Grading --------------------------------------------------------------------------------


def _team_filter(request: HttpRequest) -> tuple[list[Team], TeamTree, Team | None]:
    teams = list(Team.objects.filter(archived_at__isnull=True).only("pk", "name", "slug"))
    tree = TeamTree.load()
    slug = request.GET.get("team", "")
    return teams, tree, next((team for team in teams if team.slug == slug), None)


def _gradeable(user, cycle: Cycle, team_access: TeamAccess, team_ids: set[int] | None):
    """Objectives of ``cycle`` where ``user`` may grade something: their own, their
    teams' as a lead, and those with a key result they own (all, for admins)."""
    objectives = Objective.objects.visible_to(user, access=team_access).active()
    objectives = objectives.filter(cycle=cycle)
    if team_ids is not None:
        objectives = objectives.filter(team_id__in=team_ids)
    if not user.is_superuser:
        mine = objectives.filter(
            Q(owner=user)
            | Q(team_id__in=team_access.leads_over)
            | Q(pk__in=queries.key_result_objectives(user))
        )
        objectives = objectives.filter(pk__in=mine.values("pk"))
    return objectives.order_by("team__name", "title", "pk")


@login_required
def grading(request: HttpRequest, pk: int) -> HttpResponse:
    """Grade the cycle's key results: every one the person may grade, pre-filled with
    its grade or its progress rounded to 0.1; "Save grades" saves every filled row in
    one transaction, or nothing (each message beside its field, what was typed kept).
    ``?team=<slug>`` narrows it to a team and its sub-teams."""
    cycle = get_object_or_404(Cycle, pk=pk)
    user = request.user
    if cycle.is_closed and not user.is_superuser:
        raise PermissionDenied(access.CLOSED_CYCLE)
    today = timezone.localdate()
    team_access = team_access_for(user)
    teams, tree, team = _team_filter(request)
    team_ids = None if team is None else {team.pk, *tree.descendants(team.pk)}
    data = request.POST if request.method == "POST" else None
    groups = []
    for summary in _summaries(_gradeable(user, cycle, team_access, team_ids), cycle):
        entries = [
            {"kr": kr, "form": GradeForm(data, key_result=kr)}
            for kr in summary.key_results
            if access.grading_refusal(user, kr, today=today, access=team_access) is None
        ]
        if entries:
            groups.append({"summary": summary, "entries": entries})
    context = {
        "cycle": cycle,
        "team": team,
        "team_options": [(option, option.name) for option in sorted(teams, key=_by_name)],
        "groups": groups,
        "window": None if user.is_superuser else access.grading_window_refusal(cycle, today),
    }
    if data is None:
        return render(request, "goals/grading.html", context)

    forms = [entry["form"] for group in groups for entry in group["entries"]]
    results = [form.is_valid() for form in forms]  # every form, so each shows its message
    if not all(results):
        return render(request, "goals/grading.html", {**context, "invalid": True})
    filled = [form for form in forms if form.is_filled]
    if not filled:
        return render(
            request, "goals/grading.html", {**context, "nothing": "Nothing to save: enter grades."}
        )
    changed = _save_grades(filled, user)
    if changed is None:
        return render(request, "goals/grading.html", {**context, "invalid": True})
    messages.success(
        request,
        f"Saved {changed} grade{'' if changed == 1 else 's'}."
        if changed
        else "Nothing changed: the grades were already saved.",
    )
    url = reverse("goals:grading", args=[cycle.pk])
    return redirect(f"{url}?{urlencode({'team': team.slug})}" if team else url)


def _by_name(team: Team) -> str:
    return team.name.lower()


def _save_grades(forms: list[GradeForm], user) -> int | None:
    """Save every row or none: how many grades changed, or None when the service refused
    a row (its message is then on the row's form)."""
    changed = 0
    failed = False
    with transaction.atomic():
        for form in forms:
            key_result = form.key_result
            before = (key_result.grade, key_result.grade_reason)
            try:
                services.key_result_grade(
                    key_result=key_result,
                    grade=form.cleaned_data["grade"],
                    reason=form.cleaned_data["reason"],
                    actor=user,
                )
            except ValidationError as error:
                failed = True
                for name, problems in getattr(error, "error_dict", {None: error}).items():
                    messages_ = ValidationError(problems).messages
                    form.add_error(FORM_FIELD.get(name), messages_)
                continue
            changed += (key_result.grade, key_result.grade_reason) != before
        if failed:
            transaction.set_rollback(True)
    return None if failed else changed


# --- Reflection -----------------------------------------------------------------------------


@login_required
def reflection(request: HttpRequest, pk: int) -> HttpResponse:
    """The five questions on an objective, for its writers in the grading window (admins
    any time); people who may read the objective read a saved reflection."""
    objective = access.get_objective_for_user(request.user, pk)
    team_access = team_access_for(request.user)
    summary = GradedObjective(
        objective,
        list(objective.key_results.filter(archived_at__isnull=True).order_by("position", "pk")),
        Reflection.objects.filter(objective=objective).select_related("author").first(),
    )
    refusal = access.reflection_refusal(request.user, objective, access=team_access)
    if refusal is not None and (request.method == "POST" or summary.reflection is None):
        raise PermissionDenied(refusal)
    context = {"objective": objective, "summary": summary, "refusal": refusal}
    if refusal is not None:
        return render(request, "goals/reflection_form.html", context)
    form = ReflectionForm(
        request.POST if request.method == "POST" else None,
        instance=summary.reflection or Reflection(objective=objective),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.reflection_save(objective=objective, author=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Reflection saved. The team reads it at the retrospective.")
            return redirect(objective)
    return render(request, "goals/reflection_form.html", {**context, "form": form})


# --- Retrospective --------------------------------------------------------------------------


@login_required
def retrospective(request: HttpRequest, pk: int, slug: str) -> HttpResponse:
    """A team's cycle in one page for its retrospective meeting: each objective with its
    grade, band and verdict, its key results' grades and reasons, and its reflection,
    with what is still ungraded or unreflected counted at the top."""
    cycle = get_object_or_404(Cycle, pk=pk)
    team = get_object_or_404(Team, slug=slug)
    user = request.user
    today = timezone.localdate()
    team_access = team_access_for(user)
    objectives = (
        Objective.objects.visible_to(user, access=team_access)
        .active()
        .filter(cycle=cycle, team=team)
        .order_by("title", "pk")
    )
    summaries = _summaries(objectives, cycle)
    rows = [
        {
            "summary": summary,
            "can_grade": any(
                access.grading_refusal(user, kr, today=today, access=team_access) is None
                for kr in summary.key_results
            ),
            "can_reflect": access.reflection_refusal(
                user, summary.objective, today=today, access=team_access
            )
            is None,
        }
        for summary in summaries
    ]
    context = {
        "cycle": cycle,
        "team": team,
        "rows": rows,
        "ungraded": sum(summary.ungraded for summary in summaries),
        "key_result_count": sum(len(summary.key_results) for summary in summaries),
        "unreflected": sum(1 for summary in summaries if summary.reflection is None),
        # The link to grading: in the window, and for admins once the cycle is closed.
        "grading_open": access.grading_is_open(cycle, today)
        or (cycle.is_closed and user.is_superuser),
    }
    return render(request, "goals/retrospective.html", context)
