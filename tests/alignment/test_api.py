"""The organisation endpoints of the REST API: teams and people, read-only."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from alignment.models import Membership
from tests import factories

API = "/api/v1"


@pytest.fixture
def api():
    """``api(user)``: a client signed in as ``user`` (``None``: anonymous)."""

    def _client(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return _client


def names(response, key: str = "username") -> list[str]:
    assert response.status_code == 200, response.content
    return [row[key] for row in response.json()["results"]]


# --- Teams ---------------------------------------------------------------------------------


class TestTeams:
    def test_fields_leave_the_webhook_out(self, org, api):
        org.product.webhook_url = "https://hooks.example.org/secret-channel"
        org.product.save()
        response = api(org.outsider).get(f"{API}/teams/{org.product.pk}/")
        assert response.status_code == 200
        assert response.json() == {
            "id": org.product.pk,
            "name": "Product",
            "slug": "product",
            "parent": org.company.pk,
            "checkin_weekday": 0,
            "checkin_hour": 9,
            "digest_weekday": 4,
            "archived_at": None,
        }
        listed = api(org.outsider).get(f"{API}/teams/")
        assert "secret-channel" not in listed.content.decode()

    def test_everyone_signed_in_reads_every_team(self, org, api):
        assert names(api(org.outsider).get(f"{API}/teams/"), "slug") == [
            "company",
            "product",
            "sales",
        ]

    def test_anonymous_is_refused(self, org, api):
        response = api().get(f"{API}/teams/")
        assert response.status_code in (401, 403)
        assert response.json() == {"detail": "Authentication credentials were not provided."}

    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    def test_read_only(self, org, api, method):
        url = f"{API}/teams/" if method == "post" else f"{API}/teams/{org.sales.pk}/"
        response = getattr(api(org.admin), method)(url, {"name": "Renamed"})
        assert response.status_code == 405
        org.sales.refresh_from_db()
        assert org.sales.name == "Sales"

    def test_filters(self, org, api):
        factories.TeamFactory(
            name="Old ops", slug="old-ops", parent=org.company, archived_at=timezone.now()
        )
        client = api(org.teammate)
        below = client.get(f"{API}/teams/", {"parent": org.company.pk})
        assert names(below, "slug") == ["old-ops", "product", "sales"]
        current = client.get(f"{API}/teams/", {"archived": "false"})
        assert names(current, "slug") == ["company", "product", "sales"]
        assert names(client.get(f"{API}/teams/", {"archived": "true"}), "slug") == ["old-ops"]
        assert names(client.get(f"{API}/teams/", {"search": "SAL"}), "slug") == ["sales"]
        assert names(client.get(f"{API}/teams/", {"ordering": "-name"}), "slug") == [
            "sales",
            "product",
            "old-ops",
            "company",
        ]

    def test_an_archived_team_is_read_by_id_whatever_the_filters(self, org, api):
        old = factories.TeamFactory(slug="old", parent=org.company, archived_at=timezone.now())
        response = api(org.owner).get(f"{API}/teams/{old.pk}/", {"archived": "false"})
        assert response.status_code == 200
        assert response.json()["archived_at"] is not None

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"parent": "abc"}, "parent"),
            ({"parent": "1.5"}, "parent"),
            ({"parent": str(2**70)}, "parent"),
            ({"archived": "maybe"}, "archived"),
            ({"search": "x" * 101}, "search"),
        ],
    )
    def test_bad_filter_values_are_400_naming_the_parameter(self, org, api, params, field):
        response = api(org.owner).get(f"{API}/teams/", params)
        assert response.status_code == 400
        assert list(response.json()) == [field]

    def test_unknown_team_is_404(self, org, api):
        response = api(org.owner).get(f"{API}/teams/987654/")
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


# --- People --------------------------------------------------------------------------------


class TestPeople:
    def test_fields(self, org, api):
        org.owner.job_title = "Product manager"
        org.owner.save()
        response = api(org.lead).get(f"{API}/people/{org.owner.pk}/")
        assert response.status_code == 200
        assert response.json() == {
            "id": org.owner.pk,
            "username": "owner",
            "first_name": "Olu",
            "last_name": "Owner",
            "job_title": "Product manager",
            "manager": org.lead.pk,
            "teams": [org.product.pk],
            "email": None,
            "is_active": True,
        }

    @pytest.mark.parametrize(
        ("reader", "sees"), [("owner", True), ("admin", True), ("lead", False), ("outsider", False)]
    )
    def test_email_is_for_the_person_and_admins(self, org, api, reader, sees):
        client = api(getattr(org, reader))
        one = client.get(f"{API}/people/{org.owner.pk}/").json()
        assert one["email"] == ("owner@example.org" if sees else None)
        listed = client.get(f"{API}/people/", {"search": "owner"}).json()["results"]
        assert listed[0]["email"] == one["email"]
        if not sees:
            assert "owner@example.org" not in str(client.get(f"{API}/people/").content)

    def test_teams_of_a_person_in_several(self, org, api):
        factories.MembershipFactory(user=org.lead, team=org.sales, role=Membership.Role.LEAD)
        response = api(org.owner).get(f"{API}/people/{org.lead.pk}/")
        assert sorted(response.json()["teams"]) == sorted([org.product.pk, org.sales.pk])

    def test_active_people_by_default(self, org, api):
        org.teammate.is_active = False
        org.teammate.save()
        client = api(org.owner)
        assert "teammate" not in names(client.get(f"{API}/people/"))
        assert names(client.get(f"{API}/people/", {"active": "false"})) == ["teammate"]
        assert "teammate" not in names(client.get(f"{API}/people/", {"active": "true"}))
        # An id still names a person who has left (the owner of an old key result).
        one = client.get(f"{API}/people/{org.teammate.pk}/")
        assert one.status_code == 200
        assert one.json()["is_active"] is False

    def test_filters_and_ordering(self, org, api):
        client = api(org.outsider)
        team = client.get(f"{API}/people/", {"team": org.product.pk, "ordering": "username"})
        assert names(team) == ["lead", "owner", "teammate"]
        assert names(client.get(f"{API}/people/", {"manager": org.lead.pk})) == ["owner"]
        assert names(client.get(f"{API}/people/", {"search": "lena"})) == ["lead"]
        assert names(client.get(f"{API}/people/", {"search": "otto side"})) == ["outsider"]
        assert names(client.get(f"{API}/people/", {"search": "tia owner"})) == []
        assert names(client.get(f"{API}/people/", {"team": 987654})) == []
        by_first_name = client.get(
            f"{API}/people/", {"ordering": "-first_name", "team": org.product.pk}
        )
        assert names(by_first_name) == ["teammate", "owner", "lead"]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"team": "product"}, "team"),
            ({"team": "1.5"}, "team"),
            ({"manager": "-"}, "manager"),
            ({"manager": "0"}, "manager"),
            ({"active": "yes please"}, "active"),
            ({"search": "s" * 500}, "search"),
        ],
    )
    def test_bad_filter_values_are_400_naming_the_parameter(self, org, api, params, field):
        response = api(org.owner).get(f"{API}/people/", params)
        assert response.status_code == 400
        assert list(response.json()) == [field]

    def test_unknown_ordering_falls_back_to_the_default(self, org, api):
        org.admin.first_name, org.admin.last_name = "Ada", "Admin"
        org.admin.save()
        response = api(org.owner).get(f"{API}/people/", {"ordering": "password"})
        assert names(response)[0] == "admin"  # last names, then first names: the default

    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    def test_read_only(self, org, api, method):
        url = f"{API}/people/" if method == "post" else f"{API}/people/{org.owner.pk}/"
        response = getattr(api(org.admin), method)(url, {"job_title": "CEO"})
        assert response.status_code == 405
        org.owner.refresh_from_db()
        assert org.owner.job_title == ""


# --- Query budgets -------------------------------------------------------------------------


def list_queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": 100})
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def make_rows(org, n: int) -> None:
    """``n`` teams and ``n`` people, each in two teams and with a manager."""
    for _ in range(n):
        team = factories.TeamFactory(parent=org.product)
        person = factories.UserFactory(manager=org.lead)
        factories.MembershipFactory(user=person, team=team)
        factories.MembershipFactory(user=person, team=org.product)


@pytest.mark.parametrize("endpoint", ["teams", "people"])
@pytest.mark.parametrize("name", ["outsider", "admin"])
def test_lists_cost_the_same_for_3_and_60_rows(org, api, endpoint, name):
    client = api(getattr(org, name))
    make_rows(org, 3)
    few = list_queries(client, f"{API}/{endpoint}/")
    make_rows(org, 57)
    assert len(client.get(f"{API}/{endpoint}/", {"page_size": 100}).json()["results"]) >= 60
    many = list_queries(client, f"{API}/{endpoint}/")
    assert len(many) == len(few), "\n".join(many)
