"""KPI pages: the KPI with its chart and readings, adding a reading, creating and editing
a KPI, and the guardrail flags partial."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from goals.models import Cycle, Kpi, KpiReading, Objective
from goals.services import kpi_record_reading
from tests import factories

TODAY = timezone.localdate()
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def kpi(org) -> Kpi:
    """Product's KPI, higher is better, green at 90 and red at 70, read 80 yesterday."""
    kpi = factories.KpiFactory(
        team=org.product,
        name="Activation rate",
        description="New riders who ride within a week.",
        unit="%",
        green_threshold=Decimal(90),
        red_threshold=Decimal(70),
    )
    _read(kpi, 1, 80)
    return kpi


def _read(kpi: Kpi, days_ago: int, value) -> KpiReading:
    return kpi_record_reading(
        kpi=kpi, read_on=TODAY - dt.timedelta(days=days_ago), value=Decimal(value)
    )


def _objective(org, **fields) -> Objective:
    """An objective of Product in the active cycle, owned by ``owner``."""
    return factories.ObjectiveFactory(
        **{"cycle": org.cycle, "team": org.product, "owner": org.owner} | fields
    )


def _page(client, kpi: Kpi) -> str:
    response = client.get(reverse("goals:kpi", args=[kpi.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _svg(page: str) -> str:
    return re.search(r'<svg class="chart".*?</svg>', page, re.S).group(0)


# --- Reading the KPI page ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method"),
    [("goals:kpi", "get"), ("goals:kpi-edit", "get"), ("goals:kpi-reading-add", "post")],
)
def test_anonymous_visitor_is_sent_to_login(client, kpi, name, method):
    response = getattr(client, method)(reverse(name, args=[kpi.pk]), {"value": "1"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert kpi.readings.count() == 1


def test_anonymous_visitor_cannot_open_the_new_kpi_form(client, org):
    response = client.get(reverse("goals:kpi-create") + "?team=product")
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_unknown_kpi_is_404(org, login):
    assert login(org.owner).get(reverse("goals:kpi", args=[999])).status_code == 404


def test_kpi_page_shows_the_kpi_its_thresholds_and_its_latest_reading(org, login, kpi):
    page = _page(login(org.outsider), kpi)  # KPIs are read by everyone signed in
    assert "<h1>Activation rate" in page
    assert "New riders who ride within a week." in page
    assert f'href="{reverse("goals:team", args=["product"])}"' in page
    assert "Higher is better" in page
    assert "Green at or above 90%, red at or below 70%" in page
    assert '<span class="health health-yellow health-large">Yellow</span>' in page
    assert '<span class="kpi-figure">80%</span>' in page
    assert (TODAY - dt.timedelta(days=1)).strftime("%-d %b %Y") in page


def test_kpi_without_readings_says_so(org, login):
    kpi = factories.KpiFactory(team=org.product, name="Fresh")
    page = _page(login(org.owner), kpi)
    assert "No reading yet" in page
    assert "the chart starts with the first one" in page
    assert '<svg class="chart"' not in page


def test_outsider_sees_no_reading_form_and_no_edit_link(org, login, kpi):
    page = _page(login(org.outsider), kpi)
    assert "Add a reading" not in page
    assert reverse("goals:kpi-edit", args=[kpi.pk]) not in page


def test_teammate_sees_the_reading_form_dated_today_and_the_edit_link(org, login, kpi):
    page = _page(login(org.teammate), kpi)
    assert f'action="{reverse("goals:kpi-reading-add", args=[kpi.pk])}"' in page
    assert f'hx-post="{reverse("goals:kpi-reading-add", args=[kpi.pk])}"' in page
    assert f'value="{TODAY.isoformat()}"' in page
    assert '<label for="id_value">' in page
    assert reverse("goals:kpi-edit", args=[kpi.pk]) in page


def test_chart_is_an_accessible_svg_without_inline_styles(org, login, kpi):
    _read(kpi, 8, 65)
    page = _page(login(org.owner), kpi)
    svg = _svg(page)
    assert 'role="img"' in svg
    label = re.search(r'aria-label="([^"]*)"', svg).group(1)
    assert label.startswith("Activation rate over time: 2 readings, from 65% on ")
    assert "Green at or above 90%, red at or below 70%" in label
    assert "<title>" in svg
    assert "style=" not in svg
    assert "<script" not in svg
    assert svg.count('<circle class="chart-dot') == 2
    assert 'class="chart-rule chart-rule-green"' in svg
    assert 'class="chart-band chart-band-bad"' in svg
    # The same readings as a table for screen readers, oldest first.
    fallback = re.search(r'<div class="visually-hidden">.*?</table>', page, re.S).group(0)
    assert fallback.index("65%") < fallback.index("80%")
    assert '<th scope="col">Value</th>' in fallback


def test_readings_are_listed_newest_first_with_their_health(org, login, kpi):
    _read(kpi, 3, 95)
    _read(kpi, 2, 60)
    page = _page(login(org.owner), kpi)
    table = re.search(r'<table class="data kpi-table">.*?</table>', page, re.S).group(0)
    assert table.index("80%") < table.index("60%") < table.index("95%")
    assert '<span class="health health-green">Green</span>' in table
    assert '<span class="health health-red">Red</span>' in table
    assert '<th scope="row">' in table


def test_readings_beyond_a_year_of_weeks_are_left_out_with_a_note(org, login, kpi):
    for week in range(1, 53):
        _read(kpi, 7 * week, 80 + week)
    page = _page(login(org.owner), kpi)
    assert "The chart and this table show the 52 most recent readings." in page
    assert page.count('<td class="number">') == 52
    assert "132%" not in page  # the oldest reading, 80 + 52


# --- A red KPI --------------------------------------------------------------------------


def test_red_kpi_offers_to_start_an_objective_from_its_latest_reading(org, login, kpi):
    _read(kpi, 0, 60)
    page = _page(login(org.teammate), kpi)
    assert "Activation rate is red" in page
    assert "baseline is the latest reading" in page
    assert f'href="{reverse("goals:objective-create")}?kpi={kpi.pk}"' in page
    assert "Start an objective from this KPI" in page


def test_red_kpi_tells_an_outsider_why_they_cannot_start_an_objective(org, login, kpi):
    _read(kpi, 0, 60)
    page = _page(login(org.outsider), kpi)
    assert "Activation rate is red" in page
    assert "You can create objectives only in your own teams" in page
    assert "Start an objective from this KPI" not in page


def test_red_kpi_without_an_active_cycle_explains_it(org, login, kpi):
    _read(kpi, 0, 60)
    Cycle.objects.update(state=Cycle.State.PLANNING)
    page = _page(login(org.teammate), kpi)
    assert "There is no active cycle to start an objective in." in page
    assert "Start an objective from this KPI" not in page


def test_kpi_that_is_not_red_offers_no_objective(org, login, kpi):
    page = _page(login(org.teammate), kpi)
    assert "Start an objective from this KPI" not in page
    assert f"?kpi={kpi.pk}" not in page


# --- Guarded objectives and guardrail flags ---------------------------------------------


def test_guarded_objectives_are_listed_with_a_red_flag(org, login, kpi):
    guarded = _objective(org, title="Ride more")
    kpi.guarded_objectives.add(guarded)
    _read(kpi, 0, 60)
    page = _page(login(org.outsider), kpi)
    assert f'href="{reverse("goals:objective", args=[guarded.pk])}"' in page
    assert "Guardrail red: Activation rate (60%)" in page


def test_private_objective_of_another_team_is_not_listed_for_the_outsider(org, login, kpi):
    secret = _objective(
        org,
        title="Secret launch",
        visibility=Objective.Visibility.PRIVATE,
    )
    kpi.guarded_objectives.add(secret)
    assert "Secret launch" not in _page(login(org.outsider), kpi)
    assert "Secret launch" in _page(login(org.teammate), kpi)


def _flags(objective: Objective) -> str:
    loaded = Objective.objects.prefetch_related(
        Prefetch("guardrails", queryset=Kpi.objects.filter(archived_at__isnull=True))
    ).get(pk=objective.pk)
    return render_to_string("goals/_guardrail_flags.html", {"objective": loaded}).strip()


def test_guardrail_flags_show_only_red_kpis(org):
    objective = _objective(org)
    red = factories.KpiFactory(team=org.product, name="Backlog", unit="bikes")
    green = factories.KpiFactory(team=org.product, name="Riders")
    _read(red, 0, 50)
    _read(green, 0, 95)
    red.guarded_objectives.add(objective)
    green.guarded_objectives.add(objective)

    flags = _flags(objective)

    assert "Guardrail red: Backlog (50 bikes)" in flags
    assert f'href="{reverse("goals:kpi", args=[red.pk])}"' in flags
    assert "Riders" not in flags


def test_guardrail_flags_render_nothing_when_no_guardrail_is_red(org):
    objective = _objective(org)
    unread = factories.KpiFactory(team=org.product)
    unread.guarded_objectives.add(objective)
    assert _flags(objective) == ""


def test_archived_kpi_never_flags(org):
    objective = _objective(org)
    archived = factories.KpiFactory(team=org.product, archived_at=timezone.now())
    _read(archived, 0, 10)
    archived.guarded_objectives.add(objective)
    loaded = Objective.objects.prefetch_related("guardrails").get(pk=objective.pk)
    assert render_to_string("goals/_guardrail_flags.html", {"objective": loaded}).strip() == ""


def test_guardrail_flags_cost_no_query_beyond_the_prefetch(org, django_assert_num_queries):
    objective = _objective(org)
    for _ in range(3):
        guardrail = factories.KpiFactory(team=org.product)
        _read(guardrail, 0, 10)
        guardrail.guarded_objectives.add(objective)
    loaded = Objective.objects.prefetch_related("guardrails").get(pk=objective.pk)
    with django_assert_num_queries(0):
        flags = render_to_string("goals/_guardrail_flags.html", {"objective": loaded})
    assert flags.count("Guardrail red:") == 3


# --- Query budget -----------------------------------------------------------------------


def _add_data(org, kpi: Kpi, count: int, start: int) -> None:
    for n in range(start, start + count):
        _read(kpi, n + 2, 60)
        objective = _objective(
            org,
            visibility=Objective.Visibility.PRIVATE if n % 2 else Objective.Visibility.PUBLIC,
        )
        kpi.guarded_objectives.add(objective)
        factories.KpiFactory(team=org.product).guarded_objectives.add(objective)


def _count_queries(client, kpi: Kpi, **headers) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("goals:kpi", args=[kpi.pk]), **headers)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["teammate", "lead", "outsider", "admin"])
def test_kpi_page_query_count_does_not_grow_with_data(org, login, kpi, persona):
    _read(kpi, 0, 60)  # red: the page also looks for an active cycle
    client = login(getattr(org, persona))
    _add_data(org, kpi, 2, start=0)
    small = _count_queries(client, kpi)
    _add_data(org, kpi, 38, start=2)  # 20× as many readings and guarded objectives
    large = _count_queries(client, kpi)
    assert small == large, f"{small} queries with 2 readings and objectives, {large} with 40"
    assert large <= 12


def test_readings_fragment_costs_the_page_less_its_history(org, login, kpi):
    client = login(org.lead)
    assert _count_queries(client, kpi, **HTMX) + 1 == _count_queries(client, kpi)


# --- Adding a reading -------------------------------------------------------------------


def _add(client, kpi: Kpi, value, read_on=TODAY, **headers):
    data = {"read_on": read_on.isoformat() if read_on else "", "value": value}
    return client.post(reverse("goals:kpi-reading-add", args=[kpi.pk]), data, **headers)


@pytest.mark.parametrize("persona", ["teammate", "lead", "admin"])
def test_team_members_leads_and_admins_add_readings(org, login, kpi, persona):
    response = _add(login(getattr(org, persona)), kpi, "64.5")
    assert response.status_code == 302
    assert response.url == reverse("goals:kpi", args=[kpi.pk])
    kpi.refresh_from_db()
    assert kpi.latest_value == Decimal("64.5")
    assert kpi.latest_read_on == TODAY
    assert kpi.readings.get(read_on=TODAY).recorded_by == getattr(org, persona)


def test_adding_a_reading_without_htmx_comes_back_to_the_page_with_a_message(org, login, kpi):
    response = login(org.teammate).post(
        reverse("goals:kpi-reading-add", args=[kpi.pk]),
        {"read_on": TODAY.isoformat(), "value": "64.5"},
        follow=True,
    )
    page = response.content.decode()
    assert "Reading added." in page
    assert '<span class="kpi-figure">64.5%</span>' in page


def test_adding_a_reading_with_htmx_returns_the_readings_fragment(org, login, kpi):
    response = _add(login(org.teammate), kpi, "64.5", **HTMX)
    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div id="kpi-readings"')
    assert "<html" not in fragment
    assert "Reading added: 64.5% on" in fragment
    assert '<span class="health health-red health-large">Red</span>' in fragment
    assert '<tr class="kpi-added">' in fragment
    assert f'value="{TODAY.isoformat()}"' in fragment  # a fresh form for the next one
    assert 'value="64.5"' not in fragment


def test_outsider_cannot_add_a_reading(org, login, kpi):
    response = _add(login(org.outsider), kpi, "10")
    assert response.status_code == 403
    assert "Only the team&#x27;s members, its leads and admins" in response.content.decode()
    kpi.refresh_from_db()
    assert kpi.readings.count() == 1
    assert kpi.latest_value == Decimal(80)


def test_archived_kpi_takes_no_new_readings(org, login, kpi):
    Kpi.objects.filter(pk=kpi.pk).update(archived_at=timezone.now())
    response = _add(login(org.admin), kpi, "95")
    assert response.status_code == 403
    assert "This KPI is archived" in response.content.decode()
    assert kpi.readings.count() == 1


def test_adding_a_reading_needs_a_post(org, login, kpi):
    response = login(org.teammate).get(reverse("goals:kpi-reading-add", args=[kpi.pk]))
    assert response.status_code == 405


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "This field is required."),
        ("abc", "Enter a number."),
        ("NaN", "Enter a number."),
        ("1e30", "Ensure that there are no more than 18 digits in total."),
    ],
)
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_bad_value_is_refused_beside_the_field(org, login, kpi, typed, message, headers):
    response = _add(login(org.teammate), kpi, typed, **headers)
    assert response.status_code == 200
    page = response.content.decode()
    error = re.search(r'<ul class="errorlist" id="id_value_error">(.*?)</ul>', page, re.S)
    assert message in error.group(1)
    assert re.search(rf'<input type="number" name="value" value="{typed}"', page) or not typed
    assert 'aria-invalid="true"' in page
    assert re.search(r'<input type="number" name="value"[^>]*autofocus', page)  # focus to fix
    kpi.refresh_from_db()
    assert kpi.readings.count() == 1
    assert kpi.latest_value == Decimal(80)


