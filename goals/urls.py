from django.urls import path

from goals.views import calibration, closing, coach, grading, kpis, objectives, pages, spreadsheets

app_name = "goals"

urlpatterns = [
    # Reading: my week, a cycle, a team, a person.
    path("", pages.home, name="home"),
    path("cycles/", pages.cycle_current, name="cycle-current"),
    path("cycles/<int:pk>/", pages.cycle_overview, name="cycle"),
    path("teams/<slug:slug>/", pages.team_detail, name="team"),
    path("people/<str:username>/", pages.person_detail, name="person"),
    # Objectives and their key results and initiatives.
    path("objectives/new/", objectives.objective_create, name="objective-create"),
    path("objectives/<int:pk>/", objectives.objective_detail, name="objective"),
    path("objectives/<int:pk>/edit/", objectives.objective_edit, name="objective-edit"),
    path("objectives/<int:pk>/history/", objectives.objective_history, name="objective-history"),
    path("objectives/<int:pk>/archive/", objectives.objective_archive, name="objective-archive"),
    path(
        "objectives/<int:pk>/key-results/new/",
        objectives.key_result_create,
        name="key-result-create",
    ),
    path("key-results/<int:pk>/", objectives.key_result_row, name="key-result"),
    path("key-results/<int:pk>/edit/", objectives.key_result_edit, name="key-result-edit"),
    path("key-results/<int:pk>/move/", objectives.key_result_move, name="key-result-move"),
    path(
        "key-results/<int:pk>/archive/",
        objectives.key_result_archive,
        name="key-result-archive",
    ),
    path(
        "key-results/<int:pk>/initiatives/new/",
        objectives.initiative_create,
        name="initiative-create",
    ),
    path("initiatives/<int:pk>/edit/", objectives.initiative_edit, name="initiative-edit"),
    # KPIs.
    path("kpis/new/", kpis.kpi_create, name="kpi-create"),
    path("kpis/<int:pk>/", kpis.kpi_detail, name="kpi"),
    path("kpis/<int:pk>/edit/", kpis.kpi_edit, name="kpi-edit"),
    path("kpis/<int:pk>/readings/", kpis.kpi_add_reading, name="kpi-reading-add"),
    # The quality coach: live hints while writing, and the report.
    path("coach/objective/", coach.objective_hints, name="coach-objective"),
    path("cycles/<int:pk>/coach/", coach.coach_report, name="coach-report"),
    # Spreadsheets: a cycle's export, importing into it, and the template to fill.
    path("cycles/<int:pk>/export/<str:fmt>/", spreadsheets.cycle_export, name="cycle-export"),
    path("cycles/<int:pk>/import/", spreadsheets.cycle_import, name="cycle-import"),
    path(
        "cycles/<int:pk>/import/commit/",
        spreadsheets.cycle_import_commit,
        name="cycle-import-commit",
    ),
    path("import-template/<str:fmt>/", spreadsheets.import_template, name="import-template"),
    # The end of a cycle: grading, reflecting, the team's retrospective.
    path("cycles/<int:pk>/grading/", grading.grading, name="grading"),
    path("objectives/<int:pk>/reflection/", grading.reflection, name="reflection"),
    path(
        "cycles/<int:pk>/teams/<slug:slug>/retrospective/",
        grading.retrospective,
        name="retrospective",
    ),
    # The end of a cycle: closing it, carrying objectives forward, opening the next one.
    path("cycles/<int:pk>/close/", closing.cycle_close, name="cycle-close"),
    path("cycles/<int:pk>/carry-over/", closing.carry_over, name="carry-over"),
    path("cycles/<int:pk>/next/", closing.cycle_next, name="cycle-next"),
    # Looking back over closed cycles: calibration of targets and forecasts, the lessons.
    path("calibration/", calibration.calibration_report, name="calibration"),
    path("lessons/", calibration.lessons, name="lessons"),
]
