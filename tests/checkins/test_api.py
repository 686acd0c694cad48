"""The check-ins endpoint of the REST API: who reads and adds what, the same write path
as the check-in page (roll-up included), bad input, filters and query budgets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from checkins.models import CheckIn
from checkins.services import checkin_record
from goals.access import CLOSED_CYCLE
from goals.models import CONFIDENCE_MESSAGE, Cycle, KeyResult, Objective
from tests import factories

URL = "/api/v1/check-ins/"


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
    """Product's public and private objectives (owned by ``owner``) with a key result
    each, and a check-in on each."""
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
    public_kr = factories.KeyResultFactory(objective=public, title="Activation 0 → 100")
    private_kr = factories.KeyResultFactory(objective=private, title="Refunds 0 → 100")
    return {
        "public": public,
        "private": private,
        "public_kr": public_kr,
        "private_kr": private_kr,
        "public_checkin": checkin_record(
            key_result=public_kr, author=org.owner, value=Decimal(10), confidence=7
        ),
        "private_checkin": checkin_record(
            key_result=private_kr,
            author=org.owner,
            value=Decimal(20),
            confidence=4,
            blocker="Waiting for the billing vendor",
        ),
    }


def listed(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- Reading -------------------------------------------------------------------------------


class TestRead:
    def test_fields(self, org, goals, api):
        checkin = goals["private_checkin"]
        response = api(org.teammate).get(f"{URL}{checkin.pk}/")
        assert response.status_code == 200
        assert response.json() == {
            "id": checkin.pk,
            "key_result": goals["private_kr"].pk,
            "value": "20.0000",
            "confidence": 4,
            "note": "",
            "blocker": "Waiting for the billing vendor",
            "author": org.owner.pk,
            "created_at": response.json()["created_at"],
            "corrects": None,
        }

    @pytest.mark.parametrize(
        ("name", "sees_private"),
        [("owner", True), ("teammate", True), ("lead", True), ("admin", True), ("outsider", False)],
    )
    def test_list_holds_the_check_ins_of_readable_objectives(
        self, org, goals, api, name, sees_private
    ):
        expected = {goals["public_checkin"].pk}
        if sees_private:
            expected.add(goals["private_checkin"].pk)
        assert listed(api(getattr(org, name)).get(URL)) == expected

    def test_outsider_gets_404_on_a_private_check_in(self, org, goals, api):
        response = api(org.outsider).get(f"{URL}{goals['private_checkin'].pk}/")
        assert response.status_code == 404
        assert "billing" not in response.content.decode()

    def test_anonymous_is_refused(self, goals, api):
        response = api().get(URL)
        assert response.status_code in (401, 403)
        assert "results" not in response.json()


# --- Checking in ---------------------------------------------------------------------------


class TestCreate:
    def test_owner_checks_in_and_progress_rolls_up(self, org, goals, api):
        key_result = goals["public_kr"]
        objective_before = Objective.objects.get(pk=goals["public"].pk).progress
        response = api(org.owner).post(
            URL,
            {"key_result": key_result.pk, "value": "55.5", "confidence": 8, "note": "Good week"},
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["author"] == org.owner.pk
        assert body["value"] == "55.5000"
        assert body["corrects"] is None
        checkin = CheckIn.objects.get(pk=body["id"])
        assert (checkin.note, checkin.confidence) == ("Good week", 8)
        key_result.refresh_from_db()
        assert key_result.current_value == Decimal("55.5")
        assert key_result.confidence == 8
        assert key_result.progress == pytest.approx(0.555)
        assert key_result.last_checkin_at == checkin.created_at
        objective = Objective.objects.get(pk=goals["public"].pk)
        assert objective.progress != objective_before
        assert objective.progress == pytest.approx(0.555)

    def test_the_author_is_the_person_signed_in(self, org, goals, api):
        response = api(org.lead).post(
            URL,
            {"key_result": goals["public_kr"].pk, "value": 3, "confidence": 5, "author": 1},
        )
        assert response.status_code == 201
        assert response.json()["author"] == org.lead.pk

    def test_teammate_gets_the_reason(self, org, goals, api):
        response = api(org.teammate).post(
            URL, {"key_result": goals["public_kr"].pk, "value": 30, "confidence": 5}
        )
        assert response.status_code == 403
        assert response.json() == {
            "detail": "Only the key result's owner and the objective's writers can check in."
        }
        assert CheckIn.objects.count() == 2

    def test_owner_of_the_key_result_checks_in_on_someone_elses_objective(self, org, goals, api):
        key_result = factories.KeyResultFactory(objective=goals["public"], owner=org.teammate)
        response = api(org.teammate).post(
            URL, {"key_result": key_result.pk, "value": 1, "confidence": 9}
        )
        assert response.status_code == 201

    @pytest.mark.parametrize("key_result", ["private", "missing"])
    def test_a_key_result_the_person_cannot_read_does_not_exist(self, org, goals, api, key_result):
        pk = goals["private_kr"].pk if key_result == "private" else 987654
        response = api(org.outsider).post(URL, {"key_result": pk, "value": 1, "confidence": 5})
        assert response.status_code == 400
        assert response.json() == {"key_result": ["No such key result."]}

    def test_closed_cycle_refuses_with_the_message(self, org, goals, api):
        Cycle.objects.filter(pk=org.cycle.pk).update(
            state=Cycle.State.CLOSED, closed_at=timezone.now()
        )
        response = api(org.owner).post(
            URL, {"key_result": goals["public_kr"].pk, "value": 30, "confidence": 5}
        )
        assert response.status_code == 403
        assert response.json() == {"detail": CLOSED_CYCLE}

    def test_rolled_up_key_result_takes_no_check_in(self, org, goals, api):
        KeyResult.objects.filter(pk=goals["public_kr"].pk).update(
            progress_source=KeyResult.ProgressSource.ROLLUP
        )
        response = api(org.owner).post(
            URL, {"key_result": goals["public_kr"].pk, "value": 30, "confidence": 5}
        )
        assert response.status_code == 403
        assert "rolls up" in response.json()["detail"]

    def test_archived_key_result_takes_no_check_in(self, org, goals, api):
        KeyResult.objects.filter(pk=goals["public_kr"].pk).update(archived_at=timezone.now())
        response = api(org.owner).post(
            URL, {"key_result": goals["public_kr"].pk, "value": 30, "confidence": 5}
        )
        assert response.status_code == 403
        assert response.json() == {"detail": "This key result is archived."}

    def test_a_milestone_is_0_or_1(self, org, goals, api):
        milestone = factories.KeyResultFactory(
            objective=goals["public"],
            kind=KeyResult.Kind.MILESTONE,
            start_value=Decimal(0),
            target_value=Decimal(1),
        )
        client = api(org.owner)
        response = client.post(URL, {"key_result": milestone.pk, "value": 5, "confidence": 5})
        assert response.status_code == 400
        assert response.json() == {"value": ["A milestone is either done (1) or not done (0)."]}
        done = client.post(URL, {"key_result": milestone.pk, "value": 1, "confidence": 9})
        assert done.status_code == 201
        milestone.refresh_from_db()
        assert milestone.progress == 1.0

    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"value": "NaN"}, "value", "not NaN or infinity"),
            ({"value": "Infinity"}, "value", "not NaN or infinity"),
            ({"value": "-inf"}, "value", "not NaN or infinity"),
            ({"value": "ten"}, "value", "Enter a number, such as 12.5."),
            ({"value": "1" * 15}, "value", "no more than 14 digits before the decimal point"),
            ({"value": "1.23456"}, "value", "no more than 4 decimal places"),
            ({"value": None}, "value", "may not be null"),
            ({"value": True}, "value", "Enter a number, such as 12.5."),
            ({"confidence": 0}, "confidence", CONFIDENCE_MESSAGE),
            ({"confidence": 11}, "confidence", CONFIDENCE_MESSAGE),
            ({"confidence": 2**70}, "confidence", CONFIDENCE_MESSAGE),
            ({"confidence": "high"}, "confidence", CONFIDENCE_MESSAGE),
            ({"confidence": 7.5}, "confidence", CONFIDENCE_MESSAGE),
            ({"key_result": "abc"}, "key_result", "whole number"),
            ({"key_result": 1.5}, "key_result", "whole number"),
            ({"key_result": [1]}, "key_result", "whole number"),
            ({"key_result": 2**70}, "key_result", "No such key result."),
            ({"key_result": None}, "key_result", "may not be null"),
            ({"note": "nul \x00 byte"}, "note", "Null characters are not allowed."),
        ],
    )
    def test_bad_input_is_400_naming_the_field(self, org, goals, api, change, field, message):
        data = {"key_result": goals["public_kr"].pk, "value": "12", "confidence": 6, **change}
        response = api(org.owner).post(URL, data, format="json")
        assert response.status_code == 400, response.content
        assert list(response.json()) == [field]
        assert message in response.json()[field][0]
        assert CheckIn.objects.count() == 2

    def test_a_lone_surrogate_is_400(self, org, goals, api):
        # Valid JSON that no database can store as text.
        body = '{"key_result": %d, "value": "1", "confidence": 5, "blocker": "\\ud800"}'
        response = api(org.owner).post(
            URL, body % goals["public_kr"].pk, content_type="application/json"
        )
        assert response.status_code == 400
        assert list(response.json()) == ["blocker"]

    @pytest.mark.parametrize("missing", ["key_result", "value", "confidence"])
    def test_required_fields(self, org, goals, api, missing):
        data = {"key_result": goals["public_kr"].pk, "value": "12", "confidence": 6}
        del data[missing]
        response = api(org.owner).post(URL, data)
        assert response.status_code == 400
        assert response.json() == {missing: ["This field is required."]}

    def test_unicode_and_decreasing_targets(self, org, goals, api):
        churn = factories.KeyResultFactory(
            objective=goals["public"], start_value=Decimal(8), target_value=Decimal(4)
        )
        response = api(org.owner).post(
            URL,
            {"key_result": churn.pk, "value": "6", "confidence": 6, "note": "Churn ↓ 🎉 Ünïcode"},
        )
        assert response.status_code == 201
        assert response.json()["note"] == "Churn ↓ 🎉 Ünïcode"
        churn.refresh_from_db()
        assert churn.progress == pytest.approx(0.5)

    def test_malformed_json_is_400(self, org, goals, api):
        response = api(org.owner).post(URL, "{not json", content_type="application/json")
        assert response.status_code == 400
        assert "JSON parse error" in response.json()["detail"]

    @pytest.mark.parametrize("method", ["put", "patch", "delete"])
    def test_history_is_append_only(self, org, goals, api, method):
        checkin = goals["public_checkin"]
        response = getattr(api(org.owner), method)(
            f"{URL}{checkin.pk}/", {"value": 99, "confidence": 1}
        )
        assert response.status_code == 405
        checkin.refresh_from_db()
        assert checkin.value == Decimal(10)


# --- Filters and ordering ------------------------------------------------------------------


class TestLists:
    def test_filters(self, org, goals, api):
        other_cycle = factories.CycleFactory(name="FY2027")
        other = factories.ObjectiveFactory(cycle=other_cycle, team=org.product, owner=org.lead)
        other_kr = factories.KeyResultFactory(objective=other)
        by_lead = checkin_record(key_result=other_kr, author=org.lead, value=5, confidence=6)
        client = api(org.lead)
        public, private = goals["public_checkin"].pk, goals["private_checkin"].pk
        assert listed(client.get(URL, {"key_result": goals["public_kr"].pk})) == {public}
        assert listed(client.get(URL, {"objective": goals["private"].pk})) == {private}
        assert listed(client.get(URL, {"cycle": org.cycle.pk})) == {public, private}
        assert listed(client.get(URL, {"cycle": other_cycle.pk})) == {by_lead.pk}
        assert listed(client.get(URL, {"author": org.lead.pk})) == {by_lead.pk}
        assert listed(client.get(URL, {"key_result": 987654})) == set()

    def test_outsider_filtering_by_a_private_key_result_gets_nothing(self, org, goals, api):
        response = api(org.outsider).get(URL, {"key_result": goals["private_kr"].pk})
        assert listed(response) == set()

    def test_since_and_until(self, org, goals, api):
        now = timezone.now()
        CheckIn.objects.filter(pk=goals["public_checkin"].pk).update(
            created_at=now - dt.timedelta(days=10)
        )
        client = api(org.owner)
        week_ago = (now - dt.timedelta(days=7)).isoformat()
        assert listed(client.get(URL, {"since": week_ago})) == {goals["private_checkin"].pk}
        assert listed(client.get(URL, {"until": week_ago})) == {goals["public_checkin"].pk}
        day = (now - dt.timedelta(days=10)).date().isoformat()
        assert goals["public_checkin"].pk in listed(client.get(URL, {"since": day}))

    def test_ordering(self, org, goals, api):
        CheckIn.objects.filter(pk=goals["private_checkin"].pk).update(
            created_at=timezone.now() - dt.timedelta(days=3)
        )
        client = api(org.owner)
        newest_first = [row["id"] for row in client.get(URL).json()["results"]]
        assert newest_first == [goals["public_checkin"].pk, goals["private_checkin"].pk]
        oldest_first = client.get(URL, {"ordering": "created_at"}).json()["results"]
        assert [row["id"] for row in oldest_first] == newest_first[::-1]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"key_result": "abc"}, "key_result"),
            ({"objective": "1.5"}, "objective"),
            ({"cycle": str(2**70)}, "cycle"),
            ({"author": "-3"}, "author"),
            ({"since": "yesterday"}, "since"),
            ({"until": "2026-02-30"}, "until"),
            ({"since": "0001-01-01T00:00:00+05:00"}, "since"),
            ({"until": "9999-12-31T23:00:00-05:00"}, "until"),
        ],
    )
    def test_bad_filter_values_are_400_naming_the_parameter(self, org, goals, api, params, field):
        response = api(org.owner).get(URL, params)
        assert response.status_code == 400, response.content
        assert list(response.json()) == [field]

    @pytest.mark.parametrize("page", ["-1", "0", "99", "two"])
    def test_a_page_that_does_not_exist_is_404(self, org, goals, api, page):
        response = api(org.owner).get(URL, {"page": page})
        assert response.status_code == 404
        assert response.json() == {"detail": "Invalid page."}


# --- Query budget --------------------------------------------------------------------------


def list_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"page_size": 100, "since": "2000-01-01"})
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def make_checkins(org, n: int) -> None:
    for _ in range(n):
        objective = factories.ObjectiveFactory(
            cycle=org.cycle,
            team=org.product,
            owner=org.owner,
            visibility=Objective.Visibility.PRIVATE,
        )
        factories.CheckInFactory(key_result=factories.KeyResultFactory(objective=objective))


@pytest.mark.parametrize("name", ["lead", "teammate", "admin"])
def test_list_costs_the_same_for_3_and_60_rows(org, api, name):
    client = api(getattr(org, name))
    make_checkins(org, 3)
    few = list_queries(client)
    make_checkins(org, 57)
    assert len(client.get(URL, {"page_size": 100}).json()["results"]) == 60
    many = list_queries(client)
    assert len(many) == len(few), "\n".join(many)


def test_pages_link_onwards_without_counting(org, api):
    """Lists say whether there is more, not how many: a count grows with the data."""
    client = api(org.owner)
    make_checkins(org, 5)
    first = client.get(URL, {"page_size": 2}).json()
    assert "count" not in first
    assert len(first["results"]) == 2 and first["previous"] is None
    second = client.get(first["next"]).json()
    assert second["previous"].endswith("page_size=2")
    last = client.get(second["next"]).json()
    assert len(last["results"]) == 1 and last["next"] is None
    seen = [row["id"] for page in (first, second, last) for row in page["results"]]
    assert len(set(seen)) == 5
    assert client.get(URL, {"page": 4, "page_size": 2}).status_code == 404
    assert client.get(URL, {"page": "x"}).status_code == 404
    assert client.get(URL, {"page": 2**62}).status_code == 404  # past any offset
