"""The goals endpoints of the REST API: who reads and writes what, bad input, query
budgets, pagination, filters and archiving."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from goals.access import CLOSED_CYCLE, NOT_YOURS
from goals.models import (
    CONFIDENCE_MESSAGE,
    TARGET_EQUALS_START,
    WEIGHT_MESSAGE,
    Cycle,
    GoalpostChange,
    Initiative,
    KeyResult,
    Kpi,
    KpiReading,
    Objective,
)
from goals.services import GOALPOST_REASON_NEEDED
from tests import factories

API = "/api/v1"
PERSONAS = ["owner", "teammate", "lead", "outsider", "admin"]


@pytest.fixture
def api():
    """``api(user)``: a client signed in as ``user`` (``None``: anonymous)."""

    def _client(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return _client


@pytest.fixture
def goals(org):
    """A public and a private objective of Product (owned by ``owner``), each with a key
    result, and a private objective of Sales."""
    public = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="Riders love onboarding"
    )
    private = factories.ObjectiveFactory(
        cycle=org.cycle,
        team=org.product,
        owner=org.owner,
        title="Quietly fix billing",
        visibility=Objective.Visibility.PRIVATE,
    )
    sales_private = factories.ObjectiveFactory(
        cycle=org.cycle,
        team=org.sales,
        owner=org.outsider,
        title="Win the big account",
        visibility=Objective.Visibility.PRIVATE,
    )
    return {
        "public": public,
        "private": private,
        "sales_private": sales_private,
        "public_kr": factories.KeyResultFactory(objective=public, title="Activation 20 → 60"),
        "private_kr": factories.KeyResultFactory(objective=private, title="Refunds 50 → 10"),
    }


def persona(org, name):
    return getattr(org, name)


def kr_payload(target, **overrides) -> dict:
    data = {
        "objective": target.pk,
        "title": "Weekly riders from 1,000 to 1,500",
        "kind": "number",
        "start_value": "1000",
        "target_value": "1500",
    }
    return {**data, **overrides}


# --- Who reads and who writes ----------------------------------------------------------------


READ = {"owner": 200, "teammate": 200, "lead": 200, "outsider": 200, "admin": 200}
READ_PRIVATE = {**READ, "outsider": 404}
WRITE = {"owner": 200, "teammate": 403, "lead": 200, "outsider": 403, "admin": 200}
WRITE_PRIVATE = {**WRITE, "outsider": 404}


class TestPersonas:
    @pytest.mark.parametrize(
        ("which", "expected"),
        [
            ("public", READ),
            ("private", READ_PRIVATE),
            ("public_kr", READ),
            ("private_kr", READ_PRIVATE),
        ],
    )
    @pytest.mark.parametrize("name", PERSONAS)
    def test_read(self, org, goals, api, which, expected, name):
        row = goals[which]
        endpoint = "key-results" if which.endswith("_kr") else "objectives"
        response = api(persona(org, name)).get(f"{API}/{endpoint}/{row.pk}/")
        assert response.status_code == expected[name]
        if response.status_code == 200:
            assert response.json()["title"] == row.title
        else:
            assert response.json() == {"detail": "Not found."}

    @pytest.mark.parametrize(
        ("which", "expected"),
        [
            ("public", WRITE),
            ("private", WRITE_PRIVATE),
            ("public_kr", WRITE),
            ("private_kr", WRITE_PRIVATE),
        ],
    )
    @pytest.mark.parametrize("name", PERSONAS)
    def test_write(self, org, goals, api, which, expected, name):
        row = goals[which]
        endpoint = "key-results" if which.endswith("_kr") else "objectives"
        response = api(persona(org, name)).patch(
            f"{API}/{endpoint}/{row.pk}/", {"title": "Renamed"}
        )
        assert response.status_code == expected[name]
        row.refresh_from_db()
        if response.status_code == 200:
            assert row.title == "Renamed"
            return
        assert row.title != "Renamed"
        if response.status_code == 403:
            assert response.json() == {"detail": NOT_YOURS}

    @pytest.mark.parametrize("name", PERSONAS)
    def test_lists_hold_what_the_person_may_read(self, org, goals, api, name):
        titles = {
            row["title"]
            for row in api(persona(org, name)).get(f"{API}/objectives/").json()["results"]
        }
        assert goals["public"].title in titles
        assert (goals["private"].title in titles) == (name != "outsider")
        assert (goals["sales_private"].title in titles) == (name in {"outsider", "admin"})
        key_results = api(persona(org, name)).get(f"{API}/key-results/").json()["results"]
        assert (goals["private_kr"].pk in {kr["id"] for kr in key_results}) == (name != "outsider")

    @pytest.mark.parametrize(
        "url",
        [
            "/objectives/",
            "/objectives/{public}/",
            "/key-results/",
            "/cycles/",
            "/initiatives/",
            "/kpis/",
        ],
    )
    def test_anonymous_is_refused(self, goals, api, url):
        response = api().get(API + url.format(public=goals["public"].pk))
        assert response.status_code in {401, 403}
        assert response.json() == {"detail": "Authentication credentials were not provided."}

    def test_outsider_cannot_align_to_a_private_objective_it_cannot_see(self, org, goals, api):
        response = api(org.outsider).post(
            f"{API}/key-results/", kr_payload(goals["private"]), format="json"
        )
        assert response.status_code == 400
        assert "does not exist" in response.json()["objective"][0]
        assert KeyResult.objects.count() == 2

    def test_outsider_gets_the_reason_on_a_public_objective(self, org, goals, api):
        response = api(org.outsider).post(f"{API}/key-results/", kr_payload(goals["public"]))
        assert response.status_code == 403
        assert response.json() == {"detail": NOT_YOURS}
        assert KeyResult.objects.count() == 2

    def test_teammate_creates_objectives_only_for_themselves(self, org, api):
        data = {"title": "Mine", "cycle": org.cycle.pk, "team": org.product.pk}
        client = api(org.teammate)
        response = client.post(f"{API}/objectives/", {**data, "owner": org.owner.pk})
        assert response.status_code == 403
        assert response.json() == {
            "detail": "Only the team's leads can create objectives owned by someone else."
        }
        response = client.post(f"{API}/objectives/", data)
        assert response.status_code == 201
        assert response.json()["owner"] == org.teammate.pk  # defaults to the requester
        assert response.json()["owner_username"] == "teammate"

    def test_moving_an_objective_to_another_team_needs_rights_there(self, org, goals, api):
        response = api(org.owner).patch(
            f"{API}/objectives/{goals['public'].pk}/", {"team": org.sales.pk}
        )
        assert response.status_code == 403
        assert "only in your own teams" in response.json()["detail"]
        goals["public"].refresh_from_db()
        assert goals["public"].team == org.product


class TestClosedCycle:
    @pytest.fixture
    def closed(self, org, goals):
        Cycle.objects.filter(pk=org.cycle.pk).update(
            state=Cycle.State.CLOSED, closed_at=timezone.now()
        )
        return goals

    @pytest.mark.parametrize(
        ("method", "url", "data"),
        [
            ("patch", "/objectives/{public}/", {"title": "Late edit"}),
            ("delete", "/objectives/{public}/", None),
            ("patch", "/key-results/{public_kr}/", {"title": "Late edit"}),
            ("delete", "/key-results/{public_kr}/", None),
            ("post", "/key-results/", "kr"),
            ("post", "/objectives/", "objective"),
        ],
    )
    def test_refuses_writes_with_the_message(self, org, closed, api, method, url, data):
        if data == "kr":
            data = kr_payload(closed["public"])
        elif data == "objective":
            data = {"title": "Late", "cycle": org.cycle.pk, "team": org.product.pk}
        url = API + url.format(public=closed["public"].pk, public_kr=closed["public_kr"].pk)
        response = getattr(api(org.owner), method)(url, data, format="json")
        assert response.status_code == 403
        assert response.json() == {"detail": CLOSED_CYCLE}
        assert Objective.objects.filter(archived_at__isnull=False).count() == 0
        assert not Objective.objects.filter(title="Late").exists()
        assert KeyResult.objects.count() == 2

    def test_admin_still_writes(self, org, closed, api):
        response = api(org.admin).patch(
            f"{API}/objectives/{closed['public'].pk}/", {"title": "Fixed by admin"}
        )
        assert response.status_code == 200


# --- Bad input -------------------------------------------------------------------------------


KR_BAD_INPUT = [
    ({"start_value": "lots"}, "start_value", "Enter a number, such as 12.5."),
    ({"start_value": "NaN"}, "start_value", "not NaN or infinity"),
    ({"target_value": "Infinity"}, "target_value", "not NaN or infinity"),
    ({"target_value": "-inf"}, "target_value", "not NaN or infinity"),
    ({"target_value": 1e40}, "target_value", "no more than 18 digits"),
    ({"target_value": "0.00001"}, "target_value", "no more than 4 decimal places"),
    ({"target_value": None}, "target_value", "may not be null"),
    ({"start_value": "1500"}, "target_value", TARGET_EQUALS_START),
    ({"weight": "-1"}, "weight", WEIGHT_MESSAGE),
    ({"weight": "0"}, "weight", WEIGHT_MESSAGE),
    ({"weight": "12345678"}, "weight", "no more than 6 digits"),
    ({"confidence": 11}, "confidence", CONFIDENCE_MESSAGE),
    ({"confidence": 0}, "confidence", CONFIDENCE_MESSAGE),
    ({"confidence": "7.5"}, "confidence", "valid integer"),
    ({"kind": "vibes"}, "kind", "not a valid choice"),
    ({"title": ""}, "title", "may not be blank"),
    ({"title": None}, "title", "may not be null"),
    ({"title": "x" * 201}, "title", "no more than 200 characters"),
    ({"title": "bad\x00byte"}, "title", "Null characters are not allowed"),
    ({"objective": 999_999}, "objective", "does not exist"),
    ({"objective": 10**30}, "objective", "does not exist"),
    ({"objective": "first"}, "objective", "Incorrect type"),
    ({"objective": True}, "objective", "Incorrect type"),
    ({"objective": 1.5}, "objective", "Incorrect type"),
    ({"owner": 999_999}, "owner", "does not exist"),
    ({"target_value": None, "kind": "percent"}, "target_value", "may not be null"),
]


class TestBadInput:
    @pytest.mark.parametrize(("change", "field", "message"), KR_BAD_INPUT)
    def test_key_result_create(self, org, goals, api, change, field, message):
        data = kr_payload(goals["public"], **change)
        response = api(org.owner).post(f"{API}/key-results/", data, format="json")
        assert response.status_code == 400, response.json()
        assert message in " ".join(response.json()[field])
        assert KeyResult.objects.count() == 2

    def test_key_result_needs_both_ends_unless_a_milestone(self, org, goals, api):
        data = kr_payload(goals["public"])
        del data["start_value"], data["target_value"]
        client = api(org.owner)
        response = client.post(f"{API}/key-results/", data, format="json")
        assert response.status_code == 400
        assert response.json() == {
            "start_value": ["Enter a number: a key result goes from X to Y."],
            "target_value": ["Enter a number: a key result goes from X to Y."],
        }
        response = client.post(f"{API}/key-results/", {**data, "kind": "milestone"})
        assert response.status_code == 201
        assert response.json()["start_value"] == "0.0000"
        assert response.json()["target_value"] == "1.0000"

    def test_a_milestone_goes_from_0_to_1(self, org, goals, api):
        data = kr_payload(goals["public"], kind="milestone", start_value=5, target_value=9)
        response = api(org.owner).post(f"{API}/key-results/", data, format="json")
        assert response.status_code == 400
        assert response.json() == {
            "non_field_errors": ["A milestone goes from 0 (not done) to 1 (done)."]
        }

    def test_json_with_nan_is_refused(self, org, goals, api):
        body = '{"objective": %d, "title": "t", "start_value": NaN, "target_value": 1}'
        response = api(org.owner).post(
            f"{API}/key-results/", body % goals["public"].pk, content_type="application/json"
        )
        assert response.status_code == 400
        assert "JSON parse error" in response.json()["detail"]

    def test_unicode_is_kept(self, org, goals, api):
        title = "Délai de réponse ↓ 50 % — 速い 🚀 مرحبا"
        response = api(org.owner).post(
            f"{API}/key-results/", kr_payload(goals["public"], title=title), format="json"
        )
        assert response.status_code == 201
        assert KeyResult.objects.get(pk=response.json()["id"]).title == title

    def test_key_result_stays_with_its_objective(self, org, goals, api):
        response = api(org.owner).patch(
            f"{API}/key-results/{goals['public_kr'].pk}/", {"objective": goals["private"].pk}
        )
        assert response.status_code == 400
        assert response.json() == {"objective": ["A key result stays with its objective."]}

    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"cycle": "current"}, "cycle", "Incorrect type"),
            ({"cycle": 999_999}, "cycle", "does not exist"),
            ({"cycle": 1.5}, "cycle", "Incorrect type"),
            ({"team": None}, "team", "may not be null"),
            ({"kind": "stretchy"}, "kind", "not a valid choice"),
            ({"visibility": "secret"}, "visibility", "not a valid choice"),
            ({"parent_weight": "-2"}, "parent_weight", WEIGHT_MESSAGE),
            ({"owner": 999_999}, "owner", "does not exist"),
        ],
    )
    def test_objective_create(self, org, api, change, field, message):
        data = {"title": "Onboard", "cycle": org.cycle.pk, "team": org.product.pk, **change}
        response = api(org.owner).post(f"{API}/objectives/", data, format="json")
        assert response.status_code == 400
        assert message in " ".join(response.json()[field])
        assert not Objective.objects.filter(title="Onboard").exists()

    def test_parent_must_be_readable(self, org, goals, api):
        data = {
            "title": "Onboard",
            "cycle": org.cycle.pk,
            "team": org.product.pk,
            "parent": goals["sales_private"].pk,
        }
        response = api(org.owner).post(f"{API}/objectives/", data)
        assert response.status_code == 400
        assert "does not exist" in response.json()["parent"][0]
        assert not Objective.objects.filter(title="Onboard").exists()

    def test_parent_key_result_must_belong_to_the_parent(self, org, goals, api):
        company = factories.ObjectiveFactory(cycle=org.cycle, team=org.company, owner=org.lead)
        data = {
            "title": "Onboard",
            "cycle": org.cycle.pk,
            "team": org.product.pk,
            "parent": company.pk,
            "parent_key_result": goals["public_kr"].pk,
        }
        response = api(org.owner).post(f"{API}/objectives/", data)
        assert response.status_code == 400
        assert response.json() == {
            "parent_key_result": ["Choose a key result of the parent objective."]
        }

    def test_alignment_loop_is_refused(self, org, goals, api):
        child = factories.ObjectiveFactory(
            cycle=org.cycle, team=org.product, owner=org.owner, parent=goals["public"]
        )
        response = api(org.owner).patch(
            f"{API}/objectives/{goals['public'].pk}/", {"parent": child.pk}
        )
        assert response.status_code == 400
        assert response.json() == {
            "parent": ["That objective is aligned below this one: it would make a loop."]
        }
        goals["public"].refresh_from_db()
        assert goals["public"].parent is None

    def test_progress_is_read_only(self, org, goals, api):
        response = api(org.owner).patch(
            f"{API}/objectives/{goals['public'].pk}/", {"progress": 0.9}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["progress"] == 0

    def test_current_value_moves_only_through_check_ins(self, org, goals, api):
        response = api(org.owner).patch(
            f"{API}/key-results/{goals['public_kr'].pk}/", {"current_value": "90"}
        )
        assert response.status_code == 200
        assert response.json()["current_value"] == "0.0000"


class TestGoalposts:
    def test_moving_the_target_in_an_active_cycle_needs_a_reason(self, org, goals, api):
        url = f"{API}/key-results/{goals['public_kr'].pk}/"
        client = api(org.owner)

        response = client.patch(url, {"target_value": "80"})
        assert response.status_code == 400
        assert response.json() == {"reason": [GOALPOST_REASON_NEEDED]}
        goals["public_kr"].refresh_from_db()
        assert goals["public_kr"].target_value == 100
        assert not GoalpostChange.objects.exists()

        response = client.patch(url, {"target_value": "80", "reason": "Budget cut in half"})
        assert response.status_code == 200
        assert response.json()["target_value"] == "80.0000"
        assert "reason" not in response.json()
        change = GoalpostChange.objects.get()
        assert (change.old_value, change.new_value, change.reason, change.changed_by) == (
            100,
            80,
            "Budget cut in half",
            org.owner,
        )

    def test_planning_cycle_needs_no_reason(self, org, goals, api):
        Cycle.objects.filter(pk=org.cycle.pk).update(state=Cycle.State.PLANNING)
        response = api(org.owner).patch(
            f"{API}/key-results/{goals['public_kr'].pk}/", {"target_value": "80"}
        )
        assert response.status_code == 200


# --- Query budgets ---------------------------------------------------------------------------


def list_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": 100})
    assert response.status_code == 200
    return len(queries)


def make_rows(org, n: int) -> None:
    """``n`` objectives, key results, initiatives, KPIs (guarding objectives), cycles and
    readings of one KPI, visible to the lead."""
    kpi = Kpi.objects.filter(name="Watched").first() or factories.KpiFactory(
        team=org.product, name="Watched"
    )
    for _ in range(n):
        objective = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner)
        key_result = factories.KeyResultFactory(objective=objective)
        factories.InitiativeFactory(key_result=key_result)
        factories.KpiFactory(team=org.product).guarded_objectives.add(objective)
        factories.CycleFactory()
        factories.KpiReadingFactory(kpi=kpi)


class TestQueryCounts:
    @pytest.mark.parametrize(
        "endpoint",
        ["objectives", "key-results", "initiatives", "kpis", "cycles", "kpis/{kpi}/readings"],
    )
    @pytest.mark.parametrize("name", ["lead", "admin"])
    def test_lists_cost_the_same_for_3_and_60_rows(self, org, api, endpoint, name):
        client = api(persona(org, name))
        make_rows(org, 3)
        url = f"{API}/{endpoint}/".format(kpi=Kpi.objects.get(name="Watched").pk)
        few = list_queries(client, url)
        make_rows(org, 57)
        assert len(client.get(url, {"page_size": 100}).json()["results"]) >= 60
        assert list_queries(client, url) == few


# --- Pagination, filters and ordering ---------------------------------------------------------


class TestLists:
    def test_pages(self, org, api):
        for _ in range(5):
            factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner)
        client = api(org.owner)
        first = client.get(f"{API}/objectives/", {"page_size": 2}).json()
        assert "count" not in first and first["previous"] is None
        assert len(first["results"]) == 2
        last = client.get(f"{API}/objectives/", {"page_size": 2, "page": 3}).json()
        assert len(last["results"]) == 1
        assert last["next"] is None

    @pytest.mark.parametrize("page", ["-1", "0", "99", "two"])
    def test_a_page_that_does_not_exist_is_404(self, org, goals, api, page):
        response = api(org.owner).get(f"{API}/objectives/", {"page": page})
        assert response.status_code == 404
        assert response.json() == {"detail": "Invalid page."}

    def test_filters(self, org, goals, api):
        other_cycle = factories.CycleFactory(name="2027 Q1", state=Cycle.State.PLANNING)
        aspirational = factories.ObjectiveFactory(
            cycle=other_cycle,
            team=org.sales,
            owner=org.outsider,
            kind=Objective.Kind.ASPIRATIONAL,
            parent=goals["public"],
        )
        client = api(org.admin)

        def ids(**params) -> set[int]:
            response = client.get(f"{API}/objectives/", params)
            assert response.status_code == 200, response.json()
            return {row["id"] for row in response.json()["results"]}

        assert ids(cycle=other_cycle.pk) == {aspirational.pk}
        assert ids(state="planning") == {aspirational.pk}
        assert ids(team=org.sales.pk) == {aspirational.pk, goals["sales_private"].pk}
        assert ids(owner=org.outsider.pk, kind="aspirational") == {aspirational.pk}
        assert ids(parent=goals["public"].pk) == {aspirational.pk}
        assert ids(visibility="private") == {goals["private"].pk, goals["sales_private"].pk}

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"cycle": "current"}, "cycle"),
            ({"cycle": "1.5"}, "cycle"),
            ({"cycle": str(10**30)}, "cycle"),
            ({"team": "-3"}, "team"),
            ({"kind": "stretchy"}, "kind"),
            ({"state": "frozen"}, "state"),
            ({"visibility": "secret"}, "visibility"),
        ],
    )
    def test_bad_filter_values_are_400_naming_the_parameter(self, org, goals, api, params, field):
        response = api(org.owner).get(f"{API}/objectives/", params)
        assert response.status_code == 400
        assert list(response.json()) == [field]

    def test_ordering(self, org, goals, api):
        goals["public"].progress = 0.8
        goals["public"].save()
        client = api(org.owner)
        rows = client.get(f"{API}/objectives/", {"ordering": "-progress"}).json()["results"]
        assert rows[0]["id"] == goals["public"].pk
        rows = client.get(f"{API}/objectives/", {"ordering": "title"}).json()["results"]
        assert [row["title"] for row in rows] == sorted(row["title"] for row in rows)

    def test_pages_of_an_ordering_with_ties_neither_repeat_nor_skip(self, org, api):
        made = [
            factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner).pk
            for _ in range(5)
        ]
        client = api(org.owner)
        seen = [
            row["id"]
            for page in (1, 2, 3)
            for row in client.get(
                f"{API}/objectives/", {"ordering": "-progress", "page_size": 2, "page": page}
            ).json()["results"]
        ]
        assert seen == made

    def test_key_results_filter_by_objective_and_cycle(self, org, goals, api):
        client = api(org.owner)
        rows = client.get(f"{API}/key-results/", {"objective": goals["public"].pk}).json()
        assert [row["id"] for row in rows["results"]] == [goals["public_kr"].pk]
        rows = client.get(f"{API}/key-results/", {"cycle": org.cycle.pk}).json()
        assert len(rows["results"]) == 2


# --- DELETE archives ------------------------------------------------------------------------


class TestArchiving:
    def test_deleting_an_objective_archives_it(self, org, goals, api):
        client = api(org.owner)
        url = f"{API}/objectives/{goals['public'].pk}/"
        assert client.delete(url).status_code == 204
        goals["public"].refresh_from_db()
        assert goals["public"].archived_at is not None
        listed = {row["id"] for row in client.get(f"{API}/objectives/").json()["results"]}
        assert goals["public"].pk not in listed
        archived = client.get(f"{API}/objectives/", {"archived": "true"}).json()["results"]
        assert [row["id"] for row in archived] == [goals["public"].pk]
        assert client.get(url).json()["archived_at"] is not None
        response = client.delete(url)
        assert response.status_code == 403
        assert response.json() == {"detail": "This objective is archived; an admin can restore it."}

    def test_deleting_a_key_result_archives_it_and_rolls_up(self, org, goals, api):
        kept = factories.KeyResultFactory(objective=goals["public"], current_value=100)
        client = api(org.owner)
        client.patch(f"{API}/key-results/{kept.pk}/", {"weight": "1"})  # progress computed
        url = f"{API}/key-results/{goals['public_kr'].pk}/"
        assert client.delete(url).status_code == 204
        goals["public_kr"].refresh_from_db()
        assert goals["public_kr"].archived_at is not None
        assert client.get(f"{API}/objectives/{goals['public'].pk}/").json()["progress"] == 1
        assert client.patch(url, {"title": "Back"}).status_code == 403
        assert KeyResult.objects.filter(pk=goals["public_kr"].pk).exists()

    def test_outsider_cannot_delete(self, org, goals, api):
        client = api(org.outsider)
        assert client.delete(f"{API}/objectives/{goals['public'].pk}/").status_code == 403
        assert client.delete(f"{API}/objectives/{goals['private'].pk}/").status_code == 404
        assert not Objective.objects.filter(archived_at__isnull=False).exists()


# --- Cycles ---------------------------------------------------------------------------------


class TestCycles:
    def test_everyone_reads(self, org, api):
        response = api(org.outsider).get(f"{API}/cycles/")
        assert [row["name"] for row in response.json()["results"]] == ["2026 Q4"]
        assert 0 < response.json()["results"][0]["expected_progress"] < 1

    @pytest.mark.parametrize("name", ["owner", "lead", "outsider"])
    def test_only_admins_write(self, org, api, name):
        data = {"name": "2027 Q1", "start_date": "2027-01-01", "end_date": "2027-03-31"}
        client = api(persona(org, name))
        response = client.post(f"{API}/cycles/", data)
        assert response.status_code == 403
        assert response.json() == {"detail": "Only admins can create or change cycles."}
        response = client.patch(f"{API}/cycles/{org.cycle.pk}/", {"state": "closed"})
        assert response.status_code == 403
        assert not Cycle.objects.filter(name="2027 Q1").exists()

    def test_admin_creates_and_activates(self, org, api):
        client = api(org.admin)
        data = {"name": "2027 Q1", "start_date": "2027-01-01", "end_date": "2027-03-31"}
        response = client.post(f"{API}/cycles/", data)
        assert response.status_code == 201
        assert response.json()["state"] == "planning"
        response = client.patch(f"{API}/cycles/{response.json()['id']}/", {"state": "active"})
        assert response.json()["state"] == "active"

    @pytest.mark.parametrize(
        ("data", "field", "message"),
        [
            ({"end_date": "2026-12-31"}, "end_date", "A cycle must end after it starts."),
            ({"start_date": "next week"}, "start_date", "Date has wrong format"),
            ({"name": "2026 Q4"}, "name", "already exists"),
            ({"state": "frozen"}, "state", "not a valid choice"),
        ],
    )
    def test_bad_input(self, org, api, data, field, message):
        base = {"name": "2027", "start_date": "2027-01-01", "end_date": "2027-12-31"}
        response = api(org.admin).post(f"{API}/cycles/", {**base, **data})
        assert response.status_code == 400
        assert message in response.json()[field][0]
        assert Cycle.objects.count() == 1

    def test_cycles_are_not_deleted(self, org, api):
        response = api(org.admin).delete(f"{API}/cycles/{org.cycle.pk}/")
        assert response.status_code == 405

    def test_a_cycle_closed_through_the_api_records_when_and_by_whom(self, org, api):
        client = api(org.admin)

        client.patch(f"{API}/cycles/{org.cycle.pk}/", {"state": "closed"})
        org.cycle.refresh_from_db()
        closed_at = org.cycle.closed_at

        assert (org.cycle.state, org.cycle.closed_by) == ("closed", org.admin)
        assert closed_at is not None
        # Saved again (renamed) it keeps its closing; reopened by an admin it forgets it.
        client.patch(f"{API}/cycles/{org.cycle.pk}/", {"name": "2026 Q4 (final)"})
        org.cycle.refresh_from_db()
        assert org.cycle.closed_at == closed_at
        client.patch(f"{API}/cycles/{org.cycle.pk}/", {"state": "active"})
        org.cycle.refresh_from_db()
        assert (org.cycle.closed_at, org.cycle.closed_by) == (None, None)


# --- Initiatives ----------------------------------------------------------------------------


class TestInitiatives:
    def test_key_result_owner_adds_one_owned_by_them_by_default(self, org, goals, api):
        key_result = goals["public_kr"]
        key_result.owner = org.teammate
        key_result.save()
        data = {"key_result": key_result.pk, "title": "Redesign the unlock screen"}
        response = api(org.teammate).post(f"{API}/initiatives/", data)
        assert response.status_code == 201
        assert response.json()["owner"] == org.teammate.pk
        assert response.json()["status"] == "planned"

    def test_outsider_is_refused(self, org, goals, api):
        client = api(org.outsider)
        data = {"key_result": goals["public_kr"].pk, "title": "Meddle"}
        response = client.post(f"{API}/initiatives/", data)
        assert response.status_code == 403
        assert response.json() == {"detail": NOT_YOURS}
        data["key_result"] = goals["private_kr"].pk
        response = client.post(f"{API}/initiatives/", data)
        assert response.status_code == 400
        assert "does not exist" in response.json()["key_result"][0]
        assert not Initiative.objects.exists()

    def test_bad_link_and_date(self, org, goals, api):
        data = {"key_result": goals["public_kr"].pk, "title": "x", "link": "not a url"}
        response = api(org.owner).post(f"{API}/initiatives/", {**data, "due_date": "someday"})
        assert response.status_code == 400
        assert set(response.json()) == {"link", "due_date"}

    @pytest.mark.parametrize(
        "link",
        ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>x</script>"],
    )
    def test_a_link_that_would_run_script_is_refused(self, org, goals, api, link):
        data = {"key_result": goals["public_kr"].pk, "title": "x", "link": link}
        response = api(org.owner).post(f"{API}/initiatives/", data)
        assert response.status_code == 400
        assert set(response.json()) == {"link"}
        assert not Initiative.objects.exists()

    def test_update_and_archive(self, org, goals, api):
        initiative = factories.InitiativeFactory(key_result=goals["private_kr"])
        url = f"{API}/initiatives/{initiative.pk}/"
        assert api(org.outsider).get(url).status_code == 404
        assert api(org.teammate).patch(url, {"status": "done"}).status_code == 403
        client = api(org.lead)
        assert client.patch(url, {"status": "done"}).json()["status"] == "done"
        assert client.delete(url).status_code == 204
        initiative.refresh_from_db()
        assert initiative.archived_at is not None
        assert client.get(f"{API}/initiatives/").json()["results"] == []
        assert client.patch(url, {"status": "dropped"}).status_code == 403


# --- KPIs and readings ----------------------------------------------------------------------


def kpi_data(org, **overrides) -> dict:
    data = {
        "team": org.product.pk,
        "name": "Uptime",
        "unit": "%",
        "direction": "higher",
        "green_threshold": "99.9",
        "red_threshold": "99",
    }
    return {**data, **overrides}


class TestKpis:
    def test_member_creates_outsider_is_refused(self, org, goals, api):
        response = api(org.outsider).post(f"{API}/kpis/", kpi_data(org))
        assert response.status_code == 403
        assert response.json() == {
            "detail": "Only the team's members, its leads and admins can change its KPIs."
        }
        data = kpi_data(org, guarded_objectives=[goals["public"].pk])
        response = api(org.teammate).post(f"{API}/kpis/", data, format="json")
        assert response.status_code == 201
        assert response.json()["guarded_objectives"] == [goals["public"].pk]
        assert response.json()["health"] == "unknown"

    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"green_threshold": "98"}, "green_threshold", "must be better than the red one"),
            ({"name": "Existing"}, "name", "already has a KPI with this name"),
            ({"red_threshold": "NaN"}, "red_threshold", "not NaN or infinity"),
            ({"direction": "sideways"}, "direction", "not a valid choice"),
            ({"team": 999_999}, "team", "does not exist"),
        ],
    )
    def test_bad_input(self, org, api, change, field, message):
        factories.KpiFactory(team=org.product, name="Existing")
        response = api(org.owner).post(f"{API}/kpis/", kpi_data(org, **change), format="json")
        assert response.status_code == 400
        assert message in " ".join(response.json()[field])
        assert Kpi.objects.count() == 1

    def test_guarded_objectives_must_be_readable(self, org, goals, api):
        data = kpi_data(org, guarded_objectives=[goals["sales_private"].pk])
        response = api(org.owner).post(f"{API}/kpis/", data, format="json")
        assert response.status_code == 400
        assert "does not exist" in response.json()["guarded_objectives"][0]

    def test_links_the_person_cannot_see_are_kept_and_not_shown(self, org, goals, api):
        kpi = factories.KpiFactory(team=org.sales)
        kpi.guarded_objectives.add(goals["private"])
        url = f"{API}/kpis/{kpi.pk}/"
        assert api(org.outsider).get(url).json()["guarded_objectives"] == []
        response = api(org.outsider).patch(url, {"guarded_objectives": []}, format="json")
        assert response.status_code == 200
        assert set(kpi.guarded_objectives.all()) == {goals["private"]}
        assert api(org.owner).get(url).json()["guarded_objectives"] == [goals["private"].pk]

    def test_delete_archives(self, org, api):
        kpi = factories.KpiFactory(team=org.product)
        client = api(org.owner)
        assert client.delete(f"{API}/kpis/{kpi.pk}/").status_code == 204
        kpi.refresh_from_db()
        assert kpi.archived_at is not None
        assert client.get(f"{API}/kpis/").json()["results"] == []
        assert len(client.get(f"{API}/kpis/", {"archived": "true"}).json()["results"]) == 1


class TestKpiReadings:
    @pytest.fixture
    def kpi(self, org):
        return factories.KpiFactory(team=org.product, name="Uptime")

    def url(self, kpi) -> str:
        return f"{API}/kpis/{kpi.pk}/readings/"

    def test_record_and_list(self, org, kpi, api):
        client = api(org.teammate)
        today = timezone.localdate()
        response = client.post(self.url(kpi), {"read_on": today.isoformat(), "value": "95"})
        assert response.status_code == 201
        assert response.json()["recorded_by"] == org.teammate.pk
        yesterday = (today - dt.timedelta(days=1)).isoformat()
        client.post(self.url(kpi), {"read_on": yesterday, "value": "60"})
        rows = api(org.outsider).get(self.url(kpi)).json()["results"]
        assert [row["value"] for row in rows] == ["95.0000", "60.0000"]  # newest first
        kpi_row = client.get(f"{API}/kpis/{kpi.pk}/").json()
        assert (kpi_row["latest_value"], kpi_row["health"]) == ("95.0000", "green")
        rows = client.get(self.url(kpi), {"read_on_before": yesterday}).json()["results"]
        assert [row["value"] for row in rows] == ["60.0000"]

    def test_future_dates_are_refused(self, org, kpi, api):
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        response = api(org.owner).post(
            self.url(kpi), {"read_on": tomorrow.isoformat(), "value": "95"}
        )
        assert response.status_code == 400
        assert response.json() == {"read_on": ["A reading cannot be dated in the future."]}
        assert not KpiReading.objects.exists()

    def test_one_reading_per_day(self, org, kpi, api):
        factories.KpiReadingFactory(kpi=kpi, read_on=timezone.localdate(), value=Decimal(80))
        response = api(org.owner).post(
            self.url(kpi), {"read_on": timezone.localdate().isoformat(), "value": "95"}
        )
        assert response.status_code == 400
        assert response.json() == {"read_on": ["This KPI already has a reading for that day."]}
        assert KpiReading.objects.get().value == 80

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"value": "Infinity"}, "value"),
            ({"value": 1e40}, "value"),
            ({"read_on": "yesterday"}, "read_on"),
            ({"read_on": "1999-12-31"}, "read_on"),
        ],
    )
    def test_bad_input(self, org, kpi, api, data, field):
        base = {"read_on": timezone.localdate().isoformat(), "value": "95"}
        response = api(org.owner).post(self.url(kpi), {**base, **data}, format="json")
        assert response.status_code == 400
        assert list(response.json()) == [field]

    def test_outsider_reads_but_cannot_record(self, org, kpi, api):
        client = api(org.outsider)
        assert client.get(self.url(kpi)).status_code == 200
        response = client.post(self.url(kpi), {"read_on": "x", "value": "y"})
        assert response.status_code == 403  # refused before the input is read
        assert not KpiReading.objects.exists()

    def test_unknown_kpi_is_404(self, org, api):
        assert api(org.owner).get(f"{API}/kpis/999999/readings/").status_code == 404
