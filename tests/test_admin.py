"""The Django admin: every model browsable, one write path, archive instead of delete,
clear messages for bad input, and changelists whose query count does not grow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alignment.models import Team
from checkins.models import ActionItem, CheckIn, Nudge
from checkins.services import checkin_record
from goals.models import (
    Cycle,
    Dependency,
    Initiative,
    KeyResult,
    Kpi,
    KpiReading,
    Objective,
    Reflection,
)
from tests import factories


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def unchanged_post_data(response) -> dict:
    """What the admin change page would post back untouched: its form and inline forms."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is not None and value is not False:
                data[form.add_prefix(name)] = value
    return data


@pytest.fixture
def as_admin(org, login):
    return login(org.admin)


@pytest.fixture
def objective(org):
    return factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="Delight new riders"
    )


@pytest.fixture
def key_result(objective):
    return factories.KeyResultFactory(
        objective=objective, title="Activation from 20 to 60", start_value=20, target_value=60
    )


@pytest.fixture
def every_model(org, objective, key_result):
    """At least one row of every registered model."""
    factories.InitiativeFactory(key_result=key_result)
    factories.KpiReadingFactory(kpi=factories.KpiFactory(team=org.product))
    Dependency.objects.create(
        requesting_objective=objective,
        providing_team=org.sales,
        description="Two sales engineers for the pilot",
        needed_by=timezone.localdate() + dt.timedelta(days=30),
        requested_by=org.owner,
    )
    weekly_update = factories.WeeklyUpdateFactory(author=org.owner)
    checkin_record(
        key_result=key_result,
        author=org.owner,
        value=Decimal(30),
        confidence=6,
        weekly_update=weekly_update,
    )
    one_on_one = factories.OneOnOneFactory(manager=org.lead, report=org.owner)
    ActionItem.objects.create(one_on_one=one_on_one, text="Book the pilot", owner=org.owner)
    Nudge.objects.create(
        recipient=org.owner, kind=Nudge.Kind.REMINDER, period="2026-W48", subject="Check in"
    )


REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.mark.parametrize("model", REGISTERED, ids=[model._meta.label for model in REGISTERED])
def test_every_admin_page_renders_with_rows(as_admin, every_model, model):
    changelist = as_admin.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count == model._default_manager.count()

    add = as_admin.get(admin_url(model, "add"))
    # The nudge log, reflections and the sign-in attempts are read-only in the admin.
    read_only = model in (Nudge, Reflection) or model._meta.app_label == "axes"
    assert add.status_code == (403 if read_only else 200)

    row = model._default_manager.first()
    if row is not None:
        assert as_admin.get(admin_url(model, "change", row.pk)).status_code == 200


def test_admin_pages_carry_waymarks_icon(as_admin):
    for url in (reverse("admin:index"), admin_url(CheckIn, "changelist")):
        html = as_admin.get(url).content.decode()
        assert '<link rel="icon" href="/static/img/waymark.svg" type="image/svg+xml">' in html


def _add_rows(model, count: int, key_result: KeyResult) -> None:
    # Rows may share their related rows: an N+1 query would still run once per row.
    objective = key_result.objective
    if model is Objective:
        factories.ObjectiveFactory.create_batch(
            count, cycle=objective.cycle, team=objective.team, owner=objective.owner
        )
    elif model is KeyResult:
        factories.KeyResultFactory.create_batch(count, objective=objective)
    else:
        factories.CheckInFactory.create_batch(count, key_result=key_result)


@pytest.mark.parametrize("model", [Objective, KeyResult, CheckIn])
def test_changelist_queries_do_not_grow_with_rows(as_admin, key_result, model):
    url = admin_url(model, "changelist")
    counts = []
    for rows in (3, 57):  # 3 rows, then 60 (20 times as many), all on one page
        _add_rows(model, rows, key_result)
        with CaptureQueriesContext(connection) as queries:
            assert as_admin.get(url).status_code == 200
        counts.append(queries)
    few, many = counts
    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)


