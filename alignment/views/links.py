"""The links of one objective: aligning it to a parent, cascading from one of its key
results, what it supports, and dependencies between teams.

Pages post and redirect; the links section of the objective page (``alignment/_links.html``)
is swapped in place for htmx requests. Writes go through ``goals.services``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateformat import format as date_format
from django.views.decorators.http import require_POST

from alignment import links
from alignment.forms import (
    AlignForm,
    CascadeForm,
    CascadeKeyResultFormSet,
    DependencyRequestForm,
    DependencyResponseForm,
    SupportsForm,
    add_service_error,
)
from alignment.models import Team
from alignment.queries import TeamTree, team_access_for
from goals import access, services
from goals.models import Dependency, KeyResult, Objective, readable_objectives

# --- Aligning an objective to its parent -----------------------------------------------


def _selected_id(raw) -> int | None:
    return int(raw) if str(raw).isdigit() else None


@login_required
def objective_align(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose the parent (nearby ones first, then a search), the key result it serves
    and the weight. One view serves the page and its two fragments: the search results
    (``#parent-results``) and the chosen parent's key results (``#key-result-choices``)."""
    user = request.user
    objective = access.get_objective_for_user(user, pk, write=True)
    team_access = team_access_for(user)
    visible = Objective.objects.visible_to(user, access=team_access)
    # What may be picked: anything visible and active (and the current parent, even if
    # private). Loops and other cycles are the model's to refuse, with its message.
    pickable = (visible.active() | Objective.objects.filter(pk=objective.parent_id)).select_related(
        "team", "cycle", "owner"
    )
    choices = links.parent_choices(visible, objective)
    tree = TeamTree.load()
    # The search reaches beyond the objectives offered first (this team's and above).
    beyond = choices.exclude(team_id__in=[objective.team_id, *tree.ancestors(objective.team_id)])
    query = request.GET.get("q", "")
    target = request.htmx.target if request.htmx else None
    if target == "parent-results":
        found, more = links.search(beyond, query)
        context = {"objective": objective, "found": found, "more": more, "query": query}
        return render(request, "alignment/align.html#parent-results", context)

    current = pickable.filter(pk=objective.parent_id).first() if objective.parent_id else None
    hidden = set()
    if current is not None and not access.can_read_objective(user, current, access=team_access):
        hidden = {current.pk}
    step = False
    if request.method == "POST":
        form = AlignForm(request.POST, choices=pickable)
        # Key results of objectives the person may read, and the one served now: a
        # private parent's key results are not the person's to read, nor to pick.
        readable = readable_objectives(user, access=team_access, through="objective__")
        servable = KeyResult.objects.filter(readable) | KeyResult.objects.filter(
            pk=objective.parent_key_result_id
        )
        form.fields["parent_key_result"].queryset = servable.filter(archived_at__isnull=True)
        if form.is_valid():
            parent = form.cleaned_data["parent"]
            step = form.needs_key_result_step() and parent.pk not in hidden
            if not (step and links.key_results_of(parent)):
                saved = _save_alignment(form, objective)
                if saved is not None:
                    messages.success(request, saved)
                    return redirect(objective.get_absolute_url() + "#links")
                step = False
        selected = _selected_id(request.POST.get("parent", ""))
    else:
        selected = _selected_id(request.GET.get("parent", objective.parent_id or ""))
        form = AlignForm(
            choices=pickable,
            initial={
                "parent": selected,
                "parent_key_result": objective.parent_key_result_id,
                "parent_weight": f"{objective.parent_weight.normalize():f}",
            },
        )
    parent = pickable.filter(pk=selected).first() if selected else None
    context = {
        "objective": objective,
        "form": form,
        "current": current,
        "current_hidden": bool(hidden),
        "selected": selected,
        "selected_key_result": _selected_id(form["parent_key_result"].value() or ""),
        "kr_parent": parent,
        "kr_parent_hidden": parent is not None and parent.pk in hidden,
        # A private parent's key results are not the person's to read.
        "key_results": []
        if parent is None or parent.pk in hidden
        else links.key_results_of(parent),
        "step": step,
    }
    if target == "key-result-choices":
        return render(request, "alignment/align.html#key-result-choices", context)
    groups = links.nearby_parents(visible, objective, tree)
    found, more = links.search(beyond, query)
    listed = {o.pk for group in groups for o in group.objectives} | {o.pk for o in found}
    context.update(
        groups=groups,
        found=found,
        more=more,
        query=query,
        # The picked parent stays on offer even if neither list shows it.
        extra_option=parent if parent is not None and parent.pk not in listed else None,
    )
    return render(request, "alignment/align.html", context)


