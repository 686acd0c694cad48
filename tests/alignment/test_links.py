"""The links of one objective in the browser: aligning it, cascading from a key result,
supports and dependencies; who may do what; and what each page costs in queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alignment.links import objective_links
from alignment.models import Membership
from checkins.services import checkin_record
from goals import services
from goals.models import Cycle, Dependency, KeyResult, Objective
from tests import factories

HTMX = {"HTTP_HX_REQUEST": "true"}
PERSONAS = ["owner", "teammate", "lead", "outsider", "admin"]
OK = "ok"
# Expected answer to a write on the owner's objective (in Product), per persona, when
# the objective is public, private, or in a closed cycle.
WRITE = {
    "public": {"owner": OK, "teammate": 403, "lead": OK, "outsider": 403, "admin": OK},
    "private": {"owner": OK, "teammate": 403, "lead": OK, "outsider": 404, "admin": OK},
    "closed": {"owner": 403, "teammate": 403, "lead": 403, "outsider": 403, "admin": OK},
}
# Answering a request that a Sales objective made of Product: Product's people answer;
# a private Sales objective is out of their sight.
RESPOND = {
    "public": {"owner": OK, "teammate": OK, "lead": OK, "outsider": 403, "admin": OK},
    "private": {"owner": 404, "teammate": 404, "lead": 404, "outsider": 403, "admin": OK},
    "closed": {"owner": 403, "teammate": 403, "lead": 403, "outsider": 403, "admin": OK},
}


def objective_in(org, team, *, owner=None, cycle=None, **fields) -> Objective:
    return factories.ObjectiveFactory(
        cycle=cycle or org.cycle, team=team, owner=owner or org.owner, **fields
    )


def section(user, objective: Objective) -> str:
    """The links section as the objective page shows it."""
    links = objective_links(user, objective)
    return render_to_string("alignment/_links.html", {"objective": objective, "links": links})


def text(response) -> str:
    return response.content.decode()


def other_cycle(**fields) -> Cycle:
    start = timezone.localdate() + dt.timedelta(days=200)
    defaults = {"start_date": start, "end_date": start + dt.timedelta(days=90)}
    return factories.CycleFactory(**{**defaults, **fields})


@pytest.fixture
def objective(org) -> Objective:
    return objective_in(org, org.product, title="Riders love onboarding")


@pytest.fixture
def company_goal(org) -> Objective:
    goal = objective_in(org, org.company, owner=org.admin, title="Riders recommend us")
    factories.KeyResultFactory(
        objective=goal,
        title="Departments reach their targets",
        progress_source=KeyResult.ProgressSource.ROLLUP,
    )
    factories.KeyResultFactory(objective=goal, title="NPS from 30 to 45")
    return goal


# --- Aligning ---------------------------------------------------------------------------


class TestAlign:
    def url(self, objective) -> str:
        return reverse("alignment:align", args=[objective.pk])

    def test_picker_offers_this_team_then_the_teams_above_and_leaves_out_loops(
        self, org, login, objective, company_goal
    ):
        sibling = objective_in(org, org.product, title="Ship the new map")
        child = objective_in(org, org.product, title="Child goal", parent=objective)
        objective_in(org, org.product, title="Grandchild goal", parent=child)
        objective_in(org, org.sales, owner=org.outsider, title="Sell more bikes")
        objective_in(org, org.company, cycle=other_cycle(), title="Next year's plan")

        html = text(login(org.owner).get(self.url(objective)))

        assert html.index(sibling.title) < html.index(company_goal.title)  # nearest first
        assert "the company" in html
        assert "Child goal" not in html and "Grandchild goal" not in html  # would loop
        assert "Next year" not in html  # its cycle does not overlap
        assert "Sell more bikes" not in html  # other teams: through the search
        assert f'name="parent" value="{objective.pk}"' not in html  # never itself
        assert "No parent" in html

    def test_search_finds_other_visible_objectives_without_javascript(self, org, login, objective):
        objective_in(org, org.sales, owner=org.outsider, title="Sell more bikes")
        objective_in(
            org, org.sales, owner=org.outsider, title="Sell secretly", visibility="private"
        )

        html = text(login(org.owner).get(self.url(objective), {"q": "sell"}))

        assert "Sell more bikes" in html
        assert "Sell secretly" not in html

    def test_search_leaves_out_what_is_already_offered_first(self, org, login, objective):
        objective_in(org, org.product, title="Ship the new map")

        html = text(login(org.owner).get(self.url(objective), {"q": "map"}))

        assert html.count("Ship the new map") == 1
        assert "No other objective you can see matches “map”" in html

    def test_search_fragment_is_capped_and_says_so(self, org, login, objective):
        for number in range(35):
            objective_in(org, org.sales, owner=org.outsider, title=f"Sell bikes {number}")

        response = login(org.owner).get(
            self.url(objective), {"q": "sell"}, HTTP_HX_TARGET="parent-results", **HTMX
        )

        html = text(response)
        assert "<html" not in html
        assert html.count('name="parent"') == 30
        assert "Showing the first 30" in html

    def test_picking_a_parent_offers_its_key_results(self, org, login, objective, company_goal):
        response = login(org.owner).get(
            self.url(objective),
            {"parent": company_goal.pk},
            HTTP_HX_TARGET="key-result-choices",
            **HTMX,
        )

        html = text(response)
        assert html.startswith('\n<div id="key-result-choices">')
        assert "Departments reach their targets" in html and "NPS from 30 to 45" in html
        assert "The objective as a whole" in html

    def test_aligning_to_a_roll_up_key_result_counts_the_objective(
        self, org, login, objective, company_goal
    ):
        factories.KeyResultFactory(objective=objective, current_value=Decimal(40), progress=0.4)
        services.objective_save(objective=objective)  # progress 40%
        served = company_goal.key_results.get(title="Departments reach their targets")

        response = login(org.owner).post(
            self.url(objective),
            {
                "parent": company_goal.pk,
                "parent_key_result": served.pk,
                "parent_weight": "2",
                "key_results_for": company_goal.pk,
            },
            follow=True,
        )

        objective.refresh_from_db()
        served.refresh_from_db()
        assert (objective.parent, objective.parent_key_result) == (company_goal, served)
        assert objective.parent_weight == Decimal(2)
        assert served.progress == pytest.approx(0.4)
        assert "now counts towards “Riders recommend us”" in text(response)

    def test_without_javascript_a_new_parent_shows_its_key_results_before_saving(
        self, org, login, objective, company_goal
    ):
        client = login(org.owner)
        data = {"parent": company_goal.pk, "parent_key_result": "", "parent_weight": "1"}

        first = client.post(self.url(objective), data)

        assert first.status_code == 200
        assert "choose the one this objective serves" in text(first)
        objective.refresh_from_db()
        assert objective.parent is None
        second = client.post(self.url(objective), {**data, "key_results_for": company_goal.pk})
        assert second.status_code == 302
        objective.refresh_from_db()
        assert objective.parent == company_goal and objective.parent_key_result is None

    def test_a_loop_is_refused_with_the_models_message_beside_the_field(
        self, org, login, objective
    ):
        child = objective_in(org, org.product, title="Child", parent=objective)
        grandchild = objective_in(org, org.product, title="Grandchild", parent=child)

        response = login(org.owner).post(
            self.url(objective),
            {"parent": grandchild.pk, "parent_weight": "1", "key_results_for": grandchild.pk},
        )

        assert response.status_code == 200
        html = text(response)
        assert "That objective is aligned below this one: it would make a loop." in html
        assert 'class="field-errors"' in html
        objective.refresh_from_db()
        assert objective.parent is None

    def test_a_parent_in_a_cycle_that_does_not_overlap_is_refused(self, org, login, objective):
        later = objective_in(org, org.company, cycle=other_cycle(name="2027 Q3"), title="Later")

        response = login(org.owner).post(
            self.url(objective),
            {"parent": later.pk, "parent_weight": "1", "key_results_for": later.pk},
        )

        assert "The parent is in 2027 Q3, which does not overlap 2026 Q4." in text(response)
        objective.refresh_from_db()
        assert objective.parent is None

    def test_ids_the_person_cannot_see_or_that_do_not_fit_are_refused(
        self, org, login, objective, company_goal
    ):
        secret = objective_in(
            org, org.sales, owner=org.outsider, title="Secret", visibility="private"
        )
        foreign_kr = factories.KeyResultFactory(objective=secret)
        cases = [
            ({"parent": secret.pk}, "No objective you can see has that number"),
            ({"parent": "abc"}, "No objective you can see has that number"),
            (
                {"parent": company_goal.pk, "parent_key_result": foreign_kr.pk},
                "Choose a key result of the parent objective.",
            ),
            ({"parent": company_goal.pk, "parent_weight": "0"}, "greater than zero"),
            ({"parent": company_goal.pk, "parent_weight": "lots"}, "Enter a number."),
        ]
        client = login(org.owner)
        for data, message in cases:
            response = client.post(
                self.url(objective),
                {"parent_weight": "1", "key_results_for": company_goal.pk, **data},
            )
            assert response.status_code == 200
            assert message in text(response), data
        objective.refresh_from_db()
        assert objective.parent is None

    def test_no_parent_unaligns(self, org, login, company_goal):
        served = company_goal.key_results.get(title="Departments reach their targets")
        aligned = objective_in(org, org.product, parent=company_goal, parent_key_result=served)

        response = login(org.owner).post(self.url(aligned), {"parent": "", "parent_weight": "1"})

        assert response.status_code == 302
        aligned.refresh_from_db()
        assert aligned.parent is None and aligned.parent_key_result is None

    def test_a_private_parent_the_owner_cannot_see_is_kept_unnamed(self, org, login):
        secret = objective_in(
            org, org.sales, owner=org.outsider, title="Secret plan", visibility="private"
        )
        objective = objective_in(org, org.product, parent=secret)

        html = text(login(org.owner).get(self.url(objective)))

        assert "Secret plan" not in html
        assert "Keep the current parent" in html


# --- Supports ----------------------------------------------------------------------------


class TestSupports:
    def url(self, objective) -> str:
        return reverse("alignment:supports", args=[objective.pk])

    def test_owner_adds_a_supported_objective_found_by_search(self, org, login, objective):
        helped = objective_in(org, org.sales, owner=org.outsider, title="Sell more bikes")
        client = login(org.owner)

        search = text(client.get(self.url(objective), {"q": "bikes"}))
        response = client.post(self.url(objective), {"add": helped.pk}, follow=True)

        assert "Sell more bikes" in search
        assert list(objective.supports.all()) == [helped]
        assert "never counted" in text(response)

    def test_both_sides_show_the_link_and_say_it_is_never_counted(self, org, objective):
        helped = objective_in(org, org.sales, owner=org.outsider, title="Sell more bikes")
        objective.supports.add(helped)

        mine, theirs = section(org.owner, objective), section(org.outsider, helped)

        assert "Helps" in mine and "Sell more bikes" in mine
        assert "Helped by" in theirs and "Riders love onboarding" in theirs
        assert "shown, never counted" in mine

    def test_removing_in_place_returns_the_section_and_keeps_links_the_person_cannot_see(
        self, org, login, objective
    ):
        helped = objective_in(org, org.sales, owner=org.outsider, title="Sell more bikes")
        secret = objective_in(org, org.sales, owner=org.outsider, visibility="private")
        objective.supports.add(helped, secret)

        response = login(org.owner).post(self.url(objective), {"remove": helped.pk}, **HTMX)

        html = text(response)
        assert html.lstrip().startswith('<section class="card links" id="links"')
        assert "no longer lists “Sell more bikes”" in html
        assert list(objective.supports.all()) == [secret]

    def test_refused_additions_say_why_and_change_nothing(self, org, login, objective):
        later = objective_in(org, org.sales, cycle=other_cycle(name="2027 Q3"), title="Later")
        secret = objective_in(org, org.sales, owner=org.outsider, visibility="private")
        client = login(org.owner)
        cases = [
            (later.pk, "which does not overlap 2026 Q4"),
            (objective.pk, "An objective cannot support itself."),
            (secret.pk, "No objective you can see has that number"),
            ("", "Pick an objective to add or remove."),
        ]
        for pk, message in cases:
            response = client.post(self.url(objective), {"add": pk})
            assert response.status_code == 200
            assert message in text(response), pk
        assert not objective.supports.exists()


# --- Cascading from a key result --------------------------------------------------------


@pytest.fixture
def mobile(org):
    """A team below Product, led by someone who does not lead Product."""
    team = factories.TeamFactory(name="Mobile", slug="mobile", parent=org.product)
    mona = factories.UserFactory(username="mona", first_name="Mona", last_name="Mobile")
    factories.MembershipFactory(user=mona, team=team, role=Membership.Role.LEAD)
    return team


@pytest.fixture
def key_result(objective) -> KeyResult:
    return factories.KeyResultFactory(
        objective=objective,
        title="Activation from 20% to 60%",
        start_value=20,
        target_value=60,
        current_value=30,
        progress=0.25,
    )


def kr_row(index: int, **fields) -> dict:
    row = {
        "title": "Sign-ups finished on mobile from 40% to 70%",
        "owner": "",
        "kind": "percent",
        "unit": "",
        "start_value": "40",
        "target_value": "70",
        "weight": "1",
        "progress_source": "checkins",
    }
    return {f"kr-{index}-{name}": value for name, value in {**row, **fields}.items()}


def blank_row(index: int) -> dict:
    """A key result row left as the browser sends it untouched."""
    return kr_row(index, title="", kind="number", start_value="", target_value="")


def cascade_data(team, /, **overrides) -> dict:
    data = {
        "title": "Mobile onboarding that converts",
        "description": "",
        "team": team.pk,
        "owner": "",
        "kind": "committed",
        "visibility": "public",
        "parent_weight": "1",
        "kr-TOTAL_FORMS": "2",
        "kr-INITIAL_FORMS": "0",
        "kr-MIN_NUM_FORMS": "0",
        "kr-MAX_NUM_FORMS": "10",
        **blank_row(0),
        **blank_row(1),
    }
    return {**data, **overrides}


class TestCascade:
    def url(self, key_result) -> str:
        return reverse("alignment:cascade", args=[key_result.pk])

    def test_form_is_prefilled_for_the_sub_team_and_its_lead(self, org, login, mobile, key_result):
        html = text(login(org.lead).get(self.url(key_result)))

        assert 'value="Activation from 20% to 60%"' in html
        assert f'<option value="{mobile.pk}" selected>' in html
        assert 'value="mona"' in html
        assert "Take this key result’s progress from the objectives aligned to it" in html

    def test_owner_field_follows_the_team(self, org, login, mobile, key_result):
        response = login(org.lead).get(
            self.url(key_result), {"team": org.product.pk}, HTTP_HX_TARGET="owner-field", **HTMX
        )

        html = text(response)
        assert html.strip().startswith('<div id="owner-field">')
        assert 'value="lead"' in html

    def test_creates_a_linked_child_with_key_results_owned_by_the_teams_lead(
        self, org, login, mobile, key_result
    ):
        response = login(org.lead).post(
            self.url(key_result), {**cascade_data(mobile), **kr_row(0)}, follow=True
        )

        child = Objective.objects.get(title="Mobile onboarding that converts")
        assert (child.parent, child.parent_key_result) == (key_result.objective, key_result)
        assert (child.team, child.owner.username, child.cycle) == (mobile, "mona", org.cycle)
        assert child.key_results.get().title == "Sign-ups finished on mobile from 40% to 70%"
        assert "now serves “Activation from 20% to 60%”" in text(response)
        key_result.refresh_from_db()
        assert key_result.progress_source == KeyResult.ProgressSource.CHECKINS

    def test_the_roll_up_switch_makes_the_key_result_follow_the_child(
        self, org, login, mobile, key_result
    ):
        login(org.lead).post(
            self.url(key_result), {**cascade_data(mobile, rollup="on"), **kr_row(0)}
        )
        child = Objective.objects.get(parent_key_result=key_result)
        key_result.refresh_from_db()
        assert key_result.progress_source == KeyResult.ProgressSource.ROLLUP
        assert key_result.progress == 0  # the child has not moved yet

        checkin_record(
            key_result=child.key_results.get(), author=child.owner, value=Decimal(55), confidence=7
        )

        key_result.refresh_from_db()
        key_result.objective.refresh_from_db()
        assert key_result.progress == pytest.approx(0.5)
        assert key_result.objective.progress == pytest.approx(0.5)

    def test_key_results_are_optional(self, org, login, mobile, key_result):
        response = login(org.lead).post(self.url(key_result), cascade_data(mobile))

        assert response.status_code == 302
        assert not Objective.objects.get(parent_key_result=key_result).key_results.exists()

    def test_a_sub_team_lead_cascades_into_their_team_only(self, org, login, mobile, key_result):
        mona = mobile.memberships.get().user
        client = login(mona)

        html = text(client.get(self.url(key_result)))
        refused = client.post(self.url(key_result), cascade_data(org.product, owner="mona"))
        allowed = client.post(self.url(key_result), cascade_data(mobile, rollup="on"))

        assert "Take this key result’s progress" not in html  # not hers to switch
        assert "Choose one of the teams in the list." in text(refused)
        assert allowed.status_code == 302
        child = Objective.objects.get(parent_key_result=key_result)
        assert child.owner == mona
        key_result.refresh_from_db()
        assert key_result.progress_source == KeyResult.ProgressSource.CHECKINS

    def test_a_member_cascades_for_themselves_but_not_for_others(self, org, login, key_result):
        client = login(org.owner)

        refused = client.post(
            self.url(key_result), cascade_data(org.product, owner="teammate", title="For Tia")
        )
        allowed = client.post(self.url(key_result), cascade_data(org.product, title="For me"))

        assert "Only the team&#x27;s leads can create objectives owned by someone else." in text(
            refused
        )
        assert not Objective.objects.filter(title="For Tia").exists()
        assert allowed.status_code == 302
        assert Objective.objects.get(title="For me").owner == org.owner

    def test_bad_input_is_shown_beside_the_field_and_nothing_is_created(
        self, org, login, mobile, key_result
    ):
        client = login(org.lead)
        cases = [
            (cascade_data(mobile, title=""), "This field is required."),
            (cascade_data(mobile, team="9999"), "Choose one of the teams in the list."),
            (cascade_data(mobile, owner="nobody"), "No active person has that username."),
            (cascade_data(mobile, parent_weight="0"), "greater than zero"),
            ({**cascade_data(mobile), **kr_row(0, target_value="40")}, "must differ"),
        ]
        for data, message in cases:
            response = client.post(self.url(key_result), data)
            assert response.status_code == 200
            assert message in text(response), data
        assert not Objective.objects.filter(parent_key_result=key_result).exists()

    def test_archived_key_result_cannot_be_cascaded(self, org, login, key_result):
        services.key_result_archive(key_result=key_result)
        response = login(org.lead).get(self.url(key_result))
        assert response.status_code == 403
        assert "archived" in text(response)


# --- Dependencies -----------------------------------------------------------------------


@pytest.fixture
def delivering(org) -> Objective:
    goal = objective_in(org, org.sales, owner=org.outsider, title="Dealers stock spare parts")
    factories.KeyResultFactory(
        objective=goal, current_value=Decimal(60), progress=0.6, confidence=8
    )
    services.objective_save(objective=goal)  # 60%: on pace
    return goal


def ask(objective, team, *, needed_by=None, by=None, description="Spare batteries") -> Dependency:
    return services.dependency_request(
        requesting_objective=objective,
        providing_team=team,
        description=description,
        needed_by=needed_by or timezone.localdate() + dt.timedelta(days=14),
        actor=by or objective.owner,
    )


def agreed(objective, team, deliverer=None, *, by) -> Dependency:
    """A request of ``team`` that ``by`` accepted, naming ``deliverer``."""
    return services.dependency_respond(
        dependency=ask(objective, team, by=objective.owner),
        accept=True,
        note="",
        actor=by,
        providing_objective=deliverer,
    )


def answer(client, dependency, decision, **fields):
    prefix = f"answer-{dependency.pk}"
    data = {f"{prefix}-decision": decision}
    data.update({f"{prefix}-{name}": value for name, value in fields.items()})
    return client.post(reverse("alignment:dependency-respond", args=[dependency.pk]), data)


class TestDependencies:
    def test_lifecycle_request_accept_shown_on_both_sides(self, org, login, objective, delivering):
        needed = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
        owner = login(org.owner)
        response = owner.post(
            reverse("alignment:dependency-request", args=[objective.pk]),
            {"providing_team": org.sales.pk, "description": "Spare batteries", "needed_by": needed},
            follow=True,
        )
        assert "Asked Sales for it by" in text(response)
        dependency = Dependency.objects.get()

        pending = section(org.outsider, objective)
        assert "Answer for Sales" in pending and "Dealers stock spare parts" in pending
        assert "Answer for Sales" not in section(org.owner, objective)
        assert "Withdraw" in section(org.owner, objective)

        response = answer(
            login(org.outsider), dependency, "accept", providing_objective=delivering.pk
        )
        assert response.status_code == 302
        dependency.refresh_from_db()
        assert dependency.state == Dependency.State.ACCEPTED
        assert dependency.providing_objective == delivering

        asking, providing = section(org.owner, objective), section(org.outsider, delivering)
        assert "Needs from other teams" in asking and "Delivered by" in asking
        assert "Dealers stock spare parts" in asking
        assert "Delivers to other teams" in providing and "Riders love onboarding" in providing
        assert "dependency-flagged" not in asking + providing

    def test_accepted_dependency_is_flagged_when_the_deliverer_is_at_risk(
        self, org, objective, delivering
    ):
        agreed(objective, org.sales, delivering, by=org.outsider)
        KeyResult.objects.filter(objective=delivering).update(confidence=3)

        asking, providing = section(org.owner, objective), section(org.outsider, delivering)

        assert "At risk: “Dealers stock spare parts”" in asking
        assert "low confidence (3/10)" in asking
        assert "At risk: this objective" in providing
        assert "dependency-flagged" in asking and "dependency-flagged" in providing

    def test_accepted_dependency_is_flagged_when_late_and_not_done(
        self, org, objective, delivering
    ):
        dependency = agreed(objective, org.sales, delivering, by=org.outsider)
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        Dependency.objects.filter(pk=dependency.pk).update(needed_by=yesterday)

        assert "Late: needed by" in section(org.owner, objective)
        Objective.objects.filter(pk=delivering.pk).update(progress=1.0)
        assert "Late: needed by" not in section(org.owner, objective)  # delivered

    def test_declining_needs_a_note_beside_the_field(self, org, login, objective):
        dependency = ask(objective, org.sales)
        client = login(org.outsider)

        refused = answer(client, dependency, "decline", response_note="  ")
        htmx = client.post(
            reverse("alignment:dependency-respond", args=[dependency.pk]),
            {f"answer-{dependency.pk}-decision": "decline"},
            **HTMX,
        )

        assert "Say why you decline, so they can plan." in text(refused)
        assert "Say why you decline, so they can plan." in text(htmx)
        assert 'id="links"' in text(htmx)
        dependency.refresh_from_db()
        assert dependency.state == Dependency.State.REQUESTED
        declined = answer(client, dependency, "decline", response_note="No stock until March")
        assert declined.status_code == 302
        dependency.refresh_from_db()
        assert dependency.state == Dependency.State.DECLINED
        assert "“No stock until March”" in section(org.owner, objective)

    def test_a_second_answer_is_refused_with_a_message(self, org, login, objective):
        dependency = ask(objective, org.sales)
        client = login(org.outsider)
        answer(client, dependency, "accept")

        response = answer(client, dependency, "decline", response_note="Changed our mind")

        assert "This request was already accepted." in text(client.get(response.url))
        dependency.refresh_from_db()
        assert dependency.state == Dependency.State.ACCEPTED

    def test_delivering_objective_must_be_the_asked_teams(self, org, login, objective):
        dependency = ask(objective, org.sales)
        product_goal = objective_in(org, org.product, title="Not Sales's")

        response = answer(
            login(org.admin), dependency, "accept", providing_objective=product_goal.pk
        )

        assert "Choose one of Sales’s objectives" in text(response)
        dependency.refresh_from_db()
        assert dependency.state == Dependency.State.REQUESTED

    def test_requester_withdraws_a_pending_request_but_not_an_answered_one(
        self, org, login, objective
    ):
        pending, answered = ask(objective, org.sales), agreed(objective, org.sales, by=org.admin)
        client = login(org.owner)

        client.post(reverse("alignment:dependency-withdraw", args=[pending.pk]))
        refused = client.post(
            reverse("alignment:dependency-withdraw", args=[answered.pk]), follow=True
        )

        pending.refresh_from_db()
        answered.refresh_from_db()
        assert pending.state == Dependency.State.WITHDRAWN
        assert answered.state == Dependency.State.ACCEPTED
        assert "This request was already accepted." in text(refused)
        assert "Spare batteries" in section(org.owner, objective)  # the accepted one

    def test_bad_requests_say_why_beside_the_field_and_save_nothing(self, org, login, objective):
        url = reverse("alignment:dependency-request", args=[objective.pk])
        tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
        valid = {"providing_team": org.sales.pk, "description": "Spares", "needed_by": tomorrow}
        cases = [
            ({"description": "   "}, "Say what you need."),
            ({"needed_by": "31/31/2026"}, "Enter a valid date."),
            ({"needed_by": "2020-01-01"}, "That date has passed"),
            ({"providing_team": "9999"}, "Choose a team from the list."),
            ({"providing_team": org.product.pk}, "Choose a team from the list."),  # its own
        ]
        client = login(org.owner)
        for change, message in cases:
            response = client.post(url, {**valid, **change})
            assert response.status_code == 200
            assert message in text(response), change
        assert not Dependency.objects.exists()


# --- Who may do what ---------------------------------------------------------------------


@pytest.fixture(params=["public", "private", "closed"])
def case(request, org):
    """The owner's objective (public, private, or in a closed cycle) with what each write
    needs: a key result, a parent, an objective to support, and requests both ways."""
    kind = request.param
    closed = factories.CycleFactory(name="2026 Q3", state=Cycle.State.CLOSED)
    cycle = closed if kind == "closed" else org.cycle
    visibility = "private" if kind == "private" else "public"
    target = objective_in(org, org.product, cycle=cycle, title="Guarded", visibility=visibility)
    key_result = factories.KeyResultFactory(objective=target, title="Guarded KR")
    parent = objective_in(org, org.product, cycle=cycle, owner=org.lead, title="A parent")
    helped = objective_in(org, org.product, cycle=cycle, owner=org.lead, title="Helped")
    asking = objective_in(
        org, org.sales, cycle=cycle, owner=org.outsider, title="Asks", visibility=visibility
    )
    # Requests made while the cycle was open.
    request_of_sales = ask(target, org.sales, description="From Sales")
    request_of_product = ask(asking, org.product, description="From Product")
    return kind, {
        "objective": target,
        "key_result": key_result,
        "parent": parent,
        "helped": helped,
        "to_sales": request_of_sales,
        "to_product": request_of_product,
    }


def snapshot() -> tuple:
    return (
        tuple(
            Objective.objects.order_by("pk").values_list(
                "pk", "title", "parent", "parent_key_result", "parent_weight"
            )
        ),
        tuple(Objective.supports.through.objects.values_list("from_objective", "to_objective")),
        tuple(Dependency.objects.order_by("pk").values_list("pk", "state", "response_note")),
        tuple(KeyResult.objects.order_by("pk").values_list("pk", "progress_source")),
    )


def writes(org, rows) -> list[tuple[str, str, dict]]:
    """(name, url, data) of every write on the owner's objective and its key result."""
    objective, key_result = rows["objective"], rows["key_result"]
    needed = (timezone.localdate() + dt.timedelta(days=7)).isoformat()
    return [
        (
            "align",
            reverse("alignment:align", args=[objective.pk]),
            {
                "parent": rows["parent"].pk,
                "parent_weight": "1",
                "key_results_for": rows["parent"].pk,
            },
        ),
        (
            "add support",
            reverse("alignment:supports", args=[objective.pk]),
            {"add": rows["helped"].pk},
        ),
        (
            "ask",
            reverse("alignment:dependency-request", args=[objective.pk]),
            {"providing_team": org.sales.pk, "description": "Spares", "needed_by": needed},
        ),
        ("withdraw", reverse("alignment:dependency-withdraw", args=[rows["to_sales"].pk]), {}),
        (
            "cascade",
            reverse("alignment:cascade", args=[key_result.pk]),
            cascade_data(org.product, title="Cascaded", rollup="on"),
        ),
    ]


