"""GET never changes anything: every route of the site, the API and the admin, each
requested with GET by an admin and by a team lead, leaves every table with the rows it
had. The routes are read from the URL configuration, so a new route is requested too;
one whose arguments this test cannot fill fails it, saying which."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from knox.models import AuthToken

from checkins.links import checkin_token, preferences_url
from checkins.models import ActionItem, CheckIn
from goals.models import Dependency
from tests import factories

pytestmark = pytest.mark.django_db

PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")
# The first path segment says which row a route's ``pk`` names.
PK_OF = {
    "cycles": "cycle",
    "objectives": "objective",
    "key-results": "key_result",
    "check-in": "key_result",  # check-in/key-results/<pk>/: a key result's row
    "initiatives": "initiative",
    "kpis": "kpi",
    "check-ins": "checkin",
    "dependencies": "dependency",
    "one-to-ones": "one_on_one",
    "teams": "team",
    "people": "person",
}


def _routes(patterns=None, prefix: str = ""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


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


def _value(route: str, name: str, rows: dict) -> str:
    first = route.split("/")[0] if not route.startswith("api/") else route.split("/")[2]
    first = first.lstrip("^").split("\\")[0]
    values = {
        "cycle_pk": rows["cycle"].pk,
        "team_pk": rows["team"].pk,
        "objective_pk": rows["objective"].pk,
        "item_pk": rows["action_item"].pk,
        "kpi_id": rows["kpi"].pk,
        "slug": rows["team"].slug,
        "username": rows["person"].username,
        "fmt": "csv",
        "format": "json",
        "key": rows["api_token"].token_key,
    }
    if name == "token":
        if "reminders" in route:
            return preferences_url(user_id=rows["person"].pk).rstrip("/").rsplit("/", 1)[1]
        return checkin_token(
            user_id=rows["person"].pk, period="2026-W48", key_result_ids=[rows["key_result"].pk]
        )
    if name == "pk":
        kind = PK_OF.get(first.replace("-list", ""))
        if kind is None:
            pytest.fail(f"GET {route}: which row does its pk name? Add it to PK_OF.")
        row = rows[kind]
        return row.username if kind == "person" and "api" not in route else str(row.pk)
    if name not in values:
        pytest.fail(f"GET {route}: no value for <{name}>; add one to this test.")
    return str(values[name])


def _site_urls(rows: dict) -> list[str]:
    urls = []
    for route in _routes():
        if route.startswith("admin/"):
            continue  # below, per registered model
        path = route.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")
        for match in PARAMETER.finditer(route):
            name = match.group(1) or match.group(2)
            value = _value(route, name, rows)
            path = re.sub(rf"<(?:\w+:)?{name}>|\(\?P<{name}>[^)]*\)(\+)?", value, path, count=1)
        urls.append("/" + path.replace("\\", ""))
    return urls


def _admin_urls() -> list[str]:
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        name = f"admin:{meta.app_label}_{meta.model_name}"
        urls += [reverse(f"{name}_changelist"), reverse(f"{name}_add")]
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            for view in ("change", "history", "delete"):
                urls.append(reverse(f"{name}_{view}", args=[row.pk]))
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
    urls = [*_site_urls(rows), *_admin_urls()]
    before = _row_counts()
    answers = {url: client.get(url).status_code for url in urls}
    assert _row_counts() == before
    assert len(urls) > 150, urls  # every route, the admin's included
    assert not {url: status for url, status in answers.items() if status >= 500}
    shown = sum(status == 200 for status in answers.values())
    assert shown > (120 if name == "admin" else 50), answers  # pages, not just refusals
    assert CheckIn.objects.count() == 1  # the fixture's, no more
