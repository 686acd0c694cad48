"""KPIs in the browser: a KPI's page with its chart and readings, adding a reading, and
creating or editing a KPI.

The KPI page and its readings fragment are one view and one set of queries: an htmx
request that adds a reading gets ``goals/kpi_detail.html#readings`` back, a request
without htmx is redirected to the page (POST/redirect/GET).
"""

from __future__ import annotations

import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from alignment.models import Team
from alignment.queries import team_access_for
from goals import access, charts, queries, services
from goals.forms import KpiForm, KpiReadingForm
from goals.history import kpi_history
from goals.models import Kpi, KpiReading, Objective

# A year of weekly readings: the chart and the table show this many, newest first.
READINGS_SHOWN = 52
KPI_FRAME = charts.Frame(width=720, height=240, left=56, right=16, top=12, bottom=26)


@login_required
def kpi_detail(request: HttpRequest, pk: int) -> HttpResponse:
    kpi = access.get_kpi_for_user(request.user, pk)
    return _render_detail(request, kpi, _blank_reading_form())


@login_required
@require_POST
def kpi_add_reading(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a reading. Bad input comes back beside its field, with what was typed."""
    kpi = access.get_kpi_for_user(request.user, pk, write=True)
    form = KpiReadingForm(request.POST)
    added = None
    if form.is_valid():
        try:
            added = services.kpi_record_reading(
                kpi=kpi,
                read_on=form.cleaned_data["read_on"],
                value=form.cleaned_data["value"],
                recorded_by=request.user,
            )
        except ValidationError as error:
            # One reading per KPI per day spans two fields, so Django reports it above
            # the form; it is about the date typed.
            for field, errors in error.message_dict.items():
                form.add_error("read_on" if field == NON_FIELD_ERRORS else field, errors)
    if added is None:
        # Back to the first field to fix: an htmx swap would otherwise leave focus nowhere.
        wrong = [name for name in form.errors if name in form.fields]
        if wrong:
            form.fields[wrong[0]].widget.attrs["autofocus"] = True
        return _render_detail(request, kpi, form)
    if not request.htmx:
        messages.success(request, "Reading added.")
        return redirect(kpi)
    return _render_detail(request, kpi, _blank_reading_form(), added=added)


@login_required
def kpi_create(request: HttpRequest) -> HttpResponse:
    """A new KPI for the team named by ``?team=<slug>``."""
    team = Team.objects.filter(slug=request.GET.get("team", ""), archived_at__isnull=True).first()
    if team is None:
        raise Http404("No such team.")
    refusal = access.kpi_write_refusal(request.user, team.pk)
    if refusal:
        raise PermissionDenied(refusal)
    return _kpi_form_page(request, Kpi(team=team), success="KPI created.")


@login_required
def kpi_edit(request: HttpRequest, pk: int) -> HttpResponse:
    kpi = access.get_kpi_for_user(request.user, pk, write=True)
    return _kpi_form_page(request, kpi, success="KPI saved.")


# --- The KPI page -----------------------------------------------------------------------


def _blank_reading_form() -> KpiReadingForm:
    # ISO text, as <input type="date"> wants, whatever the date format of the locale.
    return KpiReadingForm(initial={"read_on": timezone.localdate().isoformat()})


def _render_detail(
    request: HttpRequest, kpi: Kpi, form: KpiReadingForm, *, added: KpiReading | None = None
) -> HttpResponse:
    """The page, or only its readings partial for htmx. A fixed number of queries:
    the readings, the reader's team access, the visible guarded objectives (with their
    guardrails prefetched) and, when the KPI is red, the active cycles."""
    user = request.user
    readings = list(
        kpi.readings.select_related("recorded_by").order_by("-read_on")[: READINGS_SHOWN + 1]
    )
    more = len(readings) > READINGS_SHOWN
    readings = readings[:READINGS_SHOWN]
    team_access = team_access_for(user)
    chart = _chart(kpi, readings)
    context = {
        "kpi": kpi,
        "health": kpi.health,
        "health_label": Kpi.Health(kpi.health).label,
        "form": form,
        "added": added,
        "rows": [(reading, *_health(kpi, reading.value)) for reading in readings],
        "more_readings": more,
        "shown": READINGS_SHOWN,
        "chart": chart,
        "dots": [(dot, *_health(kpi, dot.value)) for dot in chart.dots],
        "can_write": access.kpi_write_refusal(user, kpi.team_id, access=team_access) is None,
        "guarded": _guarded_objectives(user, kpi),
        "start": _start_objective(user, kpi, team_access),
    }
    if request.htmx:
        return render(request, "goals/kpi_detail.html#readings", context)
    context["history"] = kpi_history(kpi)
    return render(request, "goals/kpi_detail.html", context)


def _health(kpi: Kpi, value) -> tuple[str, str]:
    """A value's health and how it reads: ("red", "Red")."""
    health = kpi.health_of(value)
    return health, Kpi.Health(health).label


