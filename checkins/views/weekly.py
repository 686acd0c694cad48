"""The weekly check-in (every key result I own, one page, one submit), a key result's
check-in history, and correcting one's own check-in on the same day.

One view serves the page and its row fragment (``weekly.html#row``) for htmx.
"""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from checkins import access as checkin_access
from checkins import services
from checkins.forms import CheckInForm, CorrectionForm, WeeklyUpdateForm
from checkins.models import CheckIn, WeeklyUpdate
from goals import access, charts
from goals import progress as math
from goals.forms import typed_number
from goals.models import Cycle, KeyResult

try:  # written alongside this module; the history page shows it when it is there
    from checkins.forecast import forecast
except ImportError:  # pragma: no cover
    forecast = None


def _my_key_results(user) -> list[KeyResult]:
    """Active key results ``user`` owns in active cycles, grouped by objective (one query)."""
    return list(
        KeyResult.objects.filter(
            owner=user,
            archived_at__isnull=True,
            objective__archived_at__isnull=True,
            objective__cycle__state=Cycle.State.ACTIVE,
        )
        .select_related("objective__cycle", "objective__team")
        .order_by("objective__cycle__start_date", "objective_id", "position", "pk")
    )


def checkin_entry(key_result: KeyResult, data=None, expected: dict | None = None) -> dict:
    """What a row shows: the key result, its form (none when it rolls up), the pace."""
    rolls_up = key_result.progress_source == KeyResult.ProgressSource.ROLLUP
    cycle = key_result.objective.cycle
    return {
        "kr": key_result,
        "form": None if rolls_up else CheckInForm(data, key_result=key_result),
        "expected": (expected or {}).get(cycle.pk, cycle.expected_progress()),
    }


def group_by_objective(entries: list[dict]) -> list[tuple]:
    return [
        (objective, list(rows))
        for objective, rows in groupby(entries, key=lambda entry: entry["kr"].objective)
    ]


def weekly_update_form(user, data=None) -> WeeklyUpdateForm:
    current = WeeklyUpdate.objects.filter(
        author=user, week_start=services.week_start(timezone.localdate())
    ).first()
    initial = (
        {
            "what_moved": current.what_moved,
            "whats_blocked": current.whats_blocked,
            "next_focus": current.next_focus,
        }
        if current
        else {}
    )
    return WeeklyUpdateForm(data, initial=initial, prefix="week")


def _render_page(request: HttpRequest, entries: list[dict], weekly: WeeklyUpdateForm, **extra):
    context = {
        "groups": group_by_objective(entries),
        "weekly": weekly,
        "week_start": services.week_start(timezone.localdate()),
        "entry_count": sum(1 for entry in entries if entry["form"] is not None),
        **extra,
    }
    return render(request, "checkins/weekly.html", context, status=200)


@login_required
def weekly_checkin(request: HttpRequest) -> HttpResponse:
    """All my key results in one form; one submit saves every filled row and the week's
    note in one transaction, or nothing (with each message beside its field)."""
    key_results = _my_key_results(request.user)
    expected: dict[int, float] = {}
    for kr in key_results:
        expected.setdefault(kr.objective.cycle_id, kr.objective.cycle.expected_progress())
    data = request.POST if request.method == "POST" else None
    entries = [checkin_entry(kr, data, expected) for kr in key_results]
    weekly = weekly_update_form(request.user, data)
    if request.method != "POST":
        return _render_page(request, entries, weekly)

    forms = [entry["form"] for entry in entries if entry["form"] is not None]
    # Every form is validated (no short-circuit) so each field shows its message.
    results = [form.is_valid() for form in forms] + [weekly.is_valid()]
    if not all(results):
        return _render_page(request, entries, weekly, invalid=True)
    rows = [form.row() for form in forms if form.is_filled]
    texts = weekly.cleaned_data
    if not rows and not any(value.strip() for value in texts.values()):
        return _render_page(
            request, entries, weekly, nothing="Nothing to save: enter a value and a confidence."
        )
    try:
        _, checkins = services.weekly_checkin_submit(author=request.user, rows=rows, **texts)
    except ValidationError as error:
        return _render_page(request, entries, weekly, invalid=True, problem=error.messages)
    count = len(checkins)
    messages.success(
        request,
        f"Checked in {count} key result{'' if count == 1 else 's'}."
        if count
        else "Your note for the week is saved.",
    )
    return redirect("checkins:weekly")


@login_required
def checkin_row(request: HttpRequest, pk: int) -> HttpResponse:
    """Save one row of the weekly check-in (htmx): the row comes back with its new
    progress, or with its errors and what was typed."""
    key_result = access.get_key_result_for_user(request.user, pk)
    access.refuse(checkin_access.checkin_refusal(request.user, key_result))
    if request.method != "POST":
        return redirect("checkins:weekly")
    form = CheckInForm(request.POST, key_result=key_result)
    saved = None
    if form.is_valid() and form.is_filled:
        try:
            saved = services.checkin_record(author=request.user, **form.row())
        except ValidationError as error:
            form.add_error(None, error)
    elif form.is_valid():
        form.add_error("value", "Enter a value and a confidence to save this row.")
    if not request.htmx:
        if saved is None:
            entry = {"kr": key_result, "form": form, "expected": _expected(key_result)}
            return _render_page(request, [entry], weekly_update_form(request.user), invalid=True)
        messages.success(request, "Checked in 1 key result.")
        return redirect("checkins:weekly")
    if saved is not None:
        key_result.refresh_from_db(fields=["current_value", "confidence", "progress"])
        form = CheckInForm(key_result=key_result)
    entry = {"kr": key_result, "form": form, "expected": _expected(key_result), "saved": saved}
    return render(request, "checkins/weekly.html#row", {"entry": entry})


