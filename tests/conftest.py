"""Shared fixtures: an organisation with the personas every view test needs.

The company has two teams; ``owner`` and ``teammate`` are in Product, ``lead`` leads
Product, ``outsider`` is in Sales and must never see Product's private goals.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connection

from alignment.models import Membership, Team, User
from alignment.signin import failures_key
from goals.models import Cycle
from okr_site.celery import app
from tests import factories


def pytest_collection_modifyitems(config, items):
    # Tests marked "postgres" need real concurrency; skip them, saying why, elsewhere.
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://…")
    for item in items:
        if "postgres" in item.keywords and connection.vendor != "postgresql":
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def tasks_run_in_process():
    """Tests run Celery tasks in-process, also when REDIS_URL names a broker; the tests
    of the worker itself start a real one."""
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The default hasher is slow by design; tests hash a password for every persona.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_failed_sign_ins_from_the_test_client():
    """Each test starts with the test client's address below the sign-in ceiling
    (``alignment.signin``): failures of earlier tests stay in the cache."""
    cache.delete(failures_key("127.0.0.1"))


@dataclass
class Org:
    company: Team
    product: Team
    sales: Team
    cycle: Cycle
    owner: User
    teammate: User
    lead: User
    outsider: User
    admin: User


@pytest.fixture
def org(db) -> Org:
    company = factories.TeamFactory(name="Company", slug="company")
    product = factories.TeamFactory(name="Product", slug="product", parent=company)
    sales = factories.TeamFactory(name="Sales", slug="sales", parent=company)
    lead = factories.UserFactory(username="lead", first_name="Lena", last_name="Lead")
    owner = factories.UserFactory(username="owner", first_name="Olu", last_name="Owner")
    owner.manager = lead
    owner.save(update_fields=["manager"])
    teammate = factories.UserFactory(username="teammate", first_name="Tia", last_name="Mate")
    outsider = factories.UserFactory(username="outsider", first_name="Otto", last_name="Side")
    admin = factories.UserFactory(username="admin", is_staff=True, is_superuser=True)
    factories.MembershipFactory(user=lead, team=product, role=Membership.Role.LEAD)
    factories.MembershipFactory(user=owner, team=product)
    factories.MembershipFactory(user=teammate, team=product)
    factories.MembershipFactory(user=outsider, team=sales)
    cycle = factories.CycleFactory(name="2026 Q4")
    return Org(company, product, sales, cycle, owner, teammate, lead, outsider, admin)


@pytest.fixture
def login(client):
    """``login(user)`` signs the test client in as ``user`` and returns the client."""

    def _login(user: User):
        client.force_login(user)
        return client

    return _login
