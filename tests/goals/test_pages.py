"""The read-only manager pages: my week's attention panel, the cycle overview, a team,
a person. Their permissions, their figures and their query budgets."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alignment import rollup
from alignment.models import Membership
from checkins.services import checkin_record
from goals.models import Cycle, KeyResult, Objective
from tests import factories

HOME = reverse("goals:home")


def _cycle_url(cycle, **params) -> str:
    url = reverse("goals:cycle", args=[cycle.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def _team_url(team) -> str:
    return reverse("goals:team", args=[team.slug])


def _person_url(user) -> str:
    return reverse("goals:person", args=[user.username])


def _get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _section(page: str, heading_id: str) -> str:
    """The part of ``page`` from the heading ``heading_id`` to the end of its section."""
    return page.split(f'id="{heading_id}"')[1].split("</section>")[0]


def _assert_shows(page: str, *texts: str) -> None:
    missing = [text for text in texts if text not in page]
    assert not missing, f"not on the page: {missing}"


def _assert_hides(page: str, *texts: str) -> None:
    present = [text for text in texts if text in page]
    assert not present, f"on the page but should not be: {present}"


def _objective(org, *, team=None, owner=None, progress: float = 0.5, **fields) -> Objective:
    objective = factories.ObjectiveFactory(
        cycle=fields.pop("cycle", org.cycle),
        team=team or org.product,
        owner=owner or org.owner,
        **fields,
    )
    Objective.objects.filter(pk=objective.pk).update(progress=progress)
    objective.progress = progress
    return objective


def _key_result(objective, *, owner=None, progress: float = 0.5, **fields) -> KeyResult:
    """A key result checked in just now (so fresh) at ``progress``, confidence 7."""
    key_result = factories.KeyResultFactory(
        objective=objective, owner=owner or objective.owner, **fields
    )
    KeyResult.objects.filter(pk=key_result.pk).update(
        progress=progress,
        confidence=fields.get("confidence", 7),
        last_checkin_at=timezone.now(),
    )
    rollup.refresh_attention([objective.pk])  # as a check-in's roll-up would
    key_result.refresh_from_db()
    return key_result


def _days_since_checkin(key_result: KeyResult, days: int) -> None:
    KeyResult.objects.filter(pk=key_result.pk).update(
        last_checkin_at=timezone.now() - dt.timedelta(days=days)
    )
    rollup.refresh_attention([key_result.objective_id])


def _private_product_objective(org) -> Objective:
    objective = _objective(
        org,
        title="Secret pricing overhaul",
        visibility=Objective.Visibility.PRIVATE,
        progress=0.0,  # far behind: it would be listed as needing attention
    )
    _key_result(objective, title="Secret pricing key result", progress=0.0, confidence=2)
    return objective


# Anonymous visitors.


@pytest.mark.parametrize(
    "url",
    [
        HOME,
        reverse("goals:cycle-current"),
        reverse("goals:cycle", args=[1]),
        reverse("goals:team", args=["product"]),
        reverse("goals:person", args=["owner"]),
    ],
)
def test_anonymous_visitor_is_sent_to_login_from_every_page(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# My week: the "Needs my attention" panel.


def test_home_lists_my_key_results_due_a_check_in_and_stale_ones(org, login):
    objective = _objective(org, title="Delight new riders")
    due = _key_result(objective, title="Activation from 20% to 60%")
    stale = _key_result(objective, title="Retention from 50% to 70%")
    _key_result(objective, title="Fresh and on pace")
    _days_since_checkin(due, 8)
    _days_since_checkin(stale, 20)

    panel = _section(_get(login(org.owner), HOME), "attention-heading")

    _assert_shows(
        panel, "Check-in due", "Stale", "Activation from 20% to 60%", "Retention from 50% to 70%"
    )
    _assert_hides(panel, "Fresh and on pace")
    # Stale comes before due: the longer the silence, the higher it is listed.
    assert panel.index("Retention") < panel.index("Activation")


def test_home_lists_my_key_results_behind_pace_or_with_low_confidence(org, login):
    # The cycle is 45 of 91 days in: 49% expected.
    objective = _objective(org, title="Delight new riders")
    _key_result(objective, title="Behind the pace", progress=0.1)
    _key_result(objective, title="Unsure of it", progress=0.5, confidence=3)
    _key_result(objective, title="Someone else's", owner=org.teammate, progress=0.0)

    panel = _section(_get(login(org.owner), HOME), "attention-heading")

    _assert_shows(
        panel,
        "Behind the pace",
        "39% behind the expected pace",  # 45/91 - 0.10 = 0.3945
        "Unsure of it",
        "Low confidence (3/10)",
    )
    _assert_hides(panel, "Someone else")


def test_home_attention_item_links_to_the_key_result_on_its_objective_page(org, login):
    objective = _objective(org)
    key_result = _key_result(objective, progress=0.0)
    page = _get(login(org.owner), HOME)
    assert f'href="/objectives/{objective.pk}/#key-result-{key_result.pk}"' in page


def test_home_lists_blockers_of_my_teams_from_the_last_week_newest_first(org, login):
    objective = _objective(org, owner=org.teammate)
    key_result = _key_result(objective, title="Unlock success from 92% to 99%")
    now = timezone.now()
    factories.CheckInFactory(
        key_result=key_result, blocker="Waiting for the firmware", created_at=now
    )
    factories.CheckInFactory(
        key_result=key_result,
        blocker="Legal review pending",
        created_at=now - dt.timedelta(days=2),
    )
    factories.CheckInFactory(
        key_result=key_result, blocker="An old worry", created_at=now - dt.timedelta(days=8)
    )
    factories.CheckInFactory(key_result=key_result, blocker="   ", created_at=now)
    sales_kr = _key_result(_objective(org, team=org.sales, owner=org.outsider))
    factories.CheckInFactory(key_result=sales_kr, blocker="A Sales matter", created_at=now)

    page = _get(login(org.owner), HOME)

    _assert_shows(
        page,
        "Blockers in my teams, last 7 days",
        "Tia Mate on",  # the author, the teammate
        f'href="/objectives/{objective.pk}/#key-result-{key_result.pk}"',
    )
    _assert_hides(page, "An old worry", "A Sales matter")
    assert page.index("Waiting for the firmware") < page.index("Legal review pending")
    assert page.count('class="blocker-text"') == 2


def test_home_shows_a_lead_the_blockers_of_the_team_they_lead(org, login):
    key_result = _key_result(_objective(org))
    factories.CheckInFactory(key_result=key_result, blocker="Waiting for the firmware")
    assert "Waiting for the firmware" in _get(login(org.lead), HOME)
    assert "Waiting for the firmware" not in _get(login(org.outsider), HOME)


def test_home_says_when_nothing_needs_my_attention(org, login):
    _key_result(_objective(org), progress=0.6)
    page = _get(login(org.owner), HOME)
    assert "Nothing needs your attention" in page
    assert "My key results" not in page


# The cycle overview.


def test_cycle_current_redirects_to_the_earliest_starting_active_cycle(org, login):
    today = timezone.localdate()
    yearly = factories.CycleFactory(
        name="FY2026",
        start_date=today - dt.timedelta(days=200),
        end_date=today + dt.timedelta(days=165),
    )
    factories.CycleFactory(name="2027 Q1", start_date=today + dt.timedelta(days=50))
    response = login(org.lead).get(reverse("goals:cycle-current"))
    assert response.status_code == 302
    assert response.url == _cycle_url(yearly)


def test_cycle_current_without_an_active_cycle_goes_to_the_latest(org, login):
    Cycle.objects.update(state=Cycle.State.CLOSED, closed_at=timezone.now())
    latest = factories.CycleFactory(
        name="2027 Q1",
        start_date=timezone.localdate() + dt.timedelta(days=50),
        state=Cycle.State.PLANNING,
    )
    response = login(org.lead).get(reverse("goals:cycle-current") + "?team=product")
    assert response.url == _cycle_url(latest, team="product")


def test_cycle_current_without_any_cycle_says_so(db, login):
    user = factories.UserFactory()
    page = _get(login(user), reverse("goals:cycle-current"))
    assert "There are no cycles yet." in page


def test_unknown_cycle_is_404(org, login):
    assert login(org.lead).get(reverse("goals:cycle", args=[999])).status_code == 404


def test_cycle_overview_ranks_team_scores_from_the_mean_of_their_objectives(org, login):
    _objective(org, team=org.product, progress=0.2)
    _objective(org, team=org.product, progress=0.6)
    _objective(org, team=org.sales, owner=org.outsider, progress=0.9)
    archived = _objective(org, team=org.sales, owner=org.outsider, progress=0.0)
    Objective.objects.filter(pk=archived.pk).update(archived_at=timezone.now())
    other_cycle = factories.CycleFactory(name="2026 Q3", state=Cycle.State.CLOSED)
    _objective(org, team=org.sales, owner=org.outsider, cycle=other_cycle, progress=0.0)

    page = _get(login(org.lead), _cycle_url(org.cycle))
    scores = _section(page, "scores-heading")
    rows = re.findall(r"<tr>.*?</tr>", scores, re.S)[1:]

    assert len(rows) == 2
    assert "Sales" in rows[0] and "90%" in rows[0]  # the archived one and Q3 don't count
    assert "Product" in rows[1] and "40%" in rows[1]  # (0.2 + 0.6) / 2
    assert re.search(r'class="number">2</td>', rows[1])  # two objectives


def test_cycle_overview_lists_objectives_needing_attention_with_the_reasons(org, login):
    # 45 of 91 days in: 49% expected; more than 25 points behind needs attention.
    behind = _objective(org, title="Far behind", progress=0.1)
    _key_result(behind, progress=0.1)
    unsure = _objective(org, title="Unsure", progress=0.5)
    _key_result(unsure, progress=0.5, confidence=8)
    _key_result(unsure, progress=0.5, confidence=3)
    quiet = _objective(org, title="Gone quiet", progress=0.5)
    _days_since_checkin(_key_result(quiet, progress=0.5), 15)
    fine = _objective(org, title="All good", progress=0.45)
    _key_result(fine, progress=0.45)

    page = _get(login(org.lead), _cycle_url(org.cycle))
    attention = _section(page, "attention-heading")

    _assert_shows(
        attention,
        "Far behind",
        "39% behind the expected pace",
        "Unsure",
        "Low confidence (3/10)",  # its lowest confidence
        "Gone quiet",
        "A key result is stale",
    )
    _assert_hides(attention, "All good")
    assert "<dt>Need attention</dt><dd>3</dd>" in page


def test_closed_cycle_overview_does_not_call_key_results_stale(org, login):
    closed = factories.CycleFactory(
        name="2026 Q2",
        start_date=timezone.localdate() - dt.timedelta(days=200),
        state=Cycle.State.CLOSED,
    )
    objective = _objective(org, cycle=closed, title="Done and dusted", progress=0.9)
    _days_since_checkin(_key_result(objective, progress=0.9), 100)
    page = _get(login(org.lead), _cycle_url(closed))
    assert "A key result is stale" not in page
    assert "Checked in, last 7 days" not in page
    assert "No objective needs attention" in page


def test_cycle_overview_shows_the_check_in_rate_of_the_last_week_per_team(org, login):
    objective = _objective(org)
    for _ in range(3):
        key_result = _key_result(objective)
        checkin_record(key_result=key_result, author=org.owner, value=Decimal(50), confidence=7)
    _days_since_checkin(_key_result(objective), 10)  # not in the last 7 days
    archived = _key_result(objective)
    KeyResult.objects.filter(pk=archived.pk).update(archived_at=timezone.now())
    _key_result(objective, progress_source=KeyResult.ProgressSource.ROLLUP)  # not checked in
    sales_kr = _key_result(_objective(org, team=org.sales, owner=org.outsider))
    _days_since_checkin(sales_kr, 9)

    page = _get(login(org.lead), _cycle_url(org.cycle))

    assert "60%" in page.split("Checked in, last 7 days")[1].split("</dd>")[0]  # 3 of 5
    assert "3 of 5 key results" in page
    assert '75% <span class="muted">(3/4)</span>' in page  # Product
    assert '0% <span class="muted">(0/1)</span>' in page  # Sales


def test_cycle_overview_team_filter_includes_sub_teams(org, login):
    mobile = factories.TeamFactory(name="Mobile", slug="mobile", parent=org.product)
    _objective(org, team=org.product, title="Product goal")
    _objective(org, team=mobile, title="Mobile goal")
    _objective(org, team=org.sales, owner=org.outsider, title="Sales goal")

    page = _get(login(org.lead), _cycle_url(org.cycle, team="product"))
    scores = _section(page, "scores-heading")

    _assert_shows(scores, "in Product and its sub-teams", ">Product</a>", ">Mobile</a>")
    _assert_hides(scores, ">Sales</a>")
    assert '<option value="product" selected>' in page
    # Switching cycles keeps the team filter.
    assert f'href="{_cycle_url(org.cycle, team="product")}" aria-current="page"' in page


def test_cycle_overview_lists_every_cycle_newest_first(org, login):
    factories.CycleFactory(
        name="2026 Q3",
        start_date=org.cycle.start_date - dt.timedelta(days=92),
        state=Cycle.State.CLOSED,
    )
    factories.CycleFactory(
        name="2027 Q1",
        start_date=org.cycle.start_date + dt.timedelta(days=92),
        state=Cycle.State.PLANNING,
    )
    switch = _get(login(org.lead), _cycle_url(org.cycle)).split('aria-label="Cycles"')[1]
    assert switch.index("2027 Q1") < switch.index("2026 Q4") < switch.index("2026 Q3")
    assert re.search(r'aria-current="page">2026 Q4', switch)


def test_cycle_overview_answers_htmx_with_the_results_only(org, login):
    _objective(org, title="Product goal")
    response = login(org.lead).get(
        _cycle_url(org.cycle, team="product"), headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="results">')
    assert "<html" not in page
    assert "Product goal" not in page  # objectives on pace are not listed …
    assert ">Product</a>" in page  # … but their team's score is


def test_outsider_does_not_see_private_objective_on_cycle_overview(org, login):
    _private_product_objective(org)
    _objective(org, title="Public product goal", progress=0.6)

    outsider_page = _get(login(org.outsider), _cycle_url(org.cycle))
    assert "Secret pricing overhaul" not in outsider_page
    # Product's score counts only the public objective.
    assert '<span class="progress-figure">60%</span>' in _section(outsider_page, "scores-heading")

    lead_page = _get(login(org.lead), _cycle_url(org.cycle))
    assert "Secret pricing overhaul" in lead_page
    assert '<span class="progress-figure">30%</span>' in _section(lead_page, "scores-heading")


# The team page.


def test_team_page_shows_its_objectives_in_the_active_cycle_with_the_team_score(org, login):
    first = _objective(org, title="Delight new riders", progress=0.2)
    _key_result(first, title="Activation from 20% to 60%")
    _objective(org, title="Cut support load", progress=0.6)
    _objective(org, team=org.sales, owner=org.outsider, title="Sales goal")
    closed = factories.CycleFactory(name="2026 Q3", state=Cycle.State.CLOSED)
    _objective(org, cycle=closed, title="Last quarter's goal")

    page = _get(login(org.teammate), _team_url(org.product))

    _assert_shows(
        page,
        "<h1>Product",
        'Part of <a href="/teams/company/">Company</a>',
        "Delight new riders",
        "Activation from 20% to 60%",
        "Cut support load",
        "Team score",
        "mean of 2 objectives",
        'aria-valuenow="40"',  # the team score: (0.2 + 0.6) / 2
    )
    _assert_hides(page, "Sales goal", "Last quarter")


def test_team_page_switches_to_another_cycle(org, login):
    closed = factories.CycleFactory(name="2026 Q3", state=Cycle.State.CLOSED)
    _objective(org, cycle=closed, title="Last quarter's goal")
    _objective(org, title="This quarter's goal")
    page = _get(login(org.lead), _team_url(org.product) + f"?cycle={closed.pk}")
    assert "Last quarter&#x27;s goal" in page
    assert "This quarter" not in page
    assert re.search(r'aria-current="page">2026 Q3', page)
    assert login(org.lead).get(_team_url(org.product) + "?cycle=999").status_code == 404


def test_team_page_lists_members_leads_first_linking_to_their_pages(org, login):
    page = _get(login(org.outsider), _team_url(org.product))
    members = _section(page, "members-heading")
    assert members.index("Lena Lead") < members.index("Olu Owner") < members.index("Tia Mate")
    assert 'href="/people/lead/">Lena Lead</a>' in members
    assert members.count(">Lead</span>") == 1


def test_team_page_links_sub_teams_with_their_scores_and_the_parent(org, login):
    mobile = factories.TeamFactory(name="Mobile", slug="mobile", parent=org.product)
    factories.TeamFactory(name="Web", slug="web", parent=org.product)
    _objective(org, team=mobile, progress=0.2)
    _objective(org, team=mobile, progress=0.6)

    page = _get(login(org.lead), _team_url(org.product))
    sub_teams = _section(page, "sub-teams-heading")

    _assert_shows(
        sub_teams,
        'href="/teams/mobile/">Mobile</a>',
        "40%",  # (0.2 + 0.6) / 2
        "2 objectives",
        'href="/teams/web/">Web</a>',
        "No objectives",
    )
    assert 'Part of <a href="/teams/product/">Product</a>' in _get(
        login(org.lead), _team_url(mobile)
    )


def test_team_page_lists_kpis_with_latest_reading_and_health(org, login):
    kpi = factories.KpiFactory(team=org.product, name="Crash-free sessions", unit="%")
    kpi.latest_value, kpi.latest_read_on = Decimal("65.5"), dt.date(2026, 11, 20)
    kpi.save()
    factories.KpiFactory(team=org.product, name="Weekly riders", unit="riders")
    factories.KpiFactory(team=org.sales, name="Pipeline")

    page = _get(login(org.outsider), _team_url(org.product))
    kpis = _section(page, "kpis-heading")

    _assert_shows(
        kpis,
        f'href="/kpis/{kpi.pk}/">Crash-free sessions</a>',
        "65.5%",
        "20 Nov 2026",
        '<span class="health health-red">Red</span>',  # red at 70 or below
        "No reading",
    )
    _assert_hides(kpis, "Pipeline")


def test_team_page_offers_to_add_a_kpi_only_to_people_who_may(org, login):
    add = f'href="{reverse("goals:kpi-create")}?team=product"'
    assert add in _get(login(org.teammate), _team_url(org.product))
    assert add in _get(login(org.admin), _team_url(org.product))
    assert add not in _get(login(org.outsider), _team_url(org.product))


def test_unknown_team_is_404(org, login):
    assert login(org.lead).get(reverse("goals:team", args=["nope"])).status_code == 404


def test_outsider_does_not_see_private_objective_on_team_page(org, login):
    _private_product_objective(org)
    assert "Secret pricing overhaul" not in _get(login(org.outsider), _team_url(org.product))
    assert "Secret pricing overhaul" in _get(login(org.lead), _team_url(org.product))


def test_outsider_does_not_see_private_objective_in_sub_team_scores(org, login):
    _private_product_objective(org)  # at 0%
    _objective(org, title="Public product goal", progress=0.6)
    outsider_page = _get(login(org.outsider), _team_url(org.company))
    assert "60%" in _section(outsider_page, "sub-teams-heading")
    lead_page = _get(login(org.lead), _team_url(org.company))
    assert "30%" in _section(lead_page, "sub-teams-heading")  # (0 + 0.6) / 2


# The person page.


def test_person_page_shows_profile_teams_and_the_objectives_they_own(org, login):
    org.owner.job_title = "Product Manager"
    org.owner.save()
    factories.MembershipFactory(user=org.owner, team=org.sales, role=Membership.Role.LEAD)
    own = _objective(org, title="Delight new riders")
    _key_result(own, title="Activation from 20% to 60%", confidence=8)
    others = _objective(org, owner=org.lead, title="Lead's objective")
    _key_result(others, owner=org.owner, title="A key result under the lead")
    _objective(org, owner=org.teammate, title="Not theirs")

    page = _get(login(org.outsider), _person_url(org.owner))

    _assert_shows(
        page,
        "<h1>Olu Owner</h1>",
        "Product Manager",
        'href="/people/lead/">Lena Lead</a>',  # the manager
        'href="/teams/sales/">Sales</a> <span class="muted">(lead)</span>',
        'href="/teams/product/">Product</a> <span class="muted">(member)</span>',
        "Delight new riders",
        "8/10",
        "A key result under the lead",
    )
    _assert_hides(page, "Not theirs")


def test_person_page_lists_a_managers_reports(org, login):
    page = _get(login(org.outsider), _person_url(org.lead))
    assert 'href="/people/owner/">Olu Owner</a>' in page.split("<dt>Reports</dt>")[1]


def test_unknown_or_inactive_person_is_404(org, login):
    client = login(org.lead)
    assert client.get(reverse("goals:person", args=["nobody"])).status_code == 404
    org.teammate.is_active = False
    org.teammate.save()
    assert client.get(_person_url(org.teammate)).status_code == 404


def test_outsider_does_not_see_private_objective_on_person_page(org, login):
    _private_product_objective(org)
    assert "Secret pricing overhaul" not in _get(login(org.outsider), _person_url(org.owner))
    assert "Secret pricing overhaul" in _get(login(org.lead), _person_url(org.owner))


def test_outsider_does_not_see_private_objective_on_home_page(org, login):
    objective = _private_product_objective(org)
    # The outsider holds a key result of it, yet may not read the objective.
    _key_result(objective, owner=org.outsider, title="Outsider's key result", progress=0.0)
    assert "Secret pricing overhaul" not in _get(login(org.outsider), HOME)
    assert "Secret pricing overhaul" in _get(login(org.owner), HOME)


# Query budgets: the same number of queries for 20 times the data.


def _grow(org, count: int) -> None:
    """``count`` more of everything the pages read: sub-teams of Product with members
    and goals, Product members, objectives of the lead and the owner (public and
    private) with key results due, stale and checked in with blockers, and KPIs."""
    now = timezone.now()
    for _ in range(count):
        sub_team = factories.TeamFactory(parent=org.product)
        factories.MembershipFactory(team=sub_team)
        factories.MembershipFactory(team=org.product)
        for owner, visibility in ((org.lead, "public"), (org.owner, "private")):
            objective = _objective(org, owner=owner, visibility=visibility, progress=0.1)
            for days in (0, 8, 20):
                key_result = _key_result(objective, progress=0.3, confidence=4)
                _days_since_checkin(key_result, days)
                factories.CheckInFactory(
                    key_result=key_result, blocker="Stuck", created_at=now - dt.timedelta(days=1)
                )
        sub_objective = _objective(org, team=sub_team, owner=org.teammate)
        _key_result(sub_objective)
        kpi = factories.KpiFactory(team=org.product)
        kpi.guarded_objectives.add(sub_objective)


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["lead", "admin"])
@pytest.mark.parametrize("page", ["home", "cycle", "cycle-filtered", "team", "person"])
def test_page_query_count_does_not_grow_with_data(org, login, persona, page):
    urls = {
        "home": HOME,
        "cycle": _cycle_url(org.cycle),
        "cycle-filtered": _cycle_url(org.cycle, team="product"),
        "team": _team_url(org.product),
        "person": _person_url(org.owner),
    }
    client = login(getattr(org, persona))
    _grow(org, 1)
    small = _count_queries(client, urls[page])
    _grow(org, 19)  # 20× as many teams, members, objectives, key results, check-ins, KPIs
    large = _count_queries(client, urls[page])
    assert small == large, f"{small} queries with the small organisation, {large} with 20×"


def test_person_page_names_the_company_objectives_their_work_supports(org, login):
    company_goal = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.company, owner=org.lead, title="Riders for life"
    )
    secret_goal = factories.ObjectiveFactory(
        cycle=org.cycle,
        team=org.company,
        owner=org.lead,
        title="Secret company goal",
        visibility="private",
    )
    team_goal = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.lead, parent=company_goal
    )
    factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner, parent=team_goal)
    factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, parent=secret_goal
    )

    url = reverse("goals:person", args=["owner"])
    as_lead = login(org.lead).get(url).content.decode()
    assert "Riders for life" in as_lead
    as_outsider = login(org.outsider).get(url).content.decode()
    assert "Riders for life" in as_outsider
    assert "Secret company goal" not in as_outsider
