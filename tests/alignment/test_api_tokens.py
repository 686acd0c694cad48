"""Personal API tokens: the page that lists, creates and revokes them, tokens on the API,
and the throttle that limits token clients (and only them)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient, APIRequestFactory

from alignment.views.tokens import MAX_TOKENS_PER_PERSON
from okr_site.api import _KEY_LOOKUP_SQL, TokenAuthentication, TokenClientThrottle

PAGE = reverse("alignment:api-tokens")
API = "/api/v1/teams/"


def revoke_url(key: str) -> str:
    return reverse("alignment:api-token-revoke", args=[key])


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def create_on_the_page(client) -> str:
    """Create a token through the page and read it off the response, as a person would."""
    response = client.post(PAGE)
    assert response.status_code == 200
    match = re.search(r'id="new-token"[^>]*value="([0-9a-f]{64})"', response.content.decode())
    assert match, "the new token is shown on the page"
    return match.group(1)


# --- The page -------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(db, client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert client.post(PAGE).status_code == 302
    assert AuthToken.objects.count() == 0


def test_the_menu_links_to_the_page(org, login):
    response = login(org.owner).get(reverse("checkins:preferences"))
    assert f'href="{PAGE}"' in response.content.decode()


def test_new_token_is_shown_once_and_works(org, login):
    client = login(org.owner)
    token = create_on_the_page(client)
    stored = AuthToken.objects.get(user=org.owner)
    assert token.startswith(stored.token_key)
    assert token not in stored.digest  # only a hash is kept
    listed = client.get(PAGE)
    page = listed.content.decode()
    assert token not in page
    assert f"{stored.token_key}…" in page
    assert "Never" in page  # tokens live until revoked
    assert "no-store" in listed["Cache-Control"]
    response = token_client(token).get(API)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_the_answer_that_shows_a_token_is_never_cached(org, login):
    response = login(org.owner).post(PAGE)
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_a_person_sees_only_their_own_tokens(org, login):
    AuthToken.objects.create(user=org.teammate)
    mine, _ = AuthToken.objects.create(user=org.owner)
    page = login(org.owner).get(PAGE).content.decode()
    theirs = AuthToken.objects.get(user=org.teammate)
    assert mine.token_key in page
    assert theirs.token_key not in page


def test_revoked_token_is_refused(org, login):
    client = login(org.owner)
    token = create_on_the_page(client)
    key = AuthToken.objects.get(user=org.owner).token_key
    response = client.post(revoke_url(key), follow=True)
    assert response.status_code == 200
    assert f"Token {key}… revoked" in response.content.decode()
    assert not AuthToken.objects.filter(user=org.owner).exists()
    refused = token_client(token).get(API)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid token."}


def test_revoking_someone_elses_token_is_404(org, login):
    theirs, _ = AuthToken.objects.create(user=org.teammate)
    response = login(org.owner).post(revoke_url(theirs.token_key))
    assert response.status_code == 404
    assert AuthToken.objects.filter(pk=theirs.pk).exists()


def test_revoking_takes_a_post(org, login):
    mine, _ = AuthToken.objects.create(user=org.owner)
    assert login(org.owner).get(revoke_url(mine.token_key)).status_code == 405
    assert AuthToken.objects.filter(pk=mine.pk).exists()


def test_a_deactivated_persons_token_is_refused(org):
    _, token = AuthToken.objects.create(user=org.owner)
    org.owner.is_active = False
    org.owner.save()
    response = token_client(token).get(API)
    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted."}


@pytest.mark.parametrize(
    "header",
    [
        "Token \xe9t\xe9",  # Latin-1 that is no UTF-8
        "Token abc\x00def",
        "Token abc\x01def",
        "Token " + "f" * 64,
    ],
    ids=["not-utf-8", "nul", "control", "unknown"],
)
def test_a_malformed_or_unknown_token_is_refused(db, header):
    response = APIClient().get(API, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_a_token_with_the_right_key_and_the_wrong_rest_is_refused(org):
    _, token = AuthToken.objects.create(user=org.owner)
    forged = token[:15] + ("0" if token[15] != "0" else "1") + token[16:]
    assert token_client(forged).get(API).status_code == 401
    assert token_client(token).get(API).status_code == 200


def test_an_expired_token_is_refused_and_left_for_its_person(org):
    _, token = AuthToken.objects.create(user=org.owner, expiry=dt.timedelta(seconds=-1))
    response = token_client(token).get(API)
    assert response.status_code == 401
    assert AuthToken.objects.filter(user=org.owner).exists(), "a GET writes nothing"


def test_the_token_lookup_reads_the_models_tables():
    assert f"FROM {AuthToken._meta.db_table} token" in _KEY_LOOKUP_SQL
    assert f"JOIN {get_user_model()._meta.db_table} person" in _KEY_LOOKUP_SQL


def test_the_request_carries_the_token_it_came_with(org):
    made, token = AuthToken.objects.create(user=org.owner)
    request = APIRequestFactory().get(API, HTTP_AUTHORIZATION=f"Token {token}")
    person, auth_token = TokenAuthentication().authenticate(request)
    assert person == org.owner
    assert auth_token == made  # the same row: revoking it through the request works
    assert auth_token.user is person


def test_a_person_has_a_bounded_number_of_tokens(org, login):
    for _ in range(MAX_TOKENS_PER_PERSON):
        AuthToken.objects.create(user=org.owner)
    response = login(org.owner).post(PAGE, follow=True)
    assert "revoke one you no longer use first" in response.content.decode()
    assert AuthToken.objects.filter(user=org.owner).count() == MAX_TOKENS_PER_PERSON


def test_a_token_acts_as_its_person(org):
    _, token = AuthToken.objects.create(user=org.owner)
    response = token_client(token).get(f"/api/v1/people/{org.owner.pk}/")
    assert response.json()["email"] == "owner@example.org"  # only the person reads it


# --- Throttling -----------------------------------------------------------------------------


@pytest.fixture
def low_rate(monkeypatch):
    """Three requests a minute for token clients. DRF reads the rates into the class
    when it is defined, so the class attribute is what a test changes."""
    monkeypatch.setattr(TokenClientThrottle, "THROTTLE_RATES", {"token": "3/min"})
    TokenClientThrottle.cache.clear()
    yield
    TokenClientThrottle.cache.clear()


def test_token_clients_are_throttled(org, low_rate):
    _, token = AuthToken.objects.create(user=org.owner)
    client = token_client(token)
    for _ in range(3):
        assert client.get(API).status_code == 200
    response = client.get(API)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("Request was throttled.")
    assert int(response["Retry-After"]) > 0


def test_the_rate_is_per_person(org, low_rate):
    _, owners = AuthToken.objects.create(user=org.owner)
    _, teammates = AuthToken.objects.create(user=org.teammate)
    for _ in range(3):
        token_client(owners).get(API)
    assert token_client(owners).get(API).status_code == 429
    assert token_client(teammates).get(API).status_code == 200


def test_the_browser_session_is_not_throttled(org, login, low_rate):
    client = login(org.owner)
    for _ in range(6):
        assert client.get(API).status_code == 200
