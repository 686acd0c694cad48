"""API lists are answered from rows (``okr_site.api.ListFromRows``), not through the
serializer: every item of every such list must equal what the serializer answers for
that row, field for field, in the same order. The lists are read from the router, so a
new list served from rows is compared too."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from goals.models import Kpi, Objective
from okr_site.api import ListFromRows
from okr_site.api_urls import router
from tests import factories

pytestmark = pytest.mark.django_db

ROW_LISTS = [
    (prefix, viewset, basename)
    for prefix, viewset, basename in router.registry
    if issubclass(viewset, ListFromRows)
]


@pytest.fixture
def rows(org):
    """Rows with every kind of value a list writes: decimals with and without a
    fraction, empty and filled relations, dates, moments, choices; a KPI guarding both
    an objective the lead may read and another team's private one."""
    parent = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.lead)
    objective = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, parent=parent, title="Ünïcode ✓"
    )
    hidden = factories.ObjectiveFactory(
        cycle=org.cycle,
        team=org.sales,
        owner=org.outsider,
        visibility=Objective.Visibility.PRIVATE,
    )
    key_result = factories.KeyResultFactory(
        objective=objective, start_value=Decimal("0.5"), target_value=Decimal("1200")
    )
    factories.KeyResultFactory(objective=parent, confidence=3)
    factories.InitiativeFactory(key_result=key_result, due_date=dt.date(2026, 12, 24))
    factories.InitiativeFactory(key_result=key_result, due_date=None)
    first = factories.CheckInFactory(key_result=key_result, author=org.owner, value=Decimal(7))
    factories.CheckInFactory(
        key_result=key_result, author=org.owner, value=Decimal("7.25"), corrects=first
    )
    kpi = factories.KpiFactory(
        team=org.product,
        direction=Kpi.Direction.LOWER_IS_BETTER,
        green_threshold=Decimal(3),
        red_threshold=Decimal("5.5"),
        latest_value=Decimal("4.2"),
    )
    kpi.guarded_objectives.set([objective, hidden])
    factories.KpiFactory(team=org.sales)  # no reading yet: health unknown
    factories.KpiReadingFactory(kpi=kpi, read_on=timezone.localdate(), value=Decimal("4.2"))
    factories.CycleFactory(name="2027 Q1", start_date=dt.date(2027, 1, 1))
    return {"kpi": kpi}


def _list_path(prefix: str, rows: dict) -> str:
    return "/api/v1/" + prefix.replace(r"(?P<kpi_id>\d+)", str(rows["kpi"].pk)) + "/"


def _serialized(viewset, request: Request, pk: int, kpi: Kpi) -> dict:
    """The row as the serializer writes it, read as the view reads a single row."""
    # The readings' view reads those of the KPI its address names.
    view = viewset(request=request, format_kwarg=None, action="retrieve", kwargs={"kpi_id": kpi.pk})
    row = view.get_queryset().get(pk=pk)
    return json.loads(json.dumps(view.get_serializer(row).data))


@pytest.mark.parametrize(
    ("prefix", "viewset", "basename"), ROW_LISTS, ids=[basename for _, _, basename in ROW_LISTS]
)
def test_every_list_item_equals_the_serializers_answer_for_its_row(
    org, rows, login, prefix, viewset, basename
):
    response = login(org.lead).get(_list_path(prefix, rows))

    assert response.status_code == 200, response.content
    items = response.json()["results"]
    assert items, f"{prefix}: the fixture should give this list rows"
    request = Request(APIRequestFactory().get("/"))
    request.user = org.lead
    for item in items:
        expected = _serialized(viewset, request, item["id"], rows["kpi"])
        assert item == expected
        assert list(item) == list(expected), "the fields come in the serializer's order"
