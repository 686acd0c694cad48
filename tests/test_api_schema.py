"""Property-based test of the whole REST API against its own OpenAPI schema.

Schemathesis reads /api/schema/ from the application (in-process, through WSGI) and, for
every operation it lists, sends generated requests, valid and invalid, as a signed-in
person of a small organisation. Whatever it sends, the API must answer without a server
error, with a status code the schema documents for that operation, and with a body and
content type that match what the schema says. No auth bypass: whenever an operation
answers 2xx with the token, Schemathesis asks it again without credentials and with made-up
ones (a bad token, a bad session cookie), and each must be refused (``ignored_auth``).

Bounded and repeatable: a fixed seed (derandomized Hypothesis), a few dozen examples per
operation, no shrinking hunt beyond Hypothesis' default.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from checkins.services import checkin_record
from goals.models import Objective
from okr_site.api import TokenClientThrottle
from tests import factories

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
]

APP = WSGIHandler()
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "with-security-parameters": False,
        },
        # The stateful phase chains operations; the property here is per operation.
        "phases": {"stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP, config=CONFIG)


@pytest.fixture
def token(org) -> str:
    """A token of the team lead, in an organisation with goals and check-ins to read:
    public and private objectives of two teams, key results, an initiative, a KPI."""
    for team, owner in ((org.product, org.owner), (org.sales, org.outsider)):
        for visibility in Objective.Visibility.values:
            objective = factories.ObjectiveFactory(
                cycle=org.cycle, team=team, owner=owner, visibility=visibility
            )
            key_result = factories.KeyResultFactory(objective=objective)
            factories.InitiativeFactory(key_result=key_result)
            checkin_record(key_result=key_result, author=owner, value=Decimal(5), confidence=6)
        factories.KpiReadingFactory(kpi=factories.KpiFactory(team=team))
    _, secret = AuthToken.objects.create(user=org.lead)
    return secret


@pytest.fixture(autouse=True)
def in_process_requests(monkeypatch):
    """Requests go through Django's WSGI handler inside the test's transaction: like
    Django's test client, keep it from closing the connection after each request; and
    take the token throttle out of the way (it has tests of its own)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    monkeypatch.setattr(TokenClientThrottle, "THROTTLE_RATES", {"token": None})
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_api_answers_as_its_schema_says(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