def test_key_result_with_target_equal_to_start_shows_message(as_admin, key_result):
    url = admin_url(KeyResult, "change", key_result.pk)
    data = unchanged_post_data(as_admin.get(url))
    data.update(title="Renamed", target_value="20")

    response = as_admin.post(url, data)

    assert response.status_code == 200
    assert "The target must differ from the start value." in response.content.decode()
    key_result.refresh_from_db()
    assert (key_result.title, key_result.target_value) == ("Activation from 20 to 60", 60)


def test_key_result_turned_milestone_with_a_current_value_shows_message(as_admin, key_result):
    # The current value is read-only here, yet the milestone rule involves it.
    url = admin_url(KeyResult, "change", key_result.pk)
    data = unchanged_post_data(as_admin.get(url))
    data.update(kind=KeyResult.Kind.MILESTONE, start_value="0", target_value="1")

    response = as_admin.post(url, data)

    assert response.status_code == 200
    assert "A milestone goes from 0 (not done) to 1 (done)." in response.content.decode()
    key_result.refresh_from_db()
    assert key_result.kind == KeyResult.Kind.NUMBER


def test_saving_a_key_result_recomputes_progress_through_the_service(
    as_admin, org, objective, key_result
):
    checkin_record(key_result=key_result, author=org.owner, value=Decimal(40), confidence=7)
    url = admin_url(KeyResult, "change", key_result.pk)
    data = unchanged_post_data(as_admin.get(url))
    data.update(target_value="120", reason="The board raised the bar")  # 20 → 40 → 120: 20%

    response = as_admin.post(url, data)

    assert response.status_code == 302
    key_result.refresh_from_db()
    objective.refresh_from_db()
    assert key_result.progress == pytest.approx(0.2)
    assert objective.progress == pytest.approx(0.2)
    assert key_result.history.latest().history_user == org.admin
    change = key_result.goalpost_changes.get()
    assert (change.field, change.old_value, change.new_value) == ("target_value", 60, 120)
    assert (change.reason, change.changed_by) == ("The board raised the bar", org.admin)


def test_moving_a_target_in_an_active_cycle_without_a_reason_is_refused(as_admin, key_result):
    url = admin_url(KeyResult, "change", key_result.pk)
    data = unchanged_post_data(as_admin.get(url))
    data.update(target_value="120")

    response = as_admin.post(url, data)

    assert response.status_code == 200
    assert "The cycle is active: say why the baseline or target changes." in (
        response.content.decode()
    )
    key_result.refresh_from_db()
    assert key_result.target_value == 60
    assert not key_result.goalpost_changes.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("confidence", "11", "Confidence is a whole number from 1 to 10."),
        ("target_value", "20", "The target must differ from the start value."),
    ],
)
def test_objective_with_a_bad_key_result_row_shows_the_error_and_saves_nothing(
    as_admin, objective, key_result, field, value, message
):
    url = admin_url(Objective, "change", objective.pk)
    data = unchanged_post_data(as_admin.get(url))
    data.update({"title": "Renamed", f"key_results-0-{field}": value})

    response = as_admin.post(url, data)

    assert response.status_code == 200
    inline_errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert message in str(inline_errors)
    assert message in response.content.decode()
    objective.refresh_from_db()
    key_result.refresh_from_db()
    assert objective.title == "Delight new riders"
    assert (key_result.confidence, key_result.target_value) == (None, 60)


def new_key_result_row(index: int, **fields: str) -> dict:
    row = {
        "title": "Churn from 8 to 4",
        "kind": KeyResult.Kind.PERCENT,
        "start_value": "8",
        "target_value": "4",
        "weight": "1",
        "progress_source": KeyResult.ProgressSource.CHECKINS,
        "position": str(index),
        **fields,
    }
    return {f"key_results-{index}-{name}": value for name, value in row.items()}


