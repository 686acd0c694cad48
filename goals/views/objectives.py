"""The objective page and writing goals: objectives, key results, initiatives.

Key results are edited in place with htmx: one view serves the whole page (no JS, or a
bookmark) and its fragment (``template.html#partial``) for htmx requests.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from alignment import rollup
from alignment.links import objective_links
from alignment.models import Team, User
from alignment.queries import team_access_for
from checkins.queries import objective_progress_series
from goals import access, charts, coaching, queries, services
from goals import progress as math
from goals.forms import (
    InitiativeForm,
    KeyResultForm,
    KeyResultFormSet,
    ObjectiveForm,
    typed_number,
)
from goals.history import objective_history as objective_history_of
from goals.models import Cycle, GoalpostChange, Initiative, KeyResult, Kpi, Objective
from goals.views import grading

ACTIVE_KPIS = Kpi.objects.filter(archived_at__isnull=True)


def _key_results(objective: Objective) -> list[KeyResult]:
    """Active key results in order, with what each row shows (three queries)."""
    return list(
        objective.key_results.filter(archived_at__isnull=True)
        .select_related("owner")
        .prefetch_related(
            Prefetch(
                "initiatives",
                queryset=Initiative.objects.filter(archived_at__isnull=True).select_related(
                    "owner"
                ),
            ),
            Prefetch(
                "goalpost_changes",
                queryset=GoalpostChange.objects.select_related("changed_by"),
            ),
        )
        .order_by("position", "pk")
    )


def _line_of_sight(user, objective: Objective, team_access) -> list[Objective | None]:
    """The chain from the top of the cascade down to this objective's parent. A link the
    person may not read is shown as ``None`` ("a private objective")."""
    return [
        ancestor if access.can_read_objective(user, ancestor, access=team_access) else None
        for ancestor in queries.ancestor_chains([objective.pk])[objective.pk]
    ]


def _page_context(request: HttpRequest, objective: Objective, team_access=None) -> dict:
    user = request.user
    team_access = team_access or team_access_for(user)  # asked once for the whole page
    today = timezone.localdate()
    expected = objective.cycle.expected_progress(today)
    key_results = _key_results(objective)
    prefetch_related_objects([objective], Prefetch("guardrails", queryset=ACTIVE_KPIS))
    visible = Objective.objects.visible_to(user, access=team_access).active()
    return {
        "objective": objective,
        "key_results": key_results,
        "expected": expected,
        "attention": math.needs_attention(
            objective.progress, expected, objective.lowest_confidence
        ),
        "can_write": access.can_write_objective(user, objective, access=team_access),
        "line_of_sight": _line_of_sight(user, objective, team_access),
        "children": list(
            visible.filter(parent=objective)
            .select_related("owner", "team", "parent_key_result")
            .order_by("team__name", "created_at", "pk")  # not by cycle: they share the parent's
        ),
        "links": objective_links(user, objective, team_access=team_access),
        "guardrails": objective.guardrails.all(),
        "hints": coaching.hints_for_objective(objective, key_results),
        **_progress_chart(objective, key_results, today),
        "initiative_forms": {},  # a form shown again with its errors; others load when opened
        "people": _people_near(user),
        "grading": grading.grading_summary(user, objective, key_results),
    }


def _people_near(user) -> QuerySet[User]:
    """Suggestions for owner fields: the people of the teams this person is in."""
    teams = user.memberships.values("team")
    return (
        User.objects.filter(is_active=True, memberships__team__in=teams)
        .order_by("first_name", "last_name")
        .distinct()
    )


def _initiative_form(key_result: KeyResult, data=None) -> InitiativeForm:
    form = InitiativeForm(
        data, instance=Initiative(key_result=key_result), prefix=f"initiative-{key_result.pk}"
    )
    # Each inline form has its own suggestions: several may be open on one page.
    form.fields["owner"].widget.attrs["list"] = f"people-{key_result.pk}"
    return form


def _progress_chart(objective: Objective, key_results: list[KeyResult], today) -> dict:
    """The objective's progress across its cycle, as steps held until today, against the
    straight expected pace from the cycle's start to its end."""
    cycle = objective.cycle
    series = objective_progress_series(objective, key_results)
    chart = charts.line_chart(
        series.points,
        x_range=(cycle.start_date, cycle.end_date),
        y_range=(0, 1),
        step=True,
        hold_until=min(today, cycle.end_date),
        expected=((cycle.start_date, 0), (cycle.end_date, 1)),
        y_label=lambda value: f"{value:.0%}",
    )
    return {"series": series, "chart": chart}


@login_required
def objective_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team_access = team_access_for(request.user)
    # Not with its parent's rows: eight joined tables took PostgreSQL longer to plan
    # (5 ms) than the links section's own query for them takes to plan and run.
    objective = access.get_objective_for_user(request.user, pk, access=team_access)
    context = _page_context(request, objective, team_access)
    return render(request, "goals/objective_detail.html", context)


