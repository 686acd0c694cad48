"""The objective page and writing goals in the browser (without JavaScript, and as
htmx fragments)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checkins.services import checkin_record
from goals.models import Cycle, GoalpostChange, Initiative, KeyResult, Objective
from tests import factories

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def objective(org):
    objective = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="Riders love onboarding"
    )
    factories.KeyResultFactory(
        objective=objective,
        title="Activation from 20% to 60%",
        start_value=20,
        target_value=60,
        kind=KeyResult.Kind.PERCENT,
        current_value=20,
    )
    return objective


def page(client, objective) -> str:
    response = client.get(reverse("goals:objective", args=[objective.pk]))
    assert response.status_code == 200
    return response.content.decode()


def kr_data(**overrides) -> dict:
    data = {
        "title": "Weekly riders from 1,000 to 1,500",
        "owner": "",
        "kind": "number",
        "unit": "",
        "start_value": "1000",
        "target_value": "1500",
        "weight": "1",
        "progress_source": "checkins",
        "reason": "",
    }
    return {**data, **overrides}


class TestObjectivePage:
    def test_shows_key_results_progress_and_line_of_sight(self, org, login):
        company = factories.ObjectiveFactory(
            cycle=org.cycle, team=org.company, owner=org.lead, title="Be the riders' favourite"
        )
        objective = factories.ObjectiveFactory(
            cycle=org.cycle, team=org.product, owner=org.owner, parent=company, title="Onboard well"
        )
        key_result = factories.KeyResultFactory(
            objective=objective, title="NPS from 20 to 40", start_value=20, target_value=40
        )
        checkin_record(key_result=key_result, author=org.owner, value=Decimal(30), confidence=8)

        html = page(login(org.teammate), objective)

        assert "Be the riders&#x27; favourite" in html  # the line of sight up to the company
        assert "NPS from 20 to 40" in html
        assert 'aria-valuenow="50"' in html
        assert "8/10" in html
        assert "Edit objective" not in html  # a teammate reads but does not write

    def test_owner_sees_edit_controls(self, org, login, objective):
        html = page(login(org.owner), objective)
        assert "Edit objective" in html
        assert "Add key result" in html

    def test_private_objective_answers_404_to_an_outsider(self, org, login, objective):
        Objective.objects.filter(pk=objective.pk).update(visibility="private")
        response = login(org.outsider).get(reverse("goals:objective", args=[objective.pk]))
        assert response.status_code == 404
        assert page(login(org.lead), objective)  # the lead above still reads it

    def test_private_ancestor_is_shown_without_its_title(self, org, login):
        secret = factories.ObjectiveFactory(
            cycle=org.cycle,
            team=org.product,
            owner=org.lead,
            title="Secret plan",
            visibility="private",
        )
        child = factories.ObjectiveFactory(
            cycle=org.cycle, team=org.sales, owner=org.outsider, parent=secret, title="Sell it"
        )
        html = page(login(org.outsider), child)
        assert "Secret plan" not in html
        assert "A private objective" in html

    def test_history_shows_who_changed_what(self, org, login, objective):
        client = login(org.owner)
        client.post(
            reverse("goals:objective-edit", args=[objective.pk]),
            {
                "title": "Riders adore onboarding",
                "description": "",
                "team": org.product.pk,
                "owner": "owner",
                "cycle": org.cycle.pk,
                "kind": "committed",
                "visibility": "public",
            },
        )
        history = reverse("goals:objective-history", args=[objective.pk])
        assert f'hx-get="{history}"' in page(client, objective)  # loaded when scrolled to
        for html in (client.get(history, **HTMX), client.get(history)):
            html = html.content.decode()
            assert "Riders love onboarding" in html and "Riders adore onboarding" in html
            assert "Olu Owner" in html

    def test_history_of_a_private_objective_is_not_found_by_others(self, org, login):
        secret = factories.ObjectiveFactory(
            cycle=org.cycle, team=org.product, owner=org.owner, visibility="private"
        )
        history = reverse("goals:objective-history", args=[secret.pk])
        assert login(org.outsider).get(history, **HTMX).status_code == 404
        assert login(org.teammate).get(history, **HTMX).status_code == 200

    def test_query_count_does_not_grow_with_key_results_initiatives_and_children(
        self, org, login, objective
    ):
        client = login(org.lead)

        def grow(times: int) -> None:
            for _ in range(times):
                key_result = factories.KeyResultFactory(objective=objective, owner=org.teammate)
                factories.InitiativeFactory(key_result=key_result)
                checkin_record(
                    key_result=key_result, author=org.teammate, value=Decimal(5), confidence=6
                )
                factories.ObjectiveFactory(cycle=org.cycle, team=org.product, parent=objective)

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                page(client, objective)
            return len(queries)

        grow(1)
        small = count()
        grow(19)
        assert count() == small


class TestCreateObjective:
    def form_data(self, org, **overrides) -> dict:
        data = {
            "title": "Make renting a bike effortless",
            "description": "",
            "team": org.product.pk,
            "owner": "owner",
            "cycle": org.cycle.pk,
            "kind": "committed",
            "visibility": "public",
            "kr-TOTAL_FORMS": "3",
            "kr-INITIAL_FORMS": "0",
            "kr-MIN_NUM_FORMS": "0",
            "kr-MAX_NUM_FORMS": "10",
        }
        rows = [
            kr_data(title="Rentals a week from 200 to 400", start_value="200", target_value="400"),
            kr_data(
                title="Cancel rate from 12% to 6%",
                kind="percent",
                start_value="12",
                target_value="6",
            ),
            kr_data(title="Damage claims from 30 to 10", start_value="30", target_value="10"),
        ]
        for index, row in enumerate(rows):
            data.update({f"kr-{index}-{key}": value for key, value in row.items()})
        return {**data, **overrides}

    def test_creates_objective_with_three_key_results_one_decreasing(self, org, login):
        response = login(org.owner).post(reverse("goals:objective-create"), self.form_data(org))
        objective = Objective.objects.get(title="Make renting a bike effortless")
        assert response.status_code == 302
        assert response.url == reverse("goals:objective", args=[objective.pk])
        key_results = list(objective.key_results.order_by("position"))
        assert [kr.title for kr in key_results] == [
            "Rentals a week from 200 to 400",
            "Cancel rate from 12% to 6%",
            "Damage claims from 30 to 10",
        ]
        assert all(
            kr.owner == org.owner and kr.current_value == kr.start_value for kr in key_results
        )
        assert key_results[1].target_value < key_results[1].start_value

    def test_a_bad_row_keeps_everything_typed_and_saves_nothing(self, org, login):
        data = self.form_data(org, **{"kr-1-target_value": "12", "kr-2-start_value": "NaN"})
        response = login(org.owner).post(reverse("goals:objective-create"), data)
        html = response.content.decode()
        assert response.status_code == 200
        assert "The target must differ from the start value." in html
        assert "Enter a number." in html
        assert 'value="Make renting a bike effortless"' in html
        assert 'value="Rentals a week from 200 to 400"' in html
        assert not Objective.objects.filter(title="Make renting a bike effortless").exists()

    def test_objective_needs_a_key_result(self, org, login):
        data = self.form_data(org)
        for index in range(3):
            for key in kr_data():
                data[f"kr-{index}-{key}"] = kr_data(
                    title="", start_value="", target_value="", weight="1"
                )[key]
        response = login(org.owner).post(reverse("goals:objective-create"), data)
        assert "Add at least one key result" in response.content.decode()
        assert not Objective.objects.exists()

    def test_member_cannot_create_in_another_team_or_for_someone_else(self, org, login):
        client = login(org.owner)
        html = client.post(
            reverse("goals:objective-create"), self.form_data(org, team=org.sales.pk)
        ).content.decode()
        assert "You can create objectives only in your own teams" in html
        html = client.post(
            reverse("goals:objective-create"), self.form_data(org, owner="teammate")
        ).content.decode()
        assert "Only the team&#x27;s leads can create objectives owned by someone else." in html
        assert not Objective.objects.exists()

    def test_lead_creates_for_a_report_and_unknown_owner_is_explained(self, org, login):
        client = login(org.lead)
        html = client.post(
            reverse("goals:objective-create"), self.form_data(org, owner="nobody")
        ).content.decode()
        assert "No active person has that username." in html
        client.post(reverse("goals:objective-create"), self.form_data(org, owner="teammate"))
        assert Objective.objects.get().owner == org.teammate

    def test_closed_cycle_is_not_offered_and_refused(self, org, login):
        closed = factories.CycleFactory(name="2026 Q3", state=Cycle.State.CLOSED)
        response = login(org.owner).post(
            reverse("goals:objective-create"), self.form_data(org, cycle=closed.pk)
        )
        assert "Select a valid choice" in response.content.decode()
        assert not Objective.objects.exists()

    def test_starting_from_a_red_kpi_prefills_the_baseline(self, org, login):
        kpi = factories.KpiFactory(
            team=org.product, name="Uptime", unit="%", green_threshold=99, red_threshold=97
        )
        factories.KpiReadingFactory(kpi=kpi, value=Decimal("95.5"))
        kpi.latest_value = Decimal("95.5")
        kpi.save()
        html = (
            login(org.owner)
            .get(reverse("goals:objective-create") + f"?kpi={kpi.pk}")
            .content.decode()
        )
        assert 'value="Bring Uptime back to green"' in html
        assert 'name="kr-0-start_value" value="95.5"' in html
        assert 'name="kr-0-target_value" value="99"' in html
        assert f'name="kpi" value="{kpi.pk}"' in html

    def test_an_objective_started_from_a_kpi_is_guarded_by_it(self, org, login):
        kpi = factories.KpiFactory(team=org.product)
        login(org.owner).post(
            reverse("goals:objective-create"), self.form_data(org, kpi=str(kpi.pk))
        )
        assert list(kpi.guarded_objectives.values_list("title", flat=True)) == [
            "Make renting a bike effortless"
        ]


class TestKeyResultsInPlace:
    def test_add_a_key_result_as_a_fragment(self, org, login, objective):
        response = login(org.owner).post(
            reverse("goals:key-result-create", args=[objective.pk]), kr_data(), **HTMX
        )
        html = response.content.decode()
        key_result = objective.key_results.get(title="Weekly riders from 1,000 to 1,500")
        assert f'id="key-result-{key_result.pk}"' in html
        assert 'hx-swap-oob="true"' in html  # the objective's progress follows
        assert "<html" not in html

    def test_invalid_key_result_comes_back_with_the_message_and_the_values(
        self, org, login, objective
    ):
        response = login(org.owner).post(
            reverse("goals:key-result-create", args=[objective.pk]),
            kr_data(start_value="5", target_value="5", weight="-1"),
            **HTMX,
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert "The target must differ from the start value." in html or (
            "The weight must be greater than zero." in html
        )
        assert 'value="Weekly riders from 1,000 to 1,500"' in html
        assert objective.key_results.count() == 1

    @pytest.mark.parametrize("value", ["1e30", "inf", "abc", ""])
    def test_absurd_or_empty_values_are_refused_beside_the_field(
        self, org, login, objective, value
    ):
        response = login(org.owner).post(
            reverse("goals:key-result-create", args=[objective.pk]),
            kr_data(target_value=value),
            **HTMX,
        )
        assert 'class="errorlist' in response.content.decode()
        assert objective.key_results.count() == 1

    def test_moving_a_target_in_an_active_cycle_needs_a_reason_shown_on_the_page(
        self, org, login, objective
    ):
        key_result = objective.key_results.get()
        client = login(org.owner)
        url = reverse("goals:key-result-edit", args=[key_result.pk])
        data = kr_data(title=key_result.title, kind="percent", start_value="20", target_value="70")
        html = client.post(url, data, **HTMX).content.decode()
        assert "say why the baseline or target changes" in html
        key_result.refresh_from_db()
        assert key_result.target_value == 60

        client.post(url, {**data, "reason": "Marketing doubled the budget"}, **HTMX)
        key_result.refresh_from_db()
        assert key_result.target_value == 70
        change = GoalpostChange.objects.get()
        assert (change.old_value, change.new_value, change.changed_by) == (60, 70, org.owner)
        assert "Marketing doubled the budget" in page(client, objective)

    def test_reorder_and_archive(self, org, login, objective):
        second = factories.KeyResultFactory(objective=objective, title="Second", position=1)
        client = login(org.owner)
        client.post(reverse("goals:key-result-move", args=[second.pk]), {"direction": "up"})
        assert list(objective.key_results.order_by("position").values_list("title", flat=True)) == [
            "Second",
            "Activation from 20% to 60%",
        ]
        response = client.post(reverse("goals:key-result-archive", args=[second.pk]), **HTMX)
        assert "Second" not in response.content.decode()
        second.refresh_from_db()
        assert second.archived_at is not None  # archived, not deleted

    def test_archiving_the_unsure_key_result_clears_the_low_confidence_at_once(
        self, org, login, objective
    ):
        unsure = factories.KeyResultFactory(objective=objective, title="Unsure", confidence=2)
        client = login(org.owner)
        assert "low confidence (2/10)" in page(client, objective)
        response = client.post(reverse("goals:key-result-archive", args=[unsure.pk]), **HTMX)
        assert "low confidence (2/10)" not in response.content.decode()

    @staticmethod
    def add_initiative(client, key_result, **fields):
        prefix = f"initiative-{key_result.pk}"
        data = {f"{prefix}-{name}": value for name, value in fields.items()}
        return client.post(reverse("goals:initiative-create", args=[key_result.pk]), data, **HTMX)

    def test_add_an_initiative_defaults_to_the_key_results_owner(self, org, login, objective):
        key_result = objective.key_results.get()
        response = self.add_initiative(
            login(org.owner),
            key_result,
            title="Redesign the first ride",
            owner="",
            status="planned",
            due_date="",
            link="example.org/brief",
        )
        assert "Redesign the first ride" in response.content.decode()
        initiative = Initiative.objects.get()
        assert initiative.owner == org.owner
        assert initiative.link == "https://example.org/brief"

    def test_initiative_with_a_bad_date_shows_the_message(self, org, login, objective):
        response = self.add_initiative(
            login(org.owner),
            objective.key_results.get(),
            title="Redesign",
            status="planned",
            due_date="31/31/2026",
        )
        assert "Enter a valid date." in response.content.decode()
        assert not Initiative.objects.exists()

    def test_the_initiative_form_loads_when_opened(self, org, login, objective):
        """The page carries a link per key result, not a form: the form comes when the
        person opens "Add an initiative" (htmx), or as a page of its own without it."""
        key_result = objective.key_results.get()
        client = login(org.owner)
        url = reverse("goals:initiative-create", args=[key_result.pk])
        html = page(client, objective)
        assert f'hx-get="{url}"' in html and f'href="{url}"' in html
        assert f"initiative-{key_result.pk}-title" not in html
        inline = client.get(url, **HTMX).content.decode()
        assert f'name="initiative-{key_result.pk}-title"' in inline
        assert "<html" not in inline
        whole = client.get(url).content.decode()
        assert "Add an initiative to" in whole
        assert f'name="initiative-{key_result.pk}-title"' in whole

    def test_the_initiative_form_is_refused_to_a_reader(self, org, login, objective):
        key_result = objective.key_results.get()
        url = reverse("goals:initiative-create", args=[key_result.pk])
        assert login(org.outsider).get(url, **HTMX).status_code == 403


class TestCoach:
    def test_live_hints_while_writing(self, org, login):
        response = login(org.owner).post(
            reverse("goals:coach-objective"),
            {
                "title": "Grow",
                "team": org.product.pk,
                "cycle": org.cycle.pk,
                "kr-TOTAL_FORMS": "1",
                "kr-0-title": "Launch the referral programme",
                "kr-0-start_value": "",
                "kr-0-target_value": "",
            },
        )
        html = response.content.decode()
        assert "1 key result: add at least 2." in html
        assert "reads like an activity" in html
        assert "Say where it starts and where it should end." in html

    def test_report_lists_hints_by_team(self, org, login, objective):
        html = login(org.lead).get(reverse("goals:coach-report", args=[org.cycle.pk])).content
        assert "1 key result: add at least 2." in html.decode()
        assert "Product" in html.decode()


def test_coach_report_calls_a_team_timid_from_its_past_grades(org, login, objective):
    past = factories.CycleFactory(
        name="2026 Q3",
        start_date=dt.date(2026, 7, 1),
        end_date=dt.date(2026, 9, 30),
        state=Cycle.State.CLOSED,
    )
    old = factories.ObjectiveFactory(cycle=past, team=org.product, owner=org.owner)
    # Progress says nothing here: the grades are what the team gave itself.
    factories.KeyResultFactory.create_batch(4, objective=old, grade=Decimal("1.0"))

    html = login(org.lead).get(reverse("goals:coach-report", args=[org.cycle.pk])).content

    assert "targets may be too timid" in html.decode()


@pytest.mark.parametrize(
    "url_name", ["goals:coach-report", "goals:objective-create"], ids=["coach", "create"]
)
def test_query_count_of_coach_report_and_create_form_does_not_grow(org, login, url_name):
    client = login(org.lead)
    url = (
        reverse(url_name, args=[org.cycle.pk])
        if url_name == "goals:coach-report"
        else reverse(url_name)
    )

    def grow(times: int) -> None:
        for _ in range(times):
            team = factories.TeamFactory(parent=org.product)
            objective = factories.ObjectiveFactory(cycle=org.cycle, team=team)
            factories.KeyResultFactory.create_batch(2, objective=objective)
            factories.MembershipFactory(team=org.product)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    grow(1)
    small = count()
    grow(19)
    assert count() == small


def test_htmx_request_after_the_session_ended_sends_the_browser_to_login(client, org):
    objective = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner)
    url = reverse("goals:objective", args=[objective.pk])
    response = client.get(
        url, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{url}"
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/login/?next={url}"


def test_a_milestone_needs_no_numbers_and_letters_in_numbers_are_explained(org, login):
    objective = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner)
    client = login(org.owner)
    url = reverse("goals:key-result-create", args=[objective.pk])
    client.post(
        url, kr_data(title="SOC 2 report signed", kind="milestone", start_value="", target_value="")
    )
    milestone = objective.key_results.get()
    assert (milestone.start_value, milestone.target_value) == (0, 1)

    html = client.post(url, kr_data(start_value="4e", target_value=""), **HTMX).content.decode()
    assert "Enter a number." in html
    assert "Enter a number: a key result goes from X to Y." in html
    assert objective.key_results.count() == 1


def test_edit_form_shows_values_as_typed(org, login):
    key_result = factories.KeyResultFactory(
        objective=factories.ObjectiveFactory(cycle=org.cycle, owner=org.owner),
        start_value=Decimal("92.5"),
        target_value=Decimal(98),
    )
    html = login(org.owner).get(reverse("goals:key-result-edit", args=[key_result.pk]))
    assert 'value="92.5"' in html.content.decode()
    assert 'value="98"' in html.content.decode()