def test_key_results_changed_in_the_objective_page_go_through_the_service(
    as_admin, org, objective, key_result
):
    checkin_record(key_result=key_result, author=org.owner, value=Decimal(40), confidence=7)
    url = admin_url(Objective, "change", objective.pk)
    data = unchanged_post_data(as_admin.get(url))
    data.update({"key_results-0-target_value": "120", "key_results-0-reason": "Scope grew"})
    data["key_results-TOTAL_FORMS"] = "2"
    data.update(new_key_result_row(1))

    response = as_admin.post(url, data)

    assert response.status_code == 302
    key_result.refresh_from_db()
    objective.refresh_from_db()
    assert key_result.progress == pytest.approx(0.2)  # 40 on the way from 20 to 120
    assert objective.progress == pytest.approx(0.1)  # with the new key result at 0
    assert objective.key_results.get(title="Churn from 8 to 4").current_value == 8
    assert key_result.goalpost_changes.get().reason == "Scope grew"


def test_objective_added_with_key_results_gives_them_its_owner(as_admin, org):
    data = {
        "title": "Open Lisbon",
        "cycle": org.cycle.pk,
        "team": org.sales.pk,
        "owner": org.outsider.pk,
        "kind": Objective.Kind.COMMITTED,
        "visibility": Objective.Visibility.PUBLIC,
        "parent_weight": "1",
        "key_results-TOTAL_FORMS": "1",
        "key_results-INITIAL_FORMS": "0",
        **new_key_result_row(0),
    }

    response = as_admin.post(admin_url(Objective, "add"), data)

    assert response.status_code == 302
    added = KeyResult.objects.get(title="Churn from 8 to 4")
    assert (added.objective.title, added.owner) == ("Open Lisbon", org.outsider)


def test_aligning_an_objective_below_its_own_descendant_shows_loop_message(
    as_admin, org, objective
):
    child = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.teammate, parent=objective
    )
    url = admin_url(Objective, "change", objective.pk)
    data = unchanged_post_data(as_admin.get(url))
    data.update(title="Renamed", parent=child.pk)

    response = as_admin.post(url, data)

    assert response.status_code == 200
    assert "it would make a loop" in response.content.decode()
    objective.refresh_from_db()
    assert (objective.title, objective.parent_id) == ("Delight new riders", None)


def test_a_cycle_closed_in_the_admin_records_when_and_by_whom(as_admin, org):
    url = admin_url(Cycle, "change", org.cycle.pk)
    data = unchanged_post_data(as_admin.get(url))
    data["state"] = "closed"

    assert as_admin.post(url, data).status_code == 302

    org.cycle.refresh_from_db()
    assert org.cycle.closed_at is not None
    assert org.cycle.closed_by == org.admin


def test_checkin_added_in_admin_moves_the_key_result(as_admin, org, key_result):
    response = as_admin.post(
        admin_url(CheckIn, "add"),
        {"key_result": key_result.pk, "author": org.owner.pk, "value": "50", "confidence": "8"},
    )

    assert response.status_code == 302
    key_result.refresh_from_db()
    assert key_result.current_value == 50
    assert key_result.confidence == 8
    assert key_result.progress == pytest.approx(0.75)  # 20 → 60, at 50
    assert key_result.last_checkin_at is not None
    assert key_result.checkins.get().author == org.owner


def test_checkins_are_history_that_admin_can_view_but_not_change_or_delete(
    as_admin, org, key_result
):
    checkin = checkin_record(key_result=key_result, author=org.owner, value=30, confidence=6)
    change_url = admin_url(CheckIn, "change", checkin.pk)

    assert as_admin.get(change_url).status_code == 200
    assert as_admin.post(change_url, {"value": "99", "confidence": "9"}).status_code == 403
    assert as_admin.post(admin_url(CheckIn, "delete", checkin.pk)).status_code == 403
    checkin.refresh_from_db()
    assert checkin.value == 30


def test_the_checkin_list_writes_moments_and_numbers_as_the_product_does(as_admin, org, key_result):
    checkin = checkin_record(
        key_result=key_result, author=org.owner, value=Decimal("12.50"), confidence=7
    )
    CheckIn.objects.filter(pk=checkin.pk).update(
        created_at=dt.datetime(2026, 11, 23, 16, 44, 30, tzinfo=dt.UTC)
    )
    moment = timezone.localtime(dt.datetime(2026, 11, 23, 16, 44, tzinfo=dt.UTC))

    page = as_admin.get(admin_url(CheckIn, "changelist"), {"o": "1"}).content.decode()

    assert f">{moment:%Y-%m-%d %H:%M}<" in page
    assert ">12.5<" in page
    assert "12.5000" not in page


