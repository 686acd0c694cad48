from django.urls import path

from goals.views import coach, kpis, objectives, pages, spreadsheets

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
]