@pytest.mark.parametrize("persona", PERSONAS)
def test_writes_are_allowed_or_refused_and_refused_ones_change_nothing(org, login, case, persona):
    kind, rows = case
    client = login(getattr(org, persona))
    expected = WRITE[kind][persona]
    for name, url, data in writes(org, rows):
        before = snapshot()
        page = client.get(url) if name in ("align", "ask", "cascade") else None
        response = client.post(url, data)
        if expected == OK:
            assert response.status_code == 302, f"{persona} should {name}: {text(response)[:300]}"
            assert page is None or page.status_code == 200
            continue
        assert response.status_code == expected, f"{persona} may not {name}"
        assert page is None or page.status_code == expected, f"{persona} may not see {name}"
        assert snapshot() == before, f"{persona}'s refused {name} changed something"
        if expected == 403:
            assert "You can’t do that here" in text(response)


@pytest.mark.parametrize("persona", PERSONAS)
def test_answering_is_for_the_asked_team(org, login, case, persona):
    kind, rows = case
    dependency = rows["to_product"]
    before = snapshot()

    response = answer(login(getattr(org, persona)), dependency, "decline", response_note="No")

    expected = RESPOND[kind][persona]
    if expected == OK:
        assert response.status_code == 302
        dependency.refresh_from_db()
        assert dependency.state == Dependency.State.DECLINED
    else:
        assert response.status_code == expected
        assert snapshot() == before


