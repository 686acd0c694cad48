"""The ceiling on failed sign-ins from one address, whatever the usernames
(``alignment.signin``): credential stuffing from one address stops there, while
django-axes keeps locking a username at one address after a few failures."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from alignment.signin import failures_key

PASSWORD = "a long enough passphrase"
ATTACKER = "203.0.113.7"
OFFICE = "198.51.100.20"


@pytest.fixture
def ceiling(settings):
    settings.WAYMARK = {**settings.WAYMARK, "SIGN_IN_FAILURES_PER_ADDRESS": 3}
    yield 3
    cache.delete_many([failures_key(ATTACKER), failures_key(OFFICE)])


@pytest.fixture
def person(org):
    org.owner.set_password(PASSWORD)
    org.owner.save()
    return org.owner


def sign_in(username: str, password: str, address: str):
    return Client(REMOTE_ADDR=address).post("/login/", {"username": username, "password": password})


def test_an_address_over_the_ceiling_is_refused_even_the_right_password(person, ceiling):
    for number in range(ceiling):
        assert sign_in(f"someone{number}", "password1234", ATTACKER).status_code == 200

    refused = sign_in(person.username, PASSWORD, ATTACKER)

    assert refused.status_code == 200  # the form again, not signed in
    assert "_auth_user_id" not in refused.wsgi_request.session
    assert sign_in(person.username, PASSWORD, OFFICE).status_code == 302  # others go on


def test_below_the_ceiling_a_mistyped_password_costs_nothing_else(person, ceiling):
    for _ in range(ceiling - 1):
        sign_in(person.username, "wrong password", OFFICE)

    assert sign_in(person.username, PASSWORD, OFFICE).status_code == 302


def test_the_ceiling_counts_every_failure_of_the_window(person, ceiling):
    sign_in("nobody", "password1234", ATTACKER)
    sign_in(person.username, "wrong password", ATTACKER)

    assert cache.get(failures_key(ATTACKER)) == 2
