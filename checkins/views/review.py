"""The weekly team review, and one-to-ones (list, scheduling, the agenda page, action
items). Reads are in ``checkins.reviews``, writes in ``checkins.services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from alignment.models import Team
from checkins import reviews, services
from checkins.models import ActionItem
from checkins.review_forms import ActionItemForm, NotesForm, OneOnOneForm
from goals import queries
from goals.models import Objective


@login_required
def team_review(request: HttpRequest, slug: str) -> HttpResponse:
    """The weekly team meeting: blockers, key results at risk, what moved, who has not
    checked in, for the active cycles."""
    team = get_object_or_404(Team, slug=slug, archived_at__isnull=True)
    now = timezone.now()
    cycles = queries.active_cycles()
    review = reviews.team_review(team, cycles, Objective.objects.visible_to(request.user), now=now)
    context = {
        "team": team,
        "cycles": cycles,
        "review": review,
        "review_days": reviews.REVIEW_DAYS,
    }
    return render(request, "checkins/team_review.html", context)


@login_required
def one_on_one_list(request: HttpRequest) -> HttpResponse:
    """My one-to-ones, as manager or report: upcoming first, then past ones."""
    today = timezone.localdate()
    upcoming, past = [], []
    for one_on_one in reviews.one_on_ones_of(request.user):
        if one_on_one.held_at is None and one_on_one.scheduled_for >= today:
            upcoming.append(one_on_one)
        else:
            past.append(one_on_one)
    upcoming.reverse()  # soonest first
    context = {
        "upcoming": upcoming,
        "past": past,
        "has_reports": request.user.reports.exists(),
    }
    return render(request, "checkins/one_on_one_list.html", context)


@login_required
def one_on_one_create(request: HttpRequest) -> HttpResponse:
    """A manager schedules a one-to-one with one of their direct reports."""
    if not request.user.reports.exists():
        raise PermissionDenied("Only managers schedule one-to-ones, with their direct reports.")
    form = OneOnOneForm(
        request.POST or None,
        manager=request.user,
        initial={"scheduled_for": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        one_on_one = services.one_on_one_schedule(
            manager=request.user,
            report=form.cleaned_data["report"],
            scheduled_for=form.cleaned_data["scheduled_for"],
        )
        messages.success(request, f"One-to-one with {one_on_one.report} scheduled.")
        return redirect("checkins:one-on-one", one_on_one.pk)
    return render(request, "checkins/one_on_one_form.html", {"form": form})


@login_required
def one_on_one_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A one-to-one: its agenda (built from the report's check-ins since the previous
    one), notes and action items. Only the two people (and superusers) see it."""
    one_on_one = reviews.get_one_on_one_for_user(request.user, pk)
    notes_form = NotesForm(
        initial={"notes": one_on_one.notes, "held": one_on_one.held_at is not None}
    )
    item_form = ActionItemForm(one_on_one=one_on_one, initial={"owner": one_on_one.report_id})
    if request.method == "POST":
        if "add_item" in request.POST:
            item_form = ActionItemForm(request.POST, one_on_one=one_on_one)
            if item_form.is_valid():
                services.action_item_add(
                    one_on_one=one_on_one,
                    text=item_form.cleaned_data["text"],
                    owner=item_form.cleaned_data["owner"],
                )
                messages.success(request, "Action item added.")
                return redirect("checkins:one-on-one", one_on_one.pk)
        else:
            notes_form = NotesForm(request.POST)
            if notes_form.is_valid():
                services.one_on_one_record(
                    one_on_one=one_on_one,
                    notes=notes_form.cleaned_data["notes"],
                    held=notes_form.cleaned_data["held"],
                )
                messages.success(request, "Notes saved.")
                return redirect("checkins:one-on-one", one_on_one.pk)
    agenda = reviews.agenda(one_on_one, request.user, now=timezone.now())
    context = {
        "one_on_one": one_on_one,
        "agenda": agenda,
        "action_items": reviews.action_items_of(one_on_one),
        "notes_form": notes_form,
        "item_form": item_form,
        "is_first": agenda.previous is None,
        "agenda_days": reviews.AGENDA_DAYS,
    }
    return render(request, "checkins/one_on_one_detail.html", context)


@login_required
@require_POST
def action_item_done(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """Mark an action item done (or, with ``undo``, open again)."""
    one_on_one = reviews.get_one_on_one_for_user(request.user, pk)
    item = get_object_or_404(ActionItem, pk=item_pk, one_on_one=one_on_one)
    services.action_item_done(item=item, done="undo" not in request.POST)
    return redirect("checkins:one-on-one", one_on_one.pk)