def test_second_reading_for_the_same_day_is_refused_beside_the_date(org, login, kpi):
    yesterday = TODAY - dt.timedelta(days=1)
    response = _add(login(org.teammate), kpi, "55", read_on=yesterday, **HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    error = re.search(r'<ul class="errorlist" id="id_read_on_error">(.*?)</ul>', page, re.S)
    assert "This KPI already has a reading for that day." in error.group(1)
    assert 'value="55"' in page
    assert f'value="{yesterday.isoformat()}"' in page
    kpi.refresh_from_db()
    assert kpi.readings.get().value == Decimal(80)
    assert kpi.latest_value == Decimal(80)


def test_missing_date_is_refused_beside_the_date(org, login, kpi):
    page = _add(login(org.teammate), kpi, "55", read_on=None).content.decode()
    assert re.search(r'id="id_read_on_error">.*?This field is required', page, re.S)
    assert kpi.readings.count() == 1


# --- Creating and editing a KPI ---------------------------------------------------------

CREATE = reverse("goals:kpi-create")


def _kpi_data(**overrides) -> dict:
    data = {
        "name": "Repair backlog",
        "description": "Bikes waiting for a repair.",
        "unit": "bikes",
        "direction": "lower",
        "green_threshold": "120",
        "red_threshold": "250",
    }
    return data | overrides


def test_teammate_creates_a_kpi_for_their_team(org, login):
    objective = _objective(org)
    client = login(org.teammate)
    assert client.get(CREATE + "?team=product").status_code == 200

    response = client.post(
        CREATE + "?team=product", _kpi_data(guarded_objectives=[objective.pk]), follow=True
    )

    kpi = Kpi.objects.get(name="Repair backlog")
    assert response.redirect_chain[-1][0] == reverse("goals:kpi", args=[kpi.pk])
    assert "KPI created." in response.content.decode()
    assert kpi.team == org.product
    assert kpi.direction == Kpi.Direction.LOWER_IS_BETTER
    assert list(kpi.guarded_objectives.all()) == [objective]


def test_outsider_cannot_create_a_kpi_for_another_team(org, login):
    client = login(org.outsider)
    assert client.get(CREATE + "?team=product").status_code == 403
    assert client.post(CREATE + "?team=product", _kpi_data()).status_code == 403
    assert not Kpi.objects.exists()


@pytest.mark.parametrize("query", ["", "?team=", "?team=nowhere"])
def test_new_kpi_needs_a_known_team(org, login, query):
    assert login(org.teammate).get(CREATE + query).status_code == 404


def test_thresholds_in_the_wrong_order_are_refused_beside_them(org, login):
    response = login(org.teammate).post(
        CREATE + "?team=product", _kpi_data(green_threshold="300", red_threshold="250")
    )
    assert response.status_code == 200
    page = response.content.decode()
    error = re.search(r'id="id_green_threshold_error">(.*?)</ul>', page, re.S)
    assert "The green threshold must be better than the red one" in error.group(1)
    assert 'value="300"' in page
    assert not Kpi.objects.exists()


def test_a_second_kpi_with_the_same_name_is_refused_beside_the_name(org, login, kpi):
    response = login(org.teammate).post(CREATE + "?team=product", _kpi_data(name=kpi.name))
    assert response.status_code == 200
    error = re.search(r'id="id_name_error">(.*?)</ul>', response.content.decode(), re.S)
    assert "This team already has a KPI with this name." in error.group(1)
    assert Kpi.objects.count() == 1


def test_guardable_objectives_are_visible_active_and_in_open_cycles(org, login):
    closed = factories.CycleFactory(name="2026 Q3", state=Cycle.State.CLOSED)
    _objective(org, title="Open")
    _objective(org, cycle=closed, title="Closed")
    factories.ObjectiveFactory(
        cycle=org.cycle,
        team=org.sales,
        owner=org.outsider,
        title="Sales secret",
        visibility=Objective.Visibility.PRIVATE,
    )
    archived = _objective(org, title="Dropped")
    Objective.objects.filter(pk=archived.pk).update(archived_at=timezone.now())

    page = login(org.teammate).get(CREATE + "?team=product").content.decode()

    assert ">Open · Product · 2026 Q4</option>" in page  # title, team and cycle
    assert ">Closed · " not in page
    assert ">Sales secret · " not in page
    assert ">Dropped · " not in page


def test_teammate_edits_a_kpi(org, login, kpi):
    client = login(org.teammate)
    form = client.get(reverse("goals:kpi-edit", args=[kpi.pk])).content.decode()
    assert 'value="90"' in form  # as typed, not "90.0000"

    response = client.post(
        reverse("goals:kpi-edit", args=[kpi.pk]),
        _kpi_data(name="Activation", direction="higher", green_threshold="85", red_threshold="60"),
        follow=True,
    )

    assert "KPI saved." in response.content.decode()
    kpi.refresh_from_db()
    assert (kpi.name, kpi.green_threshold, kpi.red_threshold) == ("Activation", 85, 60)


def test_outsider_cannot_edit_a_kpi(org, login, kpi):
    client = login(org.outsider)
    url = reverse("goals:kpi-edit", args=[kpi.pk])
    assert client.get(url).status_code == 403
    response = client.post(url, _kpi_data(name="Hijacked", direction="higher"))
    assert response.status_code == 403
    assert "Only the team&#x27;s members, its leads and admins" in response.content.decode()
    kpi.refresh_from_db()
    assert kpi.name == "Activation rate"


def test_admin_edits_any_kpi(org, login, kpi):
    response = login(org.admin).post(
        reverse("goals:kpi-edit", args=[kpi.pk]),
        _kpi_data(name="By admin", direction="higher", green_threshold="95", red_threshold="75"),
    )
    assert response.status_code == 302
    kpi.refresh_from_db()
    assert kpi.name == "By admin"


def test_editing_keeps_links_the_editor_cannot_choose(org, login, kpi):
    closed = factories.CycleFactory(name="2026 Q3", state=Cycle.State.CLOSED)
    old = _objective(org, cycle=closed)
    secret = factories.ObjectiveFactory(
        cycle=org.cycle,
        team=org.sales,
        owner=org.outsider,
        visibility=Objective.Visibility.PRIVATE,
    )
    kept_open = _objective(org)
    kpi.guarded_objectives.add(old, secret, kept_open)

    login(org.teammate).post(
        reverse("goals:kpi-edit", args=[kpi.pk]),
        _kpi_data(direction="higher", green_threshold="90", red_threshold="70"),
    )

    # The teammate unticked the one they could choose; the others stay linked.
    assert set(kpi.guarded_objectives.all()) == {old, secret}


def test_kpi_page_shows_who_changed_the_thresholds(org, login, kpi):
    client = login(org.teammate)
    client.post(
        reverse("goals:kpi-edit", args=[kpi.pk]),
        {
            "name": "Activation rate",
            "description": "",
            "unit": "%",
            "direction": "higher",
            "green_threshold": "95",
            "red_threshold": "70",
        },
    )
    page = client.get(reverse("goals:kpi", args=[kpi.pk])).content.decode()
    assert "Change history" in page
    assert "<del>90</del> → <ins>95</ins>" in page
    assert "Tia Mate" in page