def test_invalid_checkin_shows_message_and_leaves_key_result_alone(as_admin, org, key_result):
    response = as_admin.post(
        admin_url(CheckIn, "add"),
        {"key_result": key_result.pk, "author": org.owner.pk, "value": "50", "confidence": "0"},
    )

    assert response.status_code == 200
    assert "Confidence is a whole number from 1 to 10." in response.content.decode()
    key_result.refresh_from_db()
    assert key_result.current_value == 20
    assert not key_result.checkins.exists()


def test_kpi_reading_added_in_admin_updates_the_kpi(as_admin, org):
    kpi = factories.KpiFactory(team=org.product)
    response = as_admin.post(
        admin_url(KpiReading, "add"),
        {"kpi": kpi.pk, "read_on": "2026-03-02", "value": "65"},
    )

    assert response.status_code == 302
    kpi.refresh_from_db()
    assert (kpi.latest_value, kpi.health) == (65, Kpi.Health.RED)
    assert kpi.readings.get().recorded_by == org.admin


def test_kpi_with_thresholds_in_the_wrong_order_shows_message(as_admin, org):
    response = as_admin.post(
        admin_url(Kpi, "add"),
        {
            "team": org.product.pk,
            "name": "Uptime",
            "direction": Kpi.Direction.HIGHER_IS_BETTER,
            "green_threshold": "90",
            "red_threshold": "99",
        },
    )

    assert response.status_code == 200
    assert "The green threshold must be better than the red one" in response.content.decode()
    assert not Kpi.objects.exists()


def test_archive_action_archives_and_keeps_the_row(as_admin, objective, key_result):
    url = admin_url(Objective, "changelist")

    response = as_admin.post(
        url, {"action": "archive_selected", "_selected_action": [objective.pk]}, follow=True
    )

    assert "Archived 1 objective." in response.content.decode()
    objective.refresh_from_db()
    assert objective.archived_at is not None

    response = as_admin.post(
        url, {"action": "restore_selected", "_selected_action": [objective.pk]}, follow=True
    )

    assert "Restored 1 objective." in response.content.decode()
    objective.refresh_from_db()
    assert objective.archived_at is None


def test_archiving_a_key_result_takes_it_out_of_its_objectives_progress(
    as_admin, org, objective, key_result
):
    lagging = factories.KeyResultFactory(objective=objective)
    checkin_record(key_result=key_result, author=org.owner, value=Decimal(60), confidence=9)
    objective.refresh_from_db()
    assert objective.progress == pytest.approx(0.5)

    as_admin.post(
        admin_url(KeyResult, "changelist"),
        {"action": "archive_selected", "_selected_action": [lagging.pk]},
    )

    objective.refresh_from_db()
    assert objective.progress == pytest.approx(1.0)
    assert KeyResult.objects.get(pk=lagging.pk).archived_at is not None


def test_archived_filter_shows_only_archived_rows(as_admin, objective, key_result):
    archived = factories.KeyResultFactory(objective=objective, archived_at=timezone.now())

    response = as_admin.get(admin_url(KeyResult, "changelist"), {"archived": "yes"})

    assert list(response.context["cl"].result_list) == [archived]


@pytest.mark.parametrize("model", [Team, Objective, KeyResult, Initiative, Kpi])
def test_teams_and_goals_cannot_be_deleted_only_archived(as_admin, every_model, model):
    row = model.objects.first()

    changelist = as_admin.get(admin_url(model, "changelist"))
    actions = dict(changelist.context["action_form"].fields["action"].choices)

    assert "delete_selected" not in actions
    assert "archive_selected" in actions
    assert as_admin.post(admin_url(model, "delete", row.pk)).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_staff_member_without_permissions_gets_403(org, login):
    staff = factories.UserFactory(username="staff", is_staff=True)

    response = login(staff).get(admin_url(Objective, "changelist"))

    assert response.status_code == 403