def _initial_from_kpi(request: HttpRequest, user) -> tuple[dict, list[dict]]:
    """Prefill from ``?kpi=<pk>``: the KPI's team, and a key result whose baseline is its
    latest reading and whose target is its green threshold."""
    kpi_id = request.GET.get("kpi", "")
    if not kpi_id.isdigit():
        return {}, []
    kpi = access.get_kpi_for_user(user, int(kpi_id))
    if kpi.latest_value is None:
        return {"team": kpi.team}, []
    start, target = typed_number(kpi.latest_value), typed_number(kpi.green_threshold)
    key_result = {
        "title": f"{kpi.name} from {start} to {target}",
        "kind": KeyResult.Kind.NUMBER,
        "unit": kpi.unit,
        "start_value": start,
        "target_value": target,
    }
    initial = {"team": kpi.team, "title": f"Bring {kpi.name} back to green", "kpi": kpi.pk}
    return initial, [key_result]


def _initial_objective(request: HttpRequest) -> dict:
    user = request.user
    initial = {"owner": user.username}
    team_slug = request.GET.get("team")
    team = Team.objects.filter(slug=team_slug).first() if team_slug else None
    if team is None:
        membership = user.memberships.select_related("team").first()
        team = membership.team if membership else None
    cycle = Cycle.objects.filter(state=Cycle.State.ACTIVE).order_by("start_date").first()
    initial.update({"team": team, "cycle": cycle})
    return initial


@login_required
def objective_create(request: HttpRequest) -> HttpResponse:
    """A new objective with its first key results, in one form and one transaction."""
    objective = Objective()
    if request.method == "POST":
        form = ObjectiveForm(request.POST, instance=objective, user=request.user)
        formset = KeyResultFormSet(request.POST, instance=objective, prefix="kr")
        if form.is_valid() and formset.is_valid():
            key_results = [row.instance for row in formset.forms if row.has_changed()]
            try:
                services.objective_create(
                    objective=form.instance,
                    key_results=key_results,
                    actor=request.user,
                    guarded_by=form.cleaned_data.get("kpi"),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, "Objective created. Add initiatives or check in.")
                return redirect(objective)
    else:
        initial, kr_initial = _initial_from_kpi(request, request.user)
        form = ObjectiveForm(initial={**_initial_objective(request), **initial}, user=request.user)
        formset = KeyResultFormSet(instance=objective, prefix="kr", initial=kr_initial)
    context = {"form": form, "formset": formset, "objective": None}
    return render(
        request, "goals/objective_form.html", {**context, "people": _people_near(request.user)}
    )