def test_a_lead_of_a_team_below_may_cascade_but_not_align(org, login, mobile, key_result):
    mona = login(mobile.memberships.get().user)
    objective = key_result.objective
    assert mona.get(reverse("alignment:cascade", args=[key_result.pk])).status_code == 200
    assert mona.get(reverse("alignment:align", args=[objective.pk])).status_code == 403
    assert objective_links(mobile.memberships.get().user, objective).can_cascade
    assert not objective_links(org.teammate, objective).can_cascade


def test_get_is_refused_where_only_post_makes_sense(org, login, objective):
    dependency = ask(objective, org.sales)
    client = login(org.owner)
    for name in ("dependency-respond", "dependency-withdraw"):
        assert client.get(reverse(f"alignment:{name}", args=[dependency.pk])).status_code == 405


def test_anonymous_visitors_are_sent_to_sign_in(client, org, objective, key_result):
    dependency = ask(objective, org.sales)
    urls = [
        reverse("alignment:align", args=[objective.pk]),
        reverse("alignment:supports", args=[objective.pk]),
        reverse("alignment:cascade", args=[key_result.pk]),
        reverse("alignment:dependency-request", args=[objective.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response.url, url
    for name in ("dependency-respond", "dependency-withdraw"):
        response = client.post(reverse(f"alignment:{name}", args=[dependency.pk]))
        assert response.status_code == 302 and "/login/" in response.url


# --- Query counts ------------------------------------------------------------------------


def queries_of(action) -> int:
    with CaptureQueriesContext(connection) as queries:
        action()
    return len(queries)


def test_links_section_costs_the_same_with_twenty_times_the_links(org, objective):
    parent = objective_in(org, org.company, owner=org.admin)
    served = factories.KeyResultFactory(objective=parent)
    Objective.objects.filter(pk=objective.pk).update(parent=parent, parent_key_result=served)
    objective = Objective.objects.select_related("cycle", "team", "owner").get(pk=objective.pk)

    def grow(times: int) -> None:
        for _ in range(times):
            helped = objective_in(org, org.sales, owner=org.outsider)
            helper = objective_in(org, org.sales, owner=org.outsider)
            objective.supports.add(helped)
            helper.supports.add(objective)
            factories.KeyResultFactory(objective=helped, confidence=3)
            ask(objective, org.product, by=org.owner)  # pending, the lead may answer
            agreed(objective, org.sales, helped, by=org.admin)
            agreed(helper, org.product, objective, by=org.admin)

    grow(1)
    small = queries_of(lambda: section(org.lead, objective))
    grow(19)
    html = section(org.lead, objective)
    assert html.count("Answer for Product") == 20
    assert html.count("At risk: “") == 20  # what it needs, from helpers low on confidence
    assert html.count("At risk: this objective") == 20  # what it delivers, itself behind
    assert queries_of(lambda: section(org.lead, objective)) == small
    assert small <= 9


@pytest.mark.parametrize("route", ["align", "cascade", "supports", "dependency-request"])
def test_pages_cost_the_same_with_twenty_times_the_data(org, login, objective, route):
    key_result = factories.KeyResultFactory(objective=objective)
    client = login(org.lead)
    pk = key_result.pk if route == "cascade" else objective.pk
    url = reverse(f"alignment:{route}", args=[pk])

    def grow(times: int) -> None:
        for number in range(times):
            team = factories.TeamFactory(parent=org.product)
            factories.MembershipFactory(team=team, role=Membership.Role.LEAD)
            parent = objective_in(org, org.company, owner=org.admin, title=f"Goal {number}")
            factories.KeyResultFactory(objective=parent)
            objective_in(org, org.sales, owner=org.outsider, title=f"Goal of sales {number}")
            objective_in(org, org.product, parent=objective, title=f"Below {number}")

    grow(1)
    small = queries_of(lambda: client.get(url, {"q": "goal"}))
    grow(19)
    response = client.get(url, {"q": "goal"})
    assert response.status_code == 200
    assert queries_of(lambda: client.get(url, {"q": "goal"})) == small
