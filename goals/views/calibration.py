"""Looking back over closed cycles: how teams and people set targets and forecast them
(calibration), and what they wrote down afterwards (the lessons library)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from alignment.models import Team, User
from alignment.queries import TeamTree
from goals import calibration, queries
from goals import progress as math
from goals.models import Objective, Reflection

LESSONS_PER_PAGE = 20
OUTCOMES = [(band, math.BAND_LABELS[band]) for band in calibration.BANDS]
ANSWERS = (
    ("what_changed", "What changed"),
    ("what_worked", "What worked"),
    ("what_did_not", "What didn't work"),
    ("learned", "What we learned"),
    ("next_focus", "What to focus on next"),
)


@dataclass(frozen=True)
class Line:
    """One row of a calibration table: a team or a person, and its figures."""

    label: str
    url: str
    group: calibration.GroupCalibration


@login_required
def calibration_report(request: HttpRequest) -> HttpResponse:
    """Grades, signals, check-in rhythm and confidence calibration per team over the
    closed cycles the reader can see; ``?team=<slug>`` adds that team's people.
    Five queries: visibility (two), key results, check-in weeks, team names; a chosen
    team adds itself and its people."""
    visible = Objective.objects.visible_to(request.user)
    rows = queries.calibration_rows(visible)
    by_team = calibration.calibrate_by(rows, lambda row: row.team_id)
    teams = {team.pk: team for team in Team.objects.filter(pk__in=by_team).only("name", "slug")}
    team_lines = sorted(
        (Line(teams[pk].name, f"?team={teams[pk].slug}", group) for pk, group in by_team.items()),
        key=lambda line: line.label.lower(),
    )
    team = None
    people_lines: list[Line] = []
    if slug := request.GET.get("team"):
        team = get_object_or_404(Team, slug=slug)
        by_person = calibration.calibrate_by(
            (row for row in rows if row.team_id == team.pk), lambda row: row.owner_id
        )
        people = User.objects.filter(pk__in=by_person).only("username", "first_name", "last_name")
        people_lines = sorted(
            (
                Line(
                    person.get_full_name() or person.username,
                    person.get_absolute_url(),
                    by_person[person.pk],
                )
                for person in people
            ),
            key=lambda line: line.label.lower(),
        )
    return render(
        request,
        "goals/calibration.html",
        {
            "overall": calibration.calibrate(rows),
            "team_lines": team_lines,
            "team": team,
            "people_lines": people_lines,
            "team_options": sorted(teams.values(), key=lambda option: option.name.lower()),
            "buckets": [label for label, _, _ in calibration.BUCKETS],
            "min_graded": calibration.coach.MIN_GRADES_FOR_CALIBRATION,
            "timid": calibration.coach.TIMID_GRADE,
            "absurd": calibration.coach.ABSURD_GRADE,
            "well": calibration.WELL_CALIBRATED,
            "roughly": calibration.ROUGHLY_CALIBRATED,
        },
    )


@login_required
def lessons(request: HttpRequest) -> HttpResponse:
    """The reflections of closed cycles the reader can see, newest first, 20 a page:
    ``q`` searches the answers and the objective's title, ``team`` (with ``below=1`` its
    sub-teams too) and ``outcome`` (missed, progress, delivered) narrow them. Six
    queries whatever the page: visibility (two), the teams for the filter, the count,
    the page; a chosen team adds itself and, with its sub-teams, the tree."""
    text = request.GET.get("q", "").strip()
    outcome = request.GET.get("outcome", "")
    if outcome not in math.BAND_LABELS:
        outcome = ""
    below = request.GET.get("below") == "1"
    team, team_ids = None, None
    if slug := request.GET.get("team"):
        team = get_object_or_404(Team, slug=slug)
        team_ids = {team.pk} | (TeamTree.load().descendants(team.pk) if below else set())
    reflections = queries.lessons(
        Objective.objects.visible_to(request.user),
        text=text,
        team_ids=team_ids,
        outcome=outcome,
    )
    page = Paginator(reflections, LESSONS_PER_PAGE).get_page(request.GET.get("page"))
    filters = {
        key: value
        for key, value in (
            ("q", text),
            ("team", team.slug if team else ""),
            ("below", "1" if below else ""),
            ("outcome", outcome),
        )
        if value
    }
    return render(
        request,
        "goals/lessons.html",
        {
            "page": page,
            "items": [_lesson(reflection) for reflection in page],
            "text": text,
            "team": team,
            "below": below,
            "outcome": outcome,
            "outcomes": OUTCOMES,
            "filtered": bool(filters),
            "query": urlencode(filters),
            "team_options": Team.objects.filter(archived_at__isnull=True).only("name", "slug"),
        },
    )


def _lesson(reflection: Reflection) -> dict:
    # The database's float mean of 0.6 and 0.7 is 0.6499999999999999: rounding it first
    # bands it as the 0.65 it is, as the outcome filter (with its slack) does.
    grade = reflection.grade  # type: ignore[attr-defined]
    grade = None if grade is None else round(grade, 6)
    band = math.grade_band(grade)
    return {
        "reflection": reflection,
        "objective": reflection.objective,
        "grade": grade,
        "band": band,
        "band_label": math.BAND_LABELS.get(band or "", "Not graded"),
        "answers": [
            (label, getattr(reflection, name))
            for name, label in ANSWERS
            if getattr(reflection, name).strip()
        ],
    }
