"""The alignment tree and its gaps report: the cascade shown one level at a time, its
filters, who sees what, the gaps found, and a query budget that does not grow."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alignment import rollup
from goals.models import Cycle, Dependency, KeyResult, Objective
from tests import factories
from tests.goals.test_pages import _assert_hides, _assert_shows, _section

HTMX = {"HX-Request": "true"}


def _tree_url(cycle, query: str = "") -> str:
    return reverse("alignment:tree", args=[cycle.pk]) + query


def _team_url(cycle, team) -> str:
    return reverse("alignment:tree-team", args=[cycle.pk, team.pk])


def _objective_url(cycle, objective) -> str:
    return reverse("alignment:tree-objective", args=[cycle.pk, objective.pk])


def _gaps_url(cycle, query: str = "") -> str:
    return reverse("alignment:gaps", args=[cycle.pk]) + query


def _get(client, url: str, **kwargs) -> str:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _goal(
    org,
    title: str,
    *,
    team=None,
    owner=None,
    progress: float = 0.5,
    confidence: int = 7,
    key_result: str | None = None,
    **fields,
) -> Objective:
    """An objective of ``org``'s cycle (Product's, the owner's, unless told) with one key
    result checked in just now at ``progress`` and ``confidence``."""
    objective = factories.ObjectiveFactory(
        cycle=fields.pop("cycle", org.cycle),
        team=team or org.product,
        owner=owner or org.owner,
        title=title,
        **fields,
    )
    factories.KeyResultFactory(objective=objective, title=key_result or f"{title}: measured")
    KeyResult.objects.filter(objective=objective).update(
        progress=progress, confidence=confidence, last_checkin_at=timezone.now()
    )
    Objective.objects.filter(pk=objective.pk).update(progress=progress)
    rollup.refresh_attention([objective.pk])  # as a check-in's roll-up would
    objective.refresh_from_db()
    return objective


def _dependency(org, requesting, providing, *, state, needed_in_days: int, age_days: int = 0):
    dependency = Dependency.objects.create(
        requesting_objective=requesting,
        providing_team=providing.team,
        providing_objective=providing,
        description=f"What {requesting.title} needs",
        needed_by=timezone.localdate() + dt.timedelta(days=needed_in_days),
        state=state,
        requested_by=requesting.owner,
    )
    Dependency.objects.filter(pk=dependency.pk).update(
        created_at=timezone.now() - dt.timedelta(days=age_days)
    )
    return dependency


@pytest.fixture
def cascade(org):
    """Three levels: a company objective, Product's objective for one of its key results,
    and Mobile's objective under Product's; Sales stands apart."""
    mobile = factories.TeamFactory(name="Mobile", slug="mobile", parent=org.product)
    company = _goal(
        org, "Riders for life", team=org.company, owner=org.lead, key_result="Grow riders"
    )
    product = _goal(
        org,
        "Delight new riders",
        parent=company,
        parent_key_result=company.key_results.get(),
    )
    phone = _goal(org, "Ship the phone app", team=mobile, owner=org.teammate, parent=product)
    sales = _goal(org, "Win the Benelux", team=org.sales, owner=org.outsider)
    return {
        "company": company,
        "product": product,
        "phone": phone,
        "sales": sales,
        "mobile": mobile,
    }


# Who may read it.


@pytest.mark.parametrize(
    "name, args",
    [
        ("tree-current", []),
        ("tree", [1]),
        ("tree-team", [1, 1]),
        ("tree-objective", [1, 1]),
        ("gaps", [1]),
    ],
)
def test_anonymous_visitor_is_sent_to_login(client, db, name, args):
    response = client.get(reverse(f"alignment:{name}", args=args))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_tree_current_goes_to_the_earliest_starting_active_cycle_keeping_filters(org, login):
    today = timezone.localdate()
    yearly = factories.CycleFactory(
        name="FY2026",
        start_date=today - dt.timedelta(days=200),
        end_date=today + dt.timedelta(days=165),
    )
    response = login(org.lead).get(reverse("alignment:tree-current") + "?team=product&attention=1")
    assert response.status_code == 302
    assert response.url == _tree_url(yearly, "?team=product&attention=1")


def test_tree_current_without_an_active_cycle_goes_to_the_latest(org, login):
    Cycle.objects.update(state=Cycle.State.CLOSED, closed_at=timezone.now())
    latest = factories.CycleFactory(
        name="2027 Q1",
        start_date=timezone.localdate() + dt.timedelta(days=50),
        state=Cycle.State.PLANNING,
    )
    assert login(org.lead).get(reverse("alignment:tree-current")).url == _tree_url(latest)


def test_tree_current_without_any_cycle_says_so(db, login):
    page = _get(login(factories.UserFactory()), reverse("alignment:tree-current"))
    assert "There are no cycles yet." in page


def test_unknown_cycle_team_or_objective_is_404(org, login, cascade):
    client = login(org.lead)
    assert client.get(reverse("alignment:tree", args=[999])).status_code == 404
    assert client.get(reverse("alignment:gaps", args=[999])).status_code == 404
    assert client.get(reverse("alignment:tree-team", args=[org.cycle.pk, 999])).status_code == 404
    missing = reverse("alignment:tree-objective", args=[org.cycle.pk, 999])
    assert client.get(missing, headers=HTMX).status_code == 404


# The tree, one level at a time.


def test_tree_shows_company_objectives_first_and_sub_teams_closed(org, login, cascade):
    page = _get(login(org.lead), _tree_url(org.cycle))
    tree = page.split('aria-labelledby="root-heading"')[1]

    _assert_shows(tree, "Company", "Riders for life", "Lena Lead", "Product", "Sales")
    assert tree.index("Riders for life") < tree.index(">Product<") < tree.index(">Sales<")
    # Nothing below the company is sent until a team is opened.
    _assert_hides(tree, "Delight new riders", "Ship the phone app", "Win the Benelux")
    product_url = _team_url(org.cycle, org.product)
    assert f'hx-get="{product_url}" hx-trigger="toggle once"' in tree
    assert f'href="{product_url}"' in tree  # the same level as a page, without JavaScript
    # Product and Mobile's two objectives are counted on Product's closed row.
    assert re.search(
        r">Product</span>\s*<span class=\"team-counts\">\s*1 objective · 1 below", tree
    )


def test_objective_shows_progress_pace_confidence_and_its_aligned_count(org, login, cascade):
    company = cascade["company"]
    _goal(org, "Also for riders", team=org.sales, owner=org.outsider, parent=company)
    page = _get(login(org.lead), _tree_url(org.cycle))

    _assert_shows(
        page,
        f'href="/objectives/{company.pk}/">Riders for life</a>',
        'aria-valuenow="50"',  # progress 50% …
        'class="bar-expected"',  # … against the expected pace
        'confidence-high" title="Lowest confidence of its key results">7/10',
        "2 aligned objectives",  # in Product and in Sales
        f'hx-get="{_objective_url(org.cycle, company)}"',
    )


def test_confidence_is_the_lowest_of_the_key_results(org, login):
    objective = _goal(org, "Unsure", team=org.company, confidence=8)
    factories.KeyResultFactory(objective=objective, confidence=3)
    page = _get(login(org.lead), _tree_url(org.cycle))
    assert (
        '<span class="confidence confidence-low" title="Lowest confidence of its key results">3/10'
        in page
    )


def test_team_fragment_sends_only_that_teams_level(org, login, cascade):
    response = login(org.lead).get(_team_url(org.cycle, org.product), headers=HTMX)
    fragment = response.content.decode()

    assert "<html" not in fragment
    _assert_shows(fragment, "Delight new riders", "Mobile", "1 aligned objective")
    # Aligned to the company's objective, for its key result.
    _assert_shows(fragment, "aligned to", ">Riders for life</a>", "Grow riders")
    _assert_hides(fragment, "Ship the phone app", "Win the Benelux", ">Sales<")
    assert f'hx-get="{_team_url(org.cycle, cascade["mobile"])}"' in fragment


def test_team_link_without_htmx_opens_a_page_at_that_team(org, login, cascade):
    page = _get(login(org.lead), _team_url(org.cycle, org.product))
    assert "<html" in page
    crumbs = page.split('aria-label="Teams above"')[1].split("</nav>")[0]
    _assert_shows(crumbs, ">Company</a>", '<li aria-current="page">Product</li>')
    _assert_shows(page, "Delight new riders", 'name="team" list="tree-team-options"')
    assert 'value="Product"' in page.split('id="tree-team"')[1].split(">")[0]


def test_team_filter_takes_a_name_as_typed(org, login, cascade):
    client = login(org.lead)
    by_slug = _get(client, _tree_url(org.cycle, "?team=product"))
    by_name = _get(client, _tree_url(org.cycle, "?team=pRoDuct%20"))
    assert "in Product and below" in by_name or "Delight new riders" in by_name
    assert by_name.count("Delight new riders") == by_slug.count("Delight new riders")
    assert "No team is called" not in by_name


def test_team_filter_says_when_no_team_or_several_have_that_name(org, login, cascade):
    client = login(org.lead)
    page = _get(client, _tree_url(org.cycle, "?team=Nowhere"))
    assert "No team is called “Nowhere”" in page and 'aria-invalid="true"' in page
    twin = factories.TeamFactory(name="Product", slug="product-2", parent=org.sales)
    page = _get(client, _tree_url(org.cycle, "?team=product "))  # a slug wins over a name
    assert "Several teams" not in page
    page = _get(client, _tree_url(org.cycle, "?team=Product"))
    assert "Several teams are called “Product”" in page
    assert f"?team={twin.slug}" in page and "Company › Sales › Product" in page


def test_team_filter_never_lists_every_team(org, login, cascade):
    for number in range(40):
        factories.TeamFactory(name=f"Squad {number:02}", parent=org.product)
    page = _get(login(org.lead), _tree_url(org.cycle))
    assert page.count("Squad ") < 20  # the first teams level by level, then as one types
    suggestions = login(org.lead).get(reverse("alignment:team-suggestions"), {"team": "squad 1"})
    html = suggestions.content.decode()
    assert html.count("<option") == 10 and 'value="Squad 10"' in html and "in Product" in html
    assert login(org.lead).get(reverse("alignment:team-suggestions")).content.strip() == b""


def test_team_suggestions_escape_names_and_need_a_sign_in(org, login):
    factories.TeamFactory(name='<script>alert("x")</script>', parent=org.product)
    url = reverse("alignment:team-suggestions")
    html = login(org.lead).get(url, {"team": "script"}).content.decode()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert Client().get(url, {"team": "script"}).status_code == 302


def test_objective_fragment_lists_the_aligned_objectives_of_any_team(org, login, cascade):
    company = cascade["company"]
    other = _goal(org, "Sell to riders", team=org.sales, owner=org.outsider, parent=company)
    url = _objective_url(org.cycle, company)
    fragment = _get(login(org.lead), url, headers=HTMX)

    assert "<html" not in fragment
    _assert_shows(fragment, "Delight new riders", "Sell to riders", ">Product</a>", ">Sales</a>")
    assert "for <q>Grow riders</q>" in fragment  # the key result Product's serves
    assert fragment.count("Grow riders") == 1  # Sales' serves the objective as a whole
    # One level only: Mobile's objective waits behind Product's toggle.
    _assert_hides(fragment, "Ship the phone app", "Riders for life")
    assert f'hx-get="{_objective_url(org.cycle, cascade["product"])}"' in fragment
    assert other.pk


def test_objective_link_without_htmx_opens_a_page_with_its_line_and_aligned(org, login, cascade):
    page = _get(login(org.lead), _objective_url(org.cycle, cascade["product"]))
    assert "<html" in page
    _assert_shows(page, 'aria-label="Aligned under"', ">Riders for life</a>")
    _assert_shows(page, "Delight new riders", "Ship the phone app")


def test_supports_are_shown_apart_and_not_counted(org, login, cascade):
    company = cascade["company"]
    helper = _goal(org, "Train the dealers", team=org.company, owner=org.lead)
    helper.supports.add(company)
    page = _get(login(org.lead), _tree_url(org.cycle))
    _assert_shows(page, 'class="tree-supports">Also supports', ">Riders for life</a></p>")
    assert "1 aligned objective" in page  # Product's only; a support is not aligned


def test_archived_objectives_are_left_out_and_uncounted(org, login, cascade):
    archived = _goal(org, "An old idea", team=org.company, parent=None)
    _goal(org, "Its child", parent=cascade["company"])
    Objective.objects.filter(pk__in=[archived.pk]).update(archived_at=timezone.now())
    Objective.objects.filter(title="Its child").update(archived_at=timezone.now())
    page = _get(login(org.lead), _tree_url(org.cycle))
    _assert_hides(page, "An old idea")
    assert "1 aligned objective" in page


def test_each_list_is_capped_and_the_rest_counted(org, login, settings, monkeypatch):
    monkeypatch.setattr("alignment.tree.NODE_LIMIT", 2)
    for number in range(3):
        _goal(org, f"Company goal {number}", team=org.company)
    page = _get(login(org.lead), _tree_url(org.cycle))
    assert "Company goal 1" in page and "Company goal 2" not in page
    assert "1 more objective" in page


# Filters.


def test_team_filter_opens_the_tree_at_that_team(org, login, cascade):
    page = _get(login(org.lead), _tree_url(org.cycle, "?team=product"))
    tree = page.split('aria-labelledby="root-heading"')[1]
    _assert_shows(tree, ">Product</a></h2>", "Delight new riders", "Mobile")
    _assert_hides(tree, "Win the Benelux", ">Sales<")
    # Switching cycles keeps the filter.
    assert f'href="{_tree_url(org.cycle, "?team=product")}" aria-current="page"' in page


def test_owner_filter_lists_their_objectives_each_with_its_line_to_the_top(org, login, cascade):
    page = _get(login(org.lead), _tree_url(org.cycle, "?owner=teammate"))
    matches = _section(page, "matches-heading")

    _assert_shows(matches, "owned by", "Tia Mate", "Ship the phone app")
    chain = matches.split('aria-label="Aligned under"')[1].split("</ol>")[0]
    assert chain.index("Riders for life") < chain.index("Delight new riders")
    _assert_hides(matches, "Win the Benelux", "root-heading")


def test_owner_filter_with_an_unknown_username_says_so(org, login):
    page = _get(login(org.lead), _tree_url(org.cycle, "?owner=nobody"))
    assert "Nobody has the username “nobody”." in page


def test_attention_filter_lists_objectives_behind_unsure_or_stale(org, login):
    # 45 of 91 days in: 49% expected; more than 25 points behind needs attention.
    _goal(org, "Far behind", progress=0.1)
    _goal(org, "Unsure", progress=0.5, confidence=3)
    stale = _goal(org, "Gone quiet", progress=0.5)
    KeyResult.objects.filter(objective=stale).update(
        last_checkin_at=timezone.now() - dt.timedelta(days=20)
    )
    rollup.refresh_attention([stale.pk])
    _goal(org, "All good", progress=0.45)

    page = _get(login(org.lead), _tree_url(org.cycle, "?attention=1"))
    matches = _section(page, "matches-heading")

    _assert_shows(
        matches,
        "Far behind",
        "39% behind the expected pace",
        "Unsure",
        "Low confidence (3/10)",
        "Gone quiet",
        "A key result is stale",
    )
    _assert_hides(matches, "All good")
    assert matches.index("Far behind") < matches.index("Unsure")  # furthest behind first


def test_filters_answer_htmx_with_the_results_only(org, login, cascade):
    response = login(org.lead).get(_tree_url(org.cycle, "?owner=teammate"), headers=HTMX)
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="results">')
    assert "Ship the phone app" in page


# Visibility.


@pytest.fixture
def secret(org, cascade):
    """Product's private objective under the company's, with a public one under it."""
    secret = _goal(
        org,
        "Secret pricing overhaul",
        visibility=Objective.Visibility.PRIVATE,
        parent=cascade["company"],
        key_result="Secret margin key result",
        progress=0.0,
    )
    below = _goal(org, "Public work below", team=org.product, owner=org.teammate, parent=secret)
    _dependency(org, cascade["sales"], secret, state=Dependency.State.ACCEPTED, needed_in_days=-3)
    return {"secret": secret, "below": below}


def test_outsider_never_sees_a_private_objective(org, login, cascade, secret):
    client = login(org.outsider)
    hidden = ("Secret pricing overhaul", "Secret margin key result")

    top = _get(client, _tree_url(org.cycle))
    _assert_hides(top, *hidden)
    assert "1 aligned objective" in top  # Product's public one only

    team = _get(client, _team_url(org.cycle, org.product), headers=HTMX)
    _assert_hides(team, *hidden)
    _assert_shows(team, "Public work below", "aligned to a private objective")

    children = _get(client, _objective_url(org.cycle, cascade["company"]), headers=HTMX)
    _assert_hides(children, *hidden)
    assert client.get(_objective_url(org.cycle, secret["secret"]), headers=HTMX).status_code == 404
    assert client.get(_objective_url(org.cycle, secret["secret"])).status_code == 404

    owned = _get(client, _tree_url(org.cycle, "?owner=teammate"))
    _assert_hides(owned, *hidden)
    assert "A private objective" in owned.split("Public work below")[0]

    behind = _get(client, _tree_url(org.cycle, "?attention=1"))
    _assert_hides(behind, *hidden)

    gaps = _get(client, _gaps_url(org.cycle))
    _assert_hides(gaps, *hidden)
    risks = _section(gaps, "dependencies-heading")
    _assert_shows(risks, "Win the Benelux", "A private objective")


def test_lead_sees_the_private_objective_everywhere(org, login, cascade, secret):
    client = login(org.lead)
    assert "Secret pricing overhaul" in _get(
        client, _team_url(org.cycle, org.product), headers=HTMX
    )
    assert "Secret pricing overhaul" in _get(
        client, _objective_url(org.cycle, cascade["company"]), headers=HTMX
    )
    owned = _get(client, _tree_url(org.cycle, "?owner=teammate"))
    assert ">Secret pricing overhaul</a>" in owned
    assert "Secret pricing overhaul" in _get(client, _tree_url(org.cycle, "?attention=1"))


# Gaps.


def test_gaps_lists_objectives_not_aligned_while_the_team_above_has_objectives(org, login):
    _goal(org, "Company goal", team=org.company, owner=org.lead)
    _goal(org, "Product stands alone")
    field = factories.TeamFactory(name="Field", slug="field", parent=org.sales)
    _goal(org, "Field goal", team=field, owner=org.outsider)  # Sales has no objectives

    page = _get(login(org.lead), _gaps_url(org.cycle))
    orphans = _section(page, "orphans-heading")

    _assert_shows(orphans, "Product stands alone", "Company</a>")
    _assert_hides(orphans, "Field goal", "Company goal")
    assert "<dt>Not aligned</dt><dd>1</dd>" in page


def test_gaps_lists_company_objectives_and_key_results_nothing_feeds(org, login):
    fed = _goal(org, "Riders for life", team=org.company, owner=org.lead, key_result="Grow riders")
    KeyResult.objects.create(
        objective=fed,
        owner=org.lead,
        title="Cut churn",
        start_value=8,
        target_value=4,
        current_value=8,
        progress_source=KeyResult.ProgressSource.ROLLUP,
    )
    _goal(
        org, "Product work", parent=fed, parent_key_result=fed.key_results.get(title="Grow riders")
    )
    _goal(org, "Lonely goal", team=org.company, owner=org.lead, key_result="Lonely measure")
    _goal(org, "Well fed", team=org.company, owner=org.lead, key_result="Fed measure")
    _goal(
        org,
        "Feeds it",
        team=org.sales,
        owner=org.outsider,
        parent=Objective.objects.get(title="Well fed"),
        parent_key_result=KeyResult.objects.get(title="Fed measure"),
    )

    page = _get(login(org.lead), _gaps_url(org.cycle))
    top = _section(page, "top-heading")

    _assert_shows(
        top,
        "Riders for life",
        "1 objective aligned to it, but none to:",
        "Cut churn",
        "Rolls up from nothing",
        "Lonely goal",
        "Nothing is aligned to it",
        "Lonely measure",
    )
    _assert_hides(top, "Grow riders", "Well fed", "Fed measure")
    assert "with nothing aligned</dt><dd>1 <span" in page


def test_gaps_lists_dependencies_at_risk_and_requests_left_waiting(org, login):
    needing = _goal(org, "Needs firmware", progress=0.3)
    on_pace = _goal(org, "Firmware on pace", team=org.sales, owner=org.outsider, progress=0.6)
    behind = _goal(org, "Firmware behind", team=org.sales, owner=org.outsider, progress=0.05)
    done = _goal(org, "Already done", progress=1.0)
    accepted = Dependency.State.ACCEPTED
    _dependency(org, needing, on_pace, state=accepted, needed_in_days=-2)  # late
    _dependency(org, done, on_pace, state=accepted, needed_in_days=-2)  # late, but done
    _dependency(org, needing, behind, state=accepted, needed_in_days=30)  # provider behind
    fine = _goal(org, "Fine requester")
    _dependency(org, fine, on_pace, state=accepted, needed_in_days=30)
    asked = Dependency.State.REQUESTED
    _dependency(org, needing, on_pace, state=asked, needed_in_days=30, age_days=10)
    _dependency(org, fine, on_pace, state=asked, needed_in_days=30, age_days=2)
    _dependency(org, fine, behind, state=Dependency.State.DECLINED, needed_in_days=-5)

    page = _get(login(org.lead), _gaps_url(org.cycle))
    risks = _section(page, "dependencies-heading")
    waiting = _section(page, "waiting-heading")

    rows = re.findall(r"<tr>.*?</tr>", risks, re.S)[1:]
    assert len(rows) == 2
    _assert_shows(rows[0], "Needs firmware", "Firmware on pace", "Past the date", "at 30%")
    _assert_shows(rows[1], "Needs firmware", "Firmware behind", "Provider:", "behind the expected")
    _assert_hides(risks, "Already done", "Fine requester")
    assert f'href="/objectives/{needing.pk}/"' in rows[0]

    assert len(re.findall(r"<tr>", waiting)) == 2  # the head and one request
    _assert_shows(waiting, "Needs firmware", "1\xa0week, 3\xa0days ago")
    _assert_hides(waiting, "Fine requester")


def test_gaps_team_filter_keeps_to_the_team_and_below(org, login, cascade):
    _goal(org, "Company goal", team=org.company, owner=org.lead)
    _goal(org, "Product alone")
    _goal(org, "Sales alone", team=org.sales, owner=org.outsider)

    page = _get(login(org.lead), _gaps_url(org.cycle, "?team=product"))
    orphans = _section(page, "orphans-heading")
    _assert_shows(orphans, "Product alone")
    _assert_hides(orphans, "Sales alone")
    # The top of a filtered report is the team itself.
    top = _section(page, "top-heading")
    _assert_shows(top, "Product goals without contributors", "Product alone")
    _assert_hides(top, "Riders for life")


# Query budgets: the same number of queries for 20 times the data.


def _grow(org, cascade, count: int) -> None:
    """``count`` more of everything the tree reads: sub-teams of Product and of the
    company, each with objectives aligned to the company's (public and private, with
    several key results) and below those; supports; dependencies late and waiting."""
    company, product = cascade["company"], cascade["product"]
    for _ in range(count):
        sub_team = factories.TeamFactory(parent=org.product)
        factories.TeamFactory(parent=org.company)
        for owner, visibility in ((org.lead, "public"), (org.owner, "private")):
            objective = _goal(
                org,
                "Grown",
                owner=owner,
                visibility=visibility,
                parent=company,
                parent_key_result=company.key_results.first(),
                progress=0.1,
                confidence=3,
            )
            factories.KeyResultFactory(objective=objective, confidence=8)
            objective.supports.add(cascade["sales"])
            below = _goal(org, "Grown below", team=sub_team, owner=org.teammate, parent=product)
            _goal(org, "Further below", team=sub_team, owner=org.teammate, parent=below)
            _goal(org, "Company grown", team=org.company, owner=org.lead)
            _dependency(org, objective, cascade["sales"], state="accepted", needed_in_days=-1)
            _dependency(
                org, cascade["sales"], objective, state="requested", needed_in_days=9, age_days=9
            )


def _count_queries(client, url: str, **kwargs) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **kwargs)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["lead", "admin"])
@pytest.mark.parametrize(
    "page",
    [
        "tree",
        "tree-team-filter",
        "tree-owner",
        "tree-attention",
        "team-fragment",
        "team-page",
        "objective-fragment",
        "objective-page",
        "gaps",
        "gaps-team-filter",
    ],
)
def test_query_count_does_not_grow_with_data(org, login, cascade, persona, page):
    cycle = org.cycle
    requests = {
        "tree": (_tree_url(cycle), {}),
        "tree-team-filter": (_tree_url(cycle, "?team=product"), {}),
        "tree-owner": (_tree_url(cycle, "?owner=owner"), {}),
        "tree-attention": (_tree_url(cycle, "?attention=1"), {}),
        "team-fragment": (_team_url(cycle, org.product), {"headers": HTMX}),
        "team-page": (_team_url(cycle, org.product), {}),
        "objective-fragment": (_objective_url(cycle, cascade["company"]), {"headers": HTMX}),
        "objective-page": (_objective_url(cycle, cascade["company"]), {}),
        "gaps": (_gaps_url(cycle), {}),
        "gaps-team-filter": (_gaps_url(cycle, "?team=product"), {}),
    }
    url, kwargs = requests[page]
    client = login(getattr(org, persona))
    _grow(org, cascade, 1)
    small = _count_queries(client, url, **kwargs)
    _grow(org, cascade, 19)  # 20× the teams, objectives, key results, aligned, dependencies
    large = _count_queries(client, url, **kwargs)
    assert small == large, f"{small} queries with the small organisation, {large} with 20×"