def _chart(kpi: Kpi, readings: list[KpiReading]) -> charts.Chart:
    """The readings with the two thresholds as lines, and the zones beyond them shaded:
    green beyond the green threshold, red beyond the red one."""
    green, red = kpi.green_threshold, kpi.red_threshold
    if kpi.direction == Kpi.Direction.HIGHER_IS_BETTER:
        bands = {"good": (green, math.inf), "bad": (-math.inf, red)}
    else:
        bands = {"good": (-math.inf, green), "bad": (red, math.inf)}
    return charts.line_chart(
        [(reading.read_on, reading.value) for reading in readings],
        frame=KPI_FRAME,
        references={"green": green, "red": red},
        bands=bands,
        y_margin=0.1,
    )


def _guarded_objectives(user, kpi: Kpi) -> list[Objective]:
    """The active objectives this KPI guards that ``user`` may see, with the guardrails
    ``goals/_guardrail_flags.html`` reads."""
    return list(
        Objective.objects.visible_to(user)
        .active()
        .filter(guardrails=kpi)
        .select_related("team", "cycle", "owner")
        .prefetch_related(
            Prefetch("guardrails", queryset=Kpi.objects.filter(archived_at__isnull=True))
        )
        .order_by("-cycle__start_date", "team__name", "title")
    )


def _start_objective(user, kpi: Kpi, team_access) -> dict | None:
    """For a red KPI: whether ``user`` may start an objective from it in the team, and
    if not, why (an objective needs an active cycle)."""
    if kpi.health != Kpi.Health.RED:
        return None
    cycles = queries.active_cycles()
    if not cycles:
        return {"cycle": None, "refusal": None}
    refusal = access.objective_create_refusal(
        user, team=kpi.team, cycle=cycles[0], access=team_access
    )
    return {"cycle": cycles[0], "refusal": refusal}


# --- Creating and editing ---------------------------------------------------------------


def _guardable(user) -> QuerySet[Objective]:
    """Objectives a KPI may guard: those ``user`` sees, active, in cycles not closed."""
    return (
        Objective.objects.visible_to(user)
        .active()
        .exclude(cycle__state="closed")
        .select_related("team", "cycle")
        .order_by("-cycle__start_date", "team__name", "title")
    )


def _kpi_form_page(request: HttpRequest, kpi: Kpi, *, success: str) -> HttpResponse:
    heading = f"Edit {kpi.name}" if kpi.pk else f"New KPI for {kpi.team.name}"
    guardable = _guardable(request.user)
    form = KpiForm(request.POST or None, instance=kpi, guardable=guardable)
    if request.method == "POST" and form.is_valid():
        kpi = services.kpi_save(
            kpi=form.instance,
            guarded=list(form.cleaned_data["guarded_objectives"]),
            editable=set(guardable.values_list("pk", flat=True)),
        )
        messages.success(request, success)
        return redirect(kpi)
    context = {"form": form, "kpi": kpi, "team": kpi.team, "heading": heading}
    return render(request, "goals/kpi_form.html", context)
