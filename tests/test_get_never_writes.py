"""GET never changes anything: every route of the site, the API and the admin, each
requested with GET by an admin and by a team lead, leaves every table with the rows it
had. The routes are read from the URL configuration, so a new route is requested too;
one whose arguments this test cannot fill fails it, saying which."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.utils import timezone
from knox.models import AuthToken

from checkins.models import ActionItem, CheckIn
from goals.models import Dependency
from tests import factories
from tests.routes import admin_urls, path_of, routes

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(org):
    """One row of every kind a route can name, all readable by the lead."""
    objective = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.lead)
    key_result = factories.KeyResultFactory(objective=objective, owner=org.lead)
    other = factories.ObjectiveFactory(cycle=org.cycle, team=org.sales, owner=org.outsider)
    one_on_one = factories.OneOnOneFactory(manager=org.lead, report=org.owner)
    token, _ = AuthToken.objects.create(user=org.lead)
    return {
        "cycle": org.cycle,
        "team": org.product,
        "person": org.lead,
        "objective": objective,
        "key_result": key_result,
        "initiative": factories.InitiativeFactory(key_result=key_result, owner=org.lead),
        "kpi": factories.KpiFactory(team=org.product),
        "checkin": factories.CheckInFactory(key_result=key_result, author=org.lead),
        "dependency": Dependency.objects.create(
            requesting_objective=objective,
            providing_team=org.sales,
            providing_objective=other,
            requested_by=org.lead,
            description="The sales deck",
            needed_by=timezone.localdate() + dt.timedelta(days=30),
        ),
        "one_on_one": one_on_one,
        "action_item": ActionItem.objects.create(
            one_on_one=one_on_one, text="Call the dealer", owner=org.owner
        ),
        "api_token": token,
    }


def _site_urls(rows: dict) -> list[str]:
    urls = []
    for route in routes():
        if route.startswith("admin/"):
            continue  # below, per registered model
        urls.append(path_of(route, rows))
    return urls


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if not model._meta.proxy
    }


@pytest.mark.parametrize("name", ["admin", "lead"])
def test_get_never_changes_a_row(org, rows, login, name):
    client = login(getattr(org, name))
    urls = [*_site_urls(rows), *admin_urls()]
    before = _row_counts()
    answers = {url: client.get(url).status_code for url in urls}
    assert _row_counts() == before
    assert len(urls) > 150, urls  # every route, the admin's included
    assert not {url: status for url, status in answers.items() if status >= 500}
    shown = sum(status == 200 for status in answers.values())
    assert shown > (120 if name == "admin" else 50), answers  # pages, not just refusals
    assert CheckIn.objects.count() == 1  # the fixture's, no more