def _expected(key_result: KeyResult) -> float:
    return key_result.objective.cycle.expected_progress()


# --- History -----------------------------------------------------------------------------


def _history_charts(key_result: KeyResult, checkins: list[CheckIn]) -> dict:
    """Progress over the cycle (check-ins replayed, corrected ones replaced by their
    corrections) against the expected pace, and the confidence trend; no query."""
    cycle = key_result.objective.cycle
    today = timezone.localdate()
    corrected = {checkin.corrects_id for checkin in checkins if checkin.corrects_id}
    effective = [c for c in reversed(checkins) if c.pk not in corrected]
    by_day: dict = {}
    confidence_by_day: dict = {}
    for checkin in effective:
        day = timezone.localdate(checkin.created_at)
        if not cycle.start_date <= day <= cycle.end_date:
            continue
        by_day[day] = math.key_result_progress(
            key_result.start_value,
            key_result.target_value,
            checkin.value,
            milestone=key_result.is_milestone,
        )
        confidence_by_day[day] = checkin.confidence
    points = [(cycle.start_date, by_day.pop(cycle.start_date, 0.0)), *sorted(by_day.items())]
    hold = min(today, cycle.end_date)
    progress_chart = charts.line_chart(
        points,
        x_range=(cycle.start_date, cycle.end_date),
        y_range=(0, 1),
        step=True,
        hold_until=hold,
        expected=((cycle.start_date, 0), (cycle.end_date, 1)),
        y_label=lambda value: f"{value:.0%}",
    )
    confidence_points = sorted(confidence_by_day.items())
    confidence_chart = charts.line_chart(
        confidence_points,
        frame=charts.Frame(width=360, height=150, left=36),
        x_range=(cycle.start_date, cycle.end_date),
        y_range=(1, 10),
        max_y_ticks=4,
    )
    landing = None
    if forecast is not None and key_result.progress_source == KeyResult.ProgressSource.CHECKINS:
        landing = forecast(points, start=cycle.start_date, end=cycle.end_date, today=today)
    return {
        "series": _Series(cycle, points),
        "chart": progress_chart,
        "confidence_chart": confidence_chart,
        "confidence_points": confidence_points,
        "forecast": landing,
        "forecast_available": forecast is not None,
    }


class _Series:
    """What ``goals/_progress_chart.html`` reads: the cycle and the points."""

    def __init__(self, cycle: Cycle, points: list) -> None:
        self.cycle = cycle
        self.points = points


@login_required
def history(request: HttpRequest, pk: int) -> HttpResponse:
    """A key result's check-ins, newest first, with corrections beside what they
    replace, and its progress and confidence over the cycle (two queries)."""
    key_result = access.get_key_result_for_user(request.user, pk)
    return render(request, "checkins/history.html", _history_context(request, key_result))


def _history_context(request: HttpRequest, key_result: KeyResult) -> dict:
    checkins = list(key_result.checkins.select_related("author").order_by("-created_at", "-pk"))
    by_pk = {checkin.pk: checkin for checkin in checkins}
    corrected_by: dict[int, CheckIn] = {}
    for checkin in checkins:
        if checkin.corrects_id and checkin.corrects_id not in corrected_by:
            corrected_by[checkin.corrects_id] = checkin  # the newest correction
    today = timezone.localdate()
    timeline = [
        {
            "checkin": checkin,
            "replaces": by_pk.get(checkin.corrects_id),
            "corrected_by": corrected_by.get(checkin.pk),
            "can_correct": checkin.author_id == request.user.pk
            and timezone.localdate(checkin.created_at) == today
            and checkin.pk not in corrected_by
            and not key_result.objective.cycle.is_closed,
        }
        for checkin in checkins
    ]
    return {
        "kr": key_result,
        "objective": key_result.objective,
        "timeline": timeline,
        "expected": key_result.objective.cycle.expected_progress(today),
        **_history_charts(key_result, checkins),
    }


# --- Corrections -------------------------------------------------------------------------


def _get_checkin_for_user(user, pk: int) -> CheckIn:
    """The check-in ``pk`` if ``user`` may read its key result (404 otherwise)."""
    checkin = (
        CheckIn.objects.filter(pk=pk)
        .select_related("key_result__objective__cycle", "author", "weekly_update")
        .first()
    )
    if checkin is None:
        raise Http404("No such check-in.")
    # 404 when unreadable; the key result comes with what the history page shows.
    checkin.key_result = access.get_key_result_for_user(user, checkin.key_result_id)
    return checkin


@login_required
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    """The author corrects a check-in on the day they made it: a new check-in that
    points at the original, which is kept and shown struck through."""
    original = _get_checkin_for_user(request.user, pk)
    refusal = checkin_access.correction_refusal(request.user, original)
    if refusal:
        raise PermissionDenied(refusal)
    key_result = original.key_result
    initial = {
        "value": typed_number(original.value),
        "confidence": str(original.confidence),
        "note": original.note,
        "blocker": original.blocker,
    }
    if key_result.is_milestone:
        initial["value"] = str(int(original.value))
    form = CorrectionForm(
        request.POST if request.method == "POST" else None,
        key_result=key_result,
        initial=initial,
        prefix="correction",
    )
    if request.method == "POST" and form.is_valid():
        row = form.row()
        row.pop("key_result")
        try:
            services.checkin_correct(original=original, author=request.user, **row)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Check-in corrected. The original is kept in the history.")
            return redirect(reverse("checkins:history", args=[key_result.pk]))
    context = _history_context(request, key_result)
    context["correction"] = {"form": form, "original": original}
    return render(request, "checkins/history.html", context)
