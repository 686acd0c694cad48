"""A list request that names no filter skips django-filter's form
(``okr_site.api.FilterBackend``): each filterset's ``without_parameters()`` must do to
the rows exactly what the form does when it is given no parameters. The filtersets are
read from the router, so a new list's filters are held to it too."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.utils import timezone

from okr_site.api import FilterSet, _names_a_filter
from okr_site.api_urls import router
from tests import factories

pytestmark = pytest.mark.django_db

FILTERED_LISTS = [
    (basename, viewset.filterset_class)
    for _, viewset, basename in router.registry
    if getattr(viewset, "filterset_class", None) is not None
]


def test_every_list_has_filters():
    assert {basename for basename, _ in FILTERED_LISTS} >= {
        "cycle",
        "team",
        "person",
        "objective",
        "key-result",
        "checkin",
        "initiative",
        "kpi",
        "kpi-reading",
    }


@pytest.mark.parametrize(
    "filterset_class",
    [filterset_class for _, filterset_class in FILTERED_LISTS],
    ids=[basename for basename, _ in FILTERED_LISTS],
)
def test_without_parameters_filters_as_the_form_does_for_an_empty_query(filterset_class):
    assert issubclass(filterset_class, FilterSet), "the backend's shortcut needs our FilterSet"
    rows = filterset_class._meta.model._default_manager.all()

    by_form = filterset_class(data=QueryDict(), queryset=rows).qs

    assert str(filterset_class.without_parameters(rows).query) == str(by_form.query)


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({}, False),
        ({"page": "2", "page_size": "10", "ordering": "-id"}, False),
        ({"unknown": "1"}, False),
        ({"archived": "true"}, True),
        ({"read_on_after": "2026-01-01"}, True),  # a part of the read_on range
    ],
)
def test_a_filter_is_named_by_its_name_or_one_of_its_parts(parameters, named):
    assert _names_a_filter(parameters, ["archived", "read_on"]) is named


def test_a_list_without_parameters_still_leaves_archived_rows_out(org, login):
    objective = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner)
    archived = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, archived_at=timezone.now()
    )
    client = login(org.owner)

    listed = [row["id"] for row in client.get("/api/v1/objectives/").json()["results"]]
    archived_only = client.get("/api/v1/objectives/", {"archived": "true"}).json()["results"]

    assert listed == [objective.pk]
    assert [row["id"] for row in archived_only] == [archived.pk]


def test_a_list_without_parameters_still_leaves_deactivated_people_out(org, login):
    org.teammate.is_active = False
    org.teammate.save()

    people = login(org.owner).get("/api/v1/people/").json()["results"]

    assert org.teammate.pk not in [row["id"] for row in people]