@login_required
def objective_edit(request: HttpRequest, pk: int) -> HttpResponse:
    objective = access.get_objective_for_user(request.user, pk, write=True)
    form = ObjectiveForm(request.POST or None, instance=objective, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.objective_save(objective=form.instance)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Objective saved.")
            return redirect(objective)
    return render(
        request,
        "goals/objective_form.html",
        {"form": form, "formset": None, "objective": objective},
    )


@require_POST
@login_required
def objective_archive(request: HttpRequest, pk: int) -> HttpResponse:
    objective = access.get_objective_for_user(request.user, pk, write=True)
    services.objective_archive(objective=objective)
    messages.success(request, f"“{objective}” is archived. Its check-ins and history are kept.")
    destination = reverse("goals:team", args=[objective.team.slug])
    if request.htmx:
        return HttpResponseClientRedirect(destination)
    return redirect(destination)


# --- Key results, edited in place --------------------------------------------------------


def _row_response(request: HttpRequest, key_result: KeyResult, **extra) -> HttpResponse:
    """The key result's rows (display mode) plus, out of band, the objective's header so
    its progress follows."""
    objective = key_result.objective
    objective.refresh_from_db(fields=rollup.ROLLED_UP_FIELDS)
    context = _page_context(request, objective)
    row = next((kr for kr in context["key_results"] if kr.pk == key_result.pk), None)
    context.update({"kr": row, "oob": True, **extra})
    return render(request, "goals/objective_detail.html#key-result-response", context)


@login_required
def key_result_row(request: HttpRequest, pk: int) -> HttpResponse:
    """The display rows of one key result (what "Cancel" swaps back in)."""
    key_result = access.get_key_result_for_user(request.user, pk)
    if not request.htmx:
        return redirect(key_result)
    return _row_response(request, key_result)


def _key_result_form_page(
    request: HttpRequest, objective: Objective, form: KeyResultForm, key_result=None
) -> HttpResponse:
    context = {"objective": objective, "form": form, "kr": key_result}
    context["people"] = _people_near(request.user)
    if request.htmx:
        return render(request, "goals/key_result_form.html#edit-rows", context)
    return render(request, "goals/key_result_form.html", context)


@login_required
def key_result_create(request: HttpRequest, pk: int) -> HttpResponse:
    objective = access.get_objective_for_user(request.user, pk, write=True)
    key_result = KeyResult(objective=objective)
    form = KeyResultForm(request.POST or None, instance=key_result)
    if request.method == "POST" and form.is_valid():
        try:
            services.key_result_add(key_result=form.instance, actor=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if request.htmx:
                return _row_response(request, key_result, created=True)
            messages.success(request, "Key result added.")
            return redirect(objective)
    return _key_result_form_page(request, objective, form)


@login_required
def key_result_edit(request: HttpRequest, pk: int) -> HttpResponse:
    key_result = access.get_key_result_for_user(request.user, pk, write=True)
    form = KeyResultForm(request.POST or None, instance=key_result)
    if request.method == "POST" and form.is_valid():
        try:
            services.key_result_save(
                key_result=form.instance,
                actor=request.user,
                reason=form.cleaned_data.get("reason", ""),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if request.htmx:
                return _row_response(request, key_result)
            messages.success(request, "Key result saved.")
            return redirect(key_result)
    return _key_result_form_page(request, key_result.objective, form, key_result)


def _back_to_key_results(request: HttpRequest, objective: Objective) -> HttpResponse:
    if request.htmx:
        objective.refresh_from_db(fields=rollup.ROLLED_UP_FIELDS)
        context = {**_page_context(request, objective), "oob": True}
        return render(request, "goals/objective_detail.html#key-results-response", context)
    return redirect(objective)


@require_POST
@login_required
def key_result_move(request: HttpRequest, pk: int) -> HttpResponse:
    key_result = access.get_key_result_for_user(request.user, pk, write=True)
    services.key_result_move(key_result=key_result, up=request.POST.get("direction") == "up")
    return _back_to_key_results(request, key_result.objective)


@require_POST
@login_required
def key_result_archive(request: HttpRequest, pk: int) -> HttpResponse:
    key_result = access.get_key_result_for_user(request.user, pk, write=True)
    services.key_result_archive(key_result=key_result)
    key_result.objective.refresh_from_db(fields=rollup.ROLLED_UP_FIELDS)
    messages.success(request, f"“{key_result}” is archived. Its check-ins are kept.")
    return _back_to_key_results(request, key_result.objective)


# --- Initiatives ----------------------------------------------------------------------------


def _initiative_response(request: HttpRequest, key_result: KeyResult, form=None) -> HttpResponse:
    """After adding an initiative: the key result's initiatives (htmx), or the page. A
    form with errors is shown again, open, with what was typed."""
    if not request.htmx and form is None:
        return redirect(key_result)
    context = _page_context(request, key_result.objective)
    if form is not None:
        context["initiative_forms"][key_result.pk] = form
    if not request.htmx:
        return render(request, "goals/objective_detail.html", context)
    context["kr"] = next(kr for kr in context["key_results"] if kr.pk == key_result.pk)
    return render(request, "goals/objective_detail.html#initiatives", context)


@require_http_methods(["GET", "POST"])
@login_required
def initiative_create(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the empty form, inline (htmx, when "Add an initiative" is opened) or as a
    page of its own; POST: add it."""
    key_result = access.get_key_result_for_user(request.user, pk)
    access.refuse(access.initiative_create_refusal(request.user, key_result))
    if request.method == "GET":
        form = _initiative_form(key_result)
        people = _people_near(request.user)
        if request.htmx:
            context = {"kr": key_result, "form": form, "people": people}
            return render(request, "goals/objective_detail.html#initiative-form", context)
        context = {
            "form": form,
            "key_result": key_result,
            "initiative": form.instance,
            "people": people,
            "people_list": f"people-{key_result.pk}",
        }
        return render(request, "goals/initiative_form.html", context)
    form = _initiative_form(key_result, request.POST)
    if not form.is_valid():
        return _initiative_response(request, key_result, form)
    services.initiative_save(initiative=form.instance)
    return _initiative_response(request, key_result)


@login_required
def initiative_edit(request: HttpRequest, pk: int) -> HttpResponse:
    initiative = access.get_initiative_for_user(request.user, pk, write=True)
    form = InitiativeForm(request.POST or None, instance=initiative)
    if request.method == "POST" and form.is_valid():
        services.initiative_save(initiative=form.instance)
        messages.success(request, "Initiative saved.")
        return redirect(initiative.key_result)
    context = {
        "form": form,
        "initiative": initiative,
        "key_result": initiative.key_result,
        "people": _people_near(request.user),
        "people_list": "people",
    }
    return render(request, "goals/initiative_form.html", context)


@login_required
def objective_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every recorded change to the objective and its key results: loaded into the
    objective's page when it is scrolled to (htmx), or a page of its own."""
    objective = access.get_objective_for_user(request.user, pk)
    context = {"objective": objective, "history": objective_history_of(objective)}
    if request.htmx:
        return render(request, "goals/_history.html", context)
    return render(request, "goals/objective_history.html", context)