def _save_alignment(form: AlignForm, objective: Objective) -> str | None:
    """Save through the service (which locks, validates and rolls up): the success
    message, or None with the refusal put beside its field."""
    parent = form.cleaned_data["parent"]
    saved = (objective.parent_id, objective.parent_key_result_id, objective.parent_weight)
    objective.parent = parent
    objective.parent_key_result = form.cleaned_data["parent_key_result"] if parent else None
    objective.parent_weight = form.cleaned_data["parent_weight"]
    try:
        services.objective_save(objective=objective)
    except ValidationError as error:
        add_service_error(form, error)
        # The page goes on showing the alignment as it is saved.
        objective.parent_id, objective.parent_key_result_id, objective.parent_weight = saved
        return None
    if parent is None:
        return f"“{objective}” is no longer aligned."
    served = objective.parent_key_result
    return f"“{objective}” now counts towards “{parent}”" + (
        f", for “{served}”." if served else "."
    )


# --- Supports (shown, never counted) ----------------------------------------------------


@login_required
def objective_supports(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the objectives it supports, and a search for more (the page, or the results
    fragment ``#supports-results``). POST: add or remove one, through the service."""
    user = request.user
    objective = access.get_objective_for_user(user, pk, write=True)
    visible = Objective.objects.visible_to(user)
    current = visible.filter(supported_by=objective).select_related("team", "cycle")
    choices = (
        visible.active()
        .filter(links.overlapping(objective.cycle))
        .exclude(pk=objective.pk)
        .select_related("team", "cycle", "owner")
    )
    form = SupportsForm(
        request.POST or None, choices=visible.active(), current=current, cycle=objective.cycle
    )
    if request.method == "POST":
        notice = _change_supports(form, objective)
        if notice is not None:
            return _back_to_links(request, objective, notice=notice)
        if request.htmx:
            return _back_to_links(request, objective, error=" ".join(_all_errors(form)))
    query = request.GET.get("q", "")
    found, more = links.search(choices, query, leave_out=current)
    context = {"objective": objective, "found": found, "more": more, "query": query}
    if request.htmx and request.htmx.target == "supports-results":
        return render(request, "alignment/supports.html#supports-results", context)
    context.update(form=form, current=list(current))
    return render(request, "alignment/supports.html", context)


def _change_supports(form: SupportsForm, objective: Objective) -> str | None:
    """Add or remove one supported objective; links the person cannot see are kept,
    not theirs to drop. The notice, or None with the refusal beside its field."""
    if not form.is_valid():
        return None
    added, removed = form.cleaned_data["add"], form.cleaned_data["remove"]
    supported = [other for other in objective.supports.all() if other != removed]
    if added and added not in supported:
        supported.append(added)
    try:
        services.objective_set_supports(objective=objective, supported=supported)
    except ValidationError as error:
        form.add_error("add", error.messages)
        return None
    if added:
        return f"“{objective}” now shows that it supports “{added}” (never counted)."
    return f"“{objective}” no longer lists “{removed}”."


def _all_errors(form) -> list[str]:
    return [message for errors in form.errors.values() for message in errors]


# --- Cascading from a key result ---------------------------------------------------------


@login_required
def key_result_cascade(request: HttpRequest, pk: int) -> HttpResponse:
    """A new objective serving this key result, for its team or a team below, with its
    first key results (optional). Optionally the key result then takes its progress from
    the objectives aligned to it. The owner field follows the team (``#owner-field``)."""
    user = request.user
    key_result = access.get_key_result_for_user(user, pk)
    objective = key_result.objective
    team_access = team_access_for(user)
    access.refuse(links.cascade_refusal(user, objective, team_access=team_access))
    if key_result.archived_at is not None:
        access.refuse("This key result is archived: restore it before cascading from it.")
    teams = links.cascade_teams(user, objective, team_access=team_access)
    if not teams:
        access.refuse(links.NO_TEAM_TO_CASCADE_INTO)
    offer_rollup = key_result.progress_source == KeyResult.ProgressSource.CHECKINS and (
        access.can_write_objective(user, objective, access=team_access)
    )
    child = Objective(cycle=objective.cycle, parent=objective, parent_key_result=key_result)
    options = {
        "user": user,
        "teams": teams,
        "offer_rollup": offer_rollup,
        "default_owner": lambda team: links.default_owner(user, team, team_access=team_access),
    }
    if request.method == "POST":
        form = CascadeForm(request.POST, instance=child, **options)
        formset = CascadeKeyResultFormSet(request.POST, instance=child, prefix="kr")
        if form.is_valid() and formset.is_valid():
            try:
                _cascade(form, formset, key_result, actor=user)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, f"“{child}” now serves “{key_result}”.")
                return redirect(child)
    else:
        team = _initial_team(request, teams, objective)
        initial = {
            "title": key_result.title,
            "team": team.pk,
            "owner": options["default_owner"](team).username,
            "cycle": objective.cycle_id,
        }
        form = CascadeForm(initial=initial, instance=child, **options)
        formset = CascadeKeyResultFormSet(instance=child, prefix="kr")
    context = {"key_result": key_result, "objective": objective, "form": form}
    if request.htmx and request.htmx.target == "owner-field":
        return render(request, "alignment/cascade.html#owner-field", context)
    context.update(formset=formset, people=links.people_of(teams))
    if offer_rollup:  # what the key result's progress would be made of
        context["aligned"] = key_result.aligned_objectives.filter(archived_at__isnull=True).count()
    return render(request, "alignment/cascade.html", context)


def _initial_team(request: HttpRequest, teams: list[Team], objective: Objective) -> Team:
    """``?team=<pk>`` if it is on offer, else the first team below the objective's."""
    chosen = _selected_id(request.GET.get("team", ""))
    by_pk = {team.pk: team for team in teams}
    if chosen in by_pk:
        return by_pk[chosen]
    return next((team for team in teams if team.pk != objective.team_id), teams[0])


@transaction.atomic
def _cascade(form: CascadeForm, formset, key_result: KeyResult, *, actor) -> None:
    """Create the child with its key results and, if asked, switch the parent key
    result to roll-up, all or nothing."""
    key_results = [row.instance for row in formset.forms if row.has_changed()]
    services.objective_create(objective=form.instance, key_results=key_results, actor=actor)
    if form.cleaned_data.get("rollup"):
        key_result.progress_source = KeyResult.ProgressSource.ROLLUP
        services.key_result_save(key_result=key_result, actor=actor)


# --- Dependencies ------------------------------------------------------------------------


def _get_dependency_for_user(user, pk: int) -> Dependency:
    """A dependency is seen by those who see the objective that asked (404 otherwise)."""
    dependency = (
        Dependency.objects.filter(
            pk=pk, requesting_objective__in=Objective.objects.visible_to(user).values("pk")
        )
        .select_related(
            "requesting_objective__cycle", "requesting_objective__team", "providing_team"
        )
        .first()
    )
    if dependency is None:
        raise Http404("No such dependency.")
    return dependency


def _back_to_links(
    request: HttpRequest, objective: Objective, *, notice: str = "", error: str = ""
) -> HttpResponse:
    """The links section again (htmx), or the objective page with a message."""
    if request.htmx:
        section = links.objective_links(request.user, objective)
        section.notice, section.error = notice, error
        return render(request, "alignment/_links.html", {"objective": objective, "links": section})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(objective.get_absolute_url() + "#links")


@login_required
def dependency_request(request: HttpRequest, pk: int) -> HttpResponse:
    """The objective's writers ask another team for something by a date."""
    user = request.user
    objective = access.get_objective_for_user(user, pk, write=True)
    form = DependencyRequestForm(
        request.POST or None,
        instance=Dependency(requesting_objective=objective, requested_by=user),
        asking_team=objective.team,
    )
    if request.method == "POST" and form.is_valid():
        try:
            dependency = services.dependency_request(
                requesting_objective=objective,
                providing_team=form.cleaned_data["providing_team"],
                description=form.cleaned_data["description"],
                needed_by=form.cleaned_data["needed_by"],
                actor=user,
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                f"Asked {dependency.providing_team} for it by "
                f"{date_format(dependency.needed_by, 'j M Y')}. They answer on this page.",
            )
            return redirect(objective.get_absolute_url() + "#links")
    return render(request, "alignment/dependency_form.html", {"objective": objective, "form": form})


@require_POST
@login_required
def dependency_respond(request: HttpRequest, pk: int) -> HttpResponse:
    """The asked team accepts (naming the objective that delivers it, if any) or declines
    with a note. A second answer is refused with a message."""
    user = request.user
    dependency = _get_dependency_for_user(user, pk)
    requesting = dependency.requesting_objective
    team_access = team_access_for(user)
    access.refuse(access.dependency_respond_refusal(user, dependency, access=team_access))
    if requesting.cycle.is_closed and not user.is_superuser:
        access.refuse(access.CLOSED_CYCLE)
    visible = Objective.objects.visible_to(user, access=team_access)
    options = list(links.delivery_options(visible, requesting, {dependency.providing_team_id}))
    form = DependencyResponseForm(
        request.POST,
        prefix=f"answer-{dependency.pk}",
        options=options,
        team=dependency.providing_team,
    )
    if form.is_valid():
        accept = form.cleaned_data["decision"] == "accept"
        try:
            services.dependency_respond(
                dependency=dependency,
                accept=accept,
                note=form.cleaned_data["response_note"],
                actor=user,
                providing_objective=form.cleaned_data["providing_objective"],
            )
        except ValidationError as error:
            if not hasattr(error, "error_dict"):  # answered already, by someone else
                return _back_to_links(request, requesting, error=" ".join(error.messages))
            add_service_error(form, error)
        else:
            verb = "Accepted" if accept else "Declined"
            return _back_to_links(
                request, requesting, notice=f"{verb}: “{dependency.description}”."
            )
    if request.htmx:
        section = links.objective_links(user, requesting)
        row = next((row for row in section.needs if row.dependency.pk == dependency.pk), None)
        if row is not None:
            row.form = form
        return render(request, "alignment/_links.html", {"objective": requesting, "links": section})
    context = {"objective": requesting, "form": form, "dependency": dependency}
    return render(request, "alignment/dependency_form.html", context)


@require_POST
@login_required
def dependency_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """The person who asked (or the requesting objective's writers) withdraw a pending
    request."""
    user = request.user
    dependency = _get_dependency_for_user(user, pk)
    requesting = dependency.requesting_objective
    access.refuse(links.withdraw_refusal(user, dependency))
    try:
        services.dependency_withdraw(dependency=dependency)
    except ValidationError as error:
        return _back_to_links(request, requesting, error=" ".join(error.messages))
    return _back_to_links(request, requesting, notice=f"Withdrawn: “{dependency.description}”.")
