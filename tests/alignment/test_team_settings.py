"""A team's settings page: who may change the rhythm and the chat webhook, and a changed
webhook getting a clean slate (also from the admin)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from alignment.models import Membership, Team
from alignment.services import team_settings_save
from tests import factories

FAILED = {"webhook_url": "https://hooks.example.org/old", "webhook_error": "HTTP 404"}


def settings_url(team: Team) -> str:
    return reverse("alignment:team-settings", args=[team.slug])


def form_data(**changes) -> dict:
    data = {
        "checkin_weekday": "0",
        "checkin_hour": "9",
        "digest_weekday": "4",
        "webhook_url": "",
    }
    return {**data, **changes}


@pytest.fixture
def company_lead(org):
    person = factories.UserFactory(username="ceo")
    factories.MembershipFactory(user=person, team=org.company, role=Membership.Role.LEAD)
    return person


@pytest.fixture
def failing(org):
    Team.objects.filter(pk=org.product.pk).update(webhook_failed_at=timezone.now(), **FAILED)
    org.product.refresh_from_db()
    return org.product


class TestWhoMayChange:
    @pytest.mark.parametrize("persona", ["lead", "admin"])
    def test_the_teams_lead_and_admins_may(self, login, org, persona):
        client = login(getattr(org, persona))

        assert client.get(settings_url(org.product)).status_code == 200
        response = client.post(settings_url(org.product), form_data(checkin_hour="14"))

        assert response.status_code == 302
        org.product.refresh_from_db()
        assert org.product.checkin_hour == 14

    def test_a_lead_of_a_team_above_may(self, login, org, company_lead):
        response = login(company_lead).post(
            settings_url(org.product), form_data(digest_weekday="2")
        )

        assert response.status_code == 302
        assert Team.objects.get(pk=org.product.pk).digest_weekday == 2

    @pytest.mark.parametrize("persona", ["owner", "teammate", "outsider"])
    def test_members_and_outsiders_get_403_with_the_reason(self, login, org, persona):
        client = login(getattr(org, persona))

        response = client.get(settings_url(org.product))
        assert response.status_code == 403
        assert "Only the leads of Product or of a team above it" in response.content.decode()
        response = client.post(settings_url(org.product), form_data(checkin_hour="3"))
        assert response.status_code == 403
        assert Team.objects.get(pk=org.product.pk).checkin_hour == 9

    def test_the_lead_of_a_team_below_may_not(self, login, org):
        # Leading Product gives nothing over the company above it.
        assert login(org.lead).get(settings_url(org.company)).status_code == 403

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, org):
        response = client.get(settings_url(org.product))

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_an_unknown_team_is_404(self, login, org):
        assert login(org.admin).get("/teams/nope/settings/").status_code == 404

    def test_an_archived_team_is_read_only(self, login, org):
        Team.objects.filter(pk=org.product.pk).update(archived_at=timezone.now())
        client = login(org.lead)

        page = client.get(settings_url(org.product)).content.decode()
        assert "read-only" in page
        assert "Save settings" not in page
        assert "disabled" in page
        response = client.post(settings_url(org.product), form_data(checkin_hour="3"))
        assert response.status_code == 403
        assert Team.objects.get(pk=org.product.pk).checkin_hour == 9

    def test_the_team_page_links_to_settings_for_its_lead_only(self, login, org):
        team_page = reverse("goals:team", args=[org.product.slug])

        assert settings_url(org.product) in login(org.lead).get(team_page).content.decode()
        assert settings_url(org.product) in login(org.admin).get(team_page).content.decode()
        assert settings_url(org.product) not in login(org.owner).get(team_page).content.decode()


class TestForm:
    def test_an_hour_outside_the_day_is_refused(self, login, org):
        response = login(org.lead).post(settings_url(org.product), form_data(checkin_hour="24"))

        assert "Choose an hour from 00:00 to 23:00." in response.content.decode()
        assert Team.objects.get(pk=org.product.pk).checkin_hour == 9

    def test_http_is_refused_outside_development(self, login, org, settings):
        settings.DEBUG = False

        response = login(org.lead).post(
            settings_url(org.product), form_data(webhook_url="http://hooks.example.org/x")
        )

        assert response.status_code == 200
        assert "must start with https://" in response.content.decode()
        assert Team.objects.get(pk=org.product.pk).webhook_url == ""

    def test_http_is_accepted_in_development(self, login, org, settings):
        settings.DEBUG = True

        login(org.lead).post(
            settings_url(org.product), form_data(webhook_url="http://localhost:9000/hook")
        )

        assert Team.objects.get(pk=org.product.pk).webhook_url == "http://localhost:9000/hook"

    def test_not_an_address_is_refused(self, login, org):
        response = login(org.lead).post(
            settings_url(org.product), form_data(webhook_url="not a url")
        )

        assert "Enter a valid URL." in response.content.decode()


class TestFailingWebhook:
    def test_the_page_warns_with_the_error_and_when(self, login, org, failing):
        page = login(org.lead).get(settings_url(org.product)).content.decode()

        assert "The chat webhook has stopped working" in page
        assert "HTTP 404" in page
        assert timezone.localtime(failing.webhook_failed_at).strftime("%-d %b %Y") in page

    def test_a_new_address_clears_the_failure(self, login, org, failing):
        login(org.lead).post(
            settings_url(org.product), form_data(webhook_url="https://hooks.example.org/new")
        )

        team = Team.objects.get(pk=org.product.pk)
        assert team.webhook_url == "https://hooks.example.org/new"
        assert team.webhook_failed_at is None
        assert team.webhook_error == ""

    def test_other_changes_keep_the_failure(self, login, org, failing):
        login(org.lead).post(
            settings_url(org.product),
            form_data(webhook_url=FAILED["webhook_url"], checkin_hour="10"),
        )

        team = Team.objects.get(pk=org.product.pk)
        assert team.checkin_hour == 10
        assert team.webhook_failed_at is not None
        assert team.webhook_error == "HTTP 404"

    def test_trying_the_same_address_again_clears_the_failure(self, login, org, failing):
        login(org.lead).post(
            settings_url(org.product),
            form_data(webhook_url=FAILED["webhook_url"], retry_webhook="on"),
        )

        assert Team.objects.get(pk=org.product.pk).webhook_failed_at is None

    def test_the_service_writes_only_the_changed_columns(self, org, failing):
        stale = Team.objects.get(pk=org.product.pk)
        Team.objects.filter(pk=org.product.pk).update(webhook_error="Later failure")
        stale.checkin_hour = 11

        team_settings_save(team=stale, changed_fields=["checkin_hour"])

        assert Team.objects.get(pk=org.product.pk).webhook_error == "Later failure"

    def test_an_admin_edit_clears_the_failure_too(self, login, org, failing):
        url = reverse("admin:alignment_team_change", args=[org.product.pk])
        data = {
            "name": "Product",
            "slug": "product",
            "parent": org.company.pk,
            **form_data(webhook_url="https://hooks.example.org/fixed"),
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        }

        response = login(org.admin).post(url, data)

        assert response.status_code == 302, response.content.decode()[:2000]
        team = Team.objects.get(pk=org.product.pk)
        assert team.webhook_url == "https://hooks.example.org/fixed"
        assert team.webhook_failed_at is None
        assert team.webhook_error == ""
