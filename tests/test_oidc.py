"""Single sign-on through OpenID Connect, against an OpenID provider run by the test on
127.0.0.1: discovery, authorization, token, userinfo and JWKS endpoints, ID tokens
signed with an RSA key made for the run. Waymark's real code path talks to it over HTTP:
the library's state, nonce and PKCE checks, the signature check against the JWKS, and
Waymark's rules on whom a verified identity signs in as."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from axes.models import AccessAttempt
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse

from alignment.models import User
from tests import factories

pytestmark = pytest.mark.django_db

CLIENT_ID = "waymark"
CLIENT_SECRET = "s3cret-of-the-waymark-client"
PROVIDER_NAME = "Acme ID"
BACKEND = "okr_site.sso.OIDCBackend"
GENERIC_FAILURE = f"Signing in with {PROVIDER_NAME} did not work. Please try again."
REMOVE = object()  # in ``id_token_changes``: leave the claim out


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeProvider:
    """An OpenID provider that signs in whoever ``person`` is (their claims), checks
    what a real one checks (client, redirect address, single-use code, PKCE) and can be
    told to answer wrongly, one defect at a time."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.reset()

    def reset(self) -> None:
        self.person: dict = {}
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        self.token_requests = 0
        self.token_error = False
        self.id_token_changes: dict = {}
        self.userinfo_changes: dict = {}
        self.signing_key = self.key
        self.algorithm = "RS256"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return self.issuer + path

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": "test-key", "alg": "RS256", "use": "sig"}]}

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "userinfo_endpoint": self.url("/userinfo"),
            "jwks_uri": self.url("/jwks"),
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, dict]:
        """The person is signed in at the provider: back to Waymark with a code."""
        assert query["response_type"] == "code"
        assert query["client_id"] == CLIENT_ID
        assert "openid" in query["scope"].split()
        assert query["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {**query, "claims": dict(self.person)}
        back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, {"Location": back}

    def token(self, form: dict[str, str]) -> tuple[int, dict]:
        self.token_requests += 1
        grant = self.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        if (
            self.token_error
            or grant is None
            or form.get("grant_type") != "authorization_code"
            or (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET)
            or form.get("redirect_uri") != grant["redirect_uri"]
            or _b64url(hashlib.sha256(verifier.encode()).digest()) != grant["code_challenge"]
        ):
            return 400, {"error": "invalid_grant"}
        claims = grant["claims"]
        now = int(time.time())
        id_token = {
            "iss": self.issuer,
            "sub": claims["sub"],
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
        }
        for name, value in self.id_token_changes.items():
            if value is REMOVE:
                id_token.pop(name, None)
            else:
                id_token[name] = value
        signing_key = None if self.algorithm == "none" else self.signing_key
        signed = jwt.encode(
            id_token, signing_key, algorithm=self.algorithm, headers={"kid": "test-key"}
        )
        access_token = secrets.token_urlsafe(16)
        self.access_tokens[access_token] = {**claims, **self.userinfo_changes}
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": signed,
        }

    def userinfo(self, authorization: str) -> tuple[int, dict]:
        claims = self.access_tokens.get(authorization.removeprefix("Bearer "))
        return (200, claims) if claims is not None else (401, {"error": "invalid_token"})

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path, _, query = self.path.partition("?")
                if path.endswith("/.well-known/openid-configuration"):
                    self.answer(200, provider.discovery())
                elif path == "/authorize":
                    status, headers = provider.authorize(
                        {name: values[0] for name, values in parse_qs(query).items()}
                    )
                    self.answer(status, {}, headers)
                elif path == "/userinfo":
                    self.answer(*provider.userinfo(self.headers.get("Authorization", "")))
                elif path == "/jwks":
                    self.answer(200, provider.jwks())
                else:
                    self.answer(404, {"error": "not_found"})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = {name: values[0] for name, values in parse_qs(body).items()}
                if self.path == "/token":
                    self.answer(*provider.token(form))
                else:
                    self.answer(404, {"error": "not_found"})

            def answer(self, status: int, body: dict, headers: dict | None = None) -> None:
                content = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format, *args):  # quiet test output
                pass

        return Handler


@pytest.fixture(scope="module")
def provider_server():
    provider = FakeProvider()
    yield provider
    provider.close()


@pytest.fixture
def provider(provider_server) -> FakeProvider:
    provider_server.reset()
    return provider_server


@pytest.fixture
def sso(settings, provider):
    """Single sign-on on, configured by the issuer alone (endpoints discovered)."""
    settings.OIDC_ENABLED = True
    settings.OIDC_OP_ISSUER = provider.issuer
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = ""
    settings.OIDC_OP_TOKEN_ENDPOINT = ""
    settings.OIDC_OP_USER_ENDPOINT = ""
    settings.OIDC_OP_JWKS_ENDPOINT = ""
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = PROVIDER_NAME
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, BACKEND]
    return settings


@pytest.fixture
def sso_only(sso):
    """``OIDC_ONLY=true``: what settings.py makes of it."""
    sso.OIDC_ONLY = True
    sso.AUTHENTICATION_BACKENDS = [
        "okr_site.sso.SuperuserPasswordBackend" if backend.endswith(".ModelBackend") else backend
        for backend in sso.AUTHENTICATION_BACKENDS
    ]
    return sso


def claims_of(person: User, **changes) -> dict:
    return {
        "sub": f"acme-{person.username}",
        "email": person.email,
        "email_verified": True,
        "preferred_username": person.username,
        **changes,
    }


def start(client: Client, next_url: str = "") -> dict[str, str]:
    """Follows the sign-in button; returns the query Waymark sends to the provider."""
    url = reverse("oidc_authentication_init") + (f"?next={next_url}" if next_url else "")
    response = client.get(url)
    assert response.status_code == 302, response
    location = urlsplit(response["Location"])
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def sign_in_at_provider(client: Client, provider: FakeProvider, claims: dict, next_url=""):
    """The whole journey: the button, the provider (signs ``claims`` in), the way back.
    Returns Waymark's answer to the callback."""
    provider.person = claims
    query = start(client, next_url)
    at_provider = requests.get(
        provider.url("/authorize?" + urlencode(query)), allow_redirects=False, timeout=5
    )
    return client.get(at_provider.headers["Location"])


def signed_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def refusal_shown(client: Client) -> str:
    """The sign-in page that a refusal leads to, as text."""
    page = client.get(reverse("login"))
    assert page.status_code == 200
    return page.content.decode()


# --- Off ---------------------------------------------------------------------------------


def test_while_off_there_is_no_button_and_the_oidc_pages_do_not_exist(client, settings):
    assert not settings.OIDC_ENABLED  # the test run's environment configures none
    page = client.get(reverse("login")).content.decode()
    assert "Sign in with" not in page
    assert 'name="password"' in page
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=abc&state=xyz").status_code == 404


# --- The sign-in page ------------------------------------------------------------------------


def test_the_button_comes_above_the_password_form(client, sso):
    response = client.get(reverse("login") + "?next=/check-in/")
    page = response.content.decode()
    button = page.index(f"Sign in with {PROVIDER_NAME}</a>")
    assert button < page.index('name="password"')
    assert 'href="/oidc/authenticate/?next=/check-in/"' in page
    # The page keeps to the Content-Security-Policy: no inline script or style.
    assert "script-src 'self';" in response["Content-Security-Policy"] + ";"
    assert "<script>" not in page and "<script " not in page.replace("<script src=", "")
    assert " style=" not in page


def test_oidc_only_leaves_the_button_and_a_link_for_administrators(client, sso_only):
    page = client.get(reverse("login")).content.decode()
    assert f"Sign in with {PROVIDER_NAME}" in page
    assert 'name="password"' not in page
    assert 'href="?with=password"' in page
    administrators = client.get(reverse("login") + "?with=password").content.decode()
    assert 'name="password"' in administrators
    assert "administrators only" in administrators


def test_oidc_only_takes_passwords_from_superusers_alone(org, sso_only):
    person = Client().post(
        reverse("login"), {"username": "owner", "password": factories.TEST_PASSWORD}
    )
    assert person.status_code == 200  # the form again, with its error
    assert "Please enter a correct username and password" in person.content.decode()
    admin = Client()
    answer = admin.post(
        reverse("login"), {"username": "admin", "password": factories.TEST_PASSWORD}
    )
    assert answer.status_code == 302
    assert signed_in_user_id(admin) == str(org.admin.pk)


def test_password_sign_in_still_works_beside_the_button(org, sso):
    client = Client()
    answer = client.post(
        reverse("login"), {"username": "owner", "password": factories.TEST_PASSWORD}
    )
    assert answer.status_code == 302
    assert signed_in_user_id(client) == str(org.owner.pk)


# --- The flow --------------------------------------------------------------------------------


def test_the_button_sends_the_browser_to_the_provider_with_state_nonce_and_pkce(client, sso):
    response = client.get(reverse("oidc_authentication_init"))
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == sso.OIDC_OP_ISSUER + (
        "/authorize"
    )
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver/oidc/callback/"]
    assert query["scope"] == ["openid email profile"]
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["code_challenge_method"] == ["S256"]
    # Both are kept in this browser's session, where the callback looks for them.
    kept = client.session["oidc_states"][query["state"][0]]
    assert kept["nonce"] == query["nonce"][0]
    assert client.get(reverse("oidc_authentication_init")).status_code == 302
    assert len(client.session["oidc_states"]) == 2  # a fresh state each time


@pytest.mark.parametrize("configured_by", ["issuer", "endpoints"])
def test_a_valid_callback_signs_in_the_person_with_that_email_in_a_new_session(
    client, org, sso, provider, configured_by
):
    if configured_by == "endpoints":  # no discovery, no issuer: what the library asks for
        sso.OIDC_OP_ISSUER = ""
        sso.OIDC_OP_AUTHORIZATION_ENDPOINT = provider.url("/authorize")
        sso.OIDC_OP_TOKEN_ENDPOINT = provider.url("/token")
        sso.OIDC_OP_USER_ENDPOINT = provider.url("/userinfo")
        sso.OIDC_OP_JWKS_ENDPOINT = provider.url("/jwks")
    client.get(reverse("login"))
    provider.person = claims_of(org.owner, email="Owner@Example.ORG")  # any case
    query = start(client, next_url="/check-in/")
    before = client.session.session_key
    at_provider = requests.get(
        provider.url("/authorize?" + urlencode(query)), allow_redirects=False, timeout=5
    )
    answer = client.get(at_provider.headers["Location"])
    assert answer.status_code == 302
    assert answer["Location"] == "/check-in/"
    assert signed_in_user_id(client) == str(org.owner.pk)
    assert client.session["_auth_user_backend"] == BACKEND
    assert client.session.session_key != before  # a new session at sign-in
    assert client.get(reverse("goals:home")).status_code == 200
    assert User.objects.count() == 5  # nobody created


def test_a_sign_in_lands_on_the_home_page_without_next(client, org, sso, provider):
    answer = sign_in_at_provider(client, provider, claims_of(org.owner))
    assert answer["Location"] == reverse("goals:home")


def test_a_deactivated_persons_sso_session_ends_at_once(client, org, sso, provider):
    sign_in_at_provider(client, provider, claims_of(org.owner))
    assert client.get(reverse("goals:home")).status_code == 200
    org.owner.is_active = False
    org.owner.save()
    assert client.get(reverse("goals:home")).status_code == 302


# --- Whom a verified identity signs in as -----------------------------------------------------


def test_an_unknown_email_is_refused_while_creating_accounts_is_off(client, org, sso, provider):
    claims = {"sub": "acme-new", "email": "new.person@example.org", "email_verified": True}
    answer = sign_in_at_provider(client, provider, claims)
    assert answer.status_code == 302 and answer["Location"] == reverse("login")
    assert signed_in_user_id(client) is None
    assert "No Waymark account uses new.person@example.org" in refusal_shown(client)
    assert not User.objects.filter(email="new.person@example.org").exists()
    # The message is shown once.
    assert "No Waymark account" not in refusal_shown(client)


def test_an_unknown_email_gets_a_new_account_when_creating_is_on(client, org, sso, provider):
    sso.OIDC_CREATE_USERS = True
    claims = {
        "sub": "acme-nia",
        "email": "nia.new@example.org",
        "email_verified": True,
        "preferred_username": "nia",
        "given_name": "Nia",
        "family_name": "New",
    }
    answer = sign_in_at_provider(client, provider, claims)
    assert answer.status_code == 302 and answer["Location"] == reverse("goals:home")
    nia = User.objects.get(email="nia.new@example.org")
    assert (nia.username, nia.first_name, nia.last_name) == ("nia", "Nia", "New")
    assert not nia.has_usable_password()
    assert not (nia.is_staff or nia.is_superuser)
    assert signed_in_user_id(client) == str(nia.pk)


def test_a_new_account_never_takes_someone_elses_username(client, org, sso, provider):
    sso.OIDC_CREATE_USERS = True
    claims = {
        "sub": "acme-other-owner",
        "email": "another.owner@example.org",
        "email_verified": True,
        "preferred_username": "Owner",  # org.owner's, in another case
    }
    sign_in_at_provider(client, provider, claims)
    created = User.objects.get(email="another.owner@example.org")
    assert created.username == "Owner-2"
    assert User.objects.get(username="owner").email == "owner@example.org"  # untouched


@pytest.mark.parametrize("moment", ["before the checks", "before the insert"])
def test_two_first_sign_ins_at_once_end_in_one_account(
    client, org, sso, provider, monkeypatch, moment
):
    """The other sign-in makes the person after this one looked them up: before this
    one's checks (the username is taken) or between its checks and its insert (the
    database refuses it). Either way this one signs in as them, not as an error."""
    sso.OIDC_CREATE_USERS = True
    claims = {"sub": "acme-nia", "email": "nia.new@example.org", "email_verified": True}
    checks = User.full_clean

    def other_sign_in_then_checks(person, *args, **kwargs):
        if moment == "before the checks":
            User.objects.create(username=person.username, email="Nia.New@example.org")
        checks(person, *args, **kwargs)
        if moment == "before the insert":
            User.objects.create(username=person.username, email="Nia.New@example.org")

    monkeypatch.setattr(User, "full_clean", other_sign_in_then_checks)
    answer = sign_in_at_provider(client, provider, claims)

    assert answer["Location"] == reverse("goals:home"), refusal_shown(client)
    nia = User.objects.get(email__iexact="nia.new@example.org")
    assert signed_in_user_id(client) == str(nia.pk)


@pytest.mark.parametrize("creating", [False, True])
def test_a_deactivated_person_is_refused_and_gets_no_second_account(
    client, org, sso, provider, creating
):
    sso.OIDC_CREATE_USERS = creating
    org.owner.is_active = False
    org.owner.save()
    sign_in_at_provider(client, provider, claims_of(org.owner))
    assert signed_in_user_id(client) is None
    assert "The Waymark account of owner@example.org is deactivated" in refusal_shown(client)
    assert User.objects.filter(email__iexact="owner@example.org").count() == 1


def test_an_active_account_is_found_beside_a_deactivated_one(client, org, sso, provider):
    old = factories.UserFactory(username="owner-old", email="owner@example.org", is_active=False)
    sign_in_at_provider(client, provider, claims_of(org.owner))
    assert signed_in_user_id(client) == str(org.owner.pk) != str(old.pk)


def test_two_active_accounts_with_the_email_are_refused(client, org, sso, provider):
    factories.UserFactory(username="owner-twin", email="OWNER@example.org")
    sign_in_at_provider(client, provider, claims_of(org.owner))
    assert signed_in_user_id(client) is None
    assert "Several Waymark accounts use owner@example.org" in refusal_shown(client)


@pytest.mark.parametrize(
    ("email_verified", "required", "signed_in"),
    [
        (False, True, False),
        (None, True, False),  # a provider that does not say is not trusted by default
        ("false", True, False),
        ("true", True, True),  # some providers send the claim as a string
        (None, False, True),  # OIDC_REQUIRE_EMAIL_VERIFIED=false trusts a silent provider
        (False, False, False),  # ... never one that says "not verified"
    ],
)
def test_an_email_the_provider_has_not_verified_is_refused(
    client, org, sso, provider, email_verified, required, signed_in
):
    sso.OIDC_REQUIRE_EMAIL_VERIFIED = required
    claims = claims_of(org.owner, email_verified=email_verified)
    if email_verified is None:
        del claims["email_verified"]
    answer = sign_in_at_provider(client, provider, claims)
    assert answer.status_code == 302
    assert (signed_in_user_id(client) == str(org.owner.pk)) is signed_in
    if not signed_in:
        assert answer["Location"] == reverse("login")
        page = refusal_shown(client)
        assert "Your e-mail address owner@example.org is not verified at Acme ID" in page


def test_a_provider_that_shares_no_email_is_refused(client, org, sso, provider):
    sign_in_at_provider(client, provider, {"sub": "acme-owner", "preferred_username": "owner"})
    assert signed_in_user_id(client) is None
    assert "Acme ID did not share your e-mail address" in refusal_shown(client)


# --- What the flow refuses ---------------------------------------------------------------------


def test_a_callback_this_browser_did_not_start_is_refused(client, org, sso, provider):
    provider.person = claims_of(org.owner)
    query = start(client)  # the attacker's own flow...
    at_provider = requests.get(
        provider.url("/authorize?" + urlencode(query)), allow_redirects=False, timeout=5
    )
    victim = Client()  # ...whose way back is sent to someone else (login CSRF)
    victim.get(reverse("login"))
    answer = victim.get(at_provider.headers["Location"])
    assert answer.status_code == 302 and answer["Location"] == reverse("login")
    assert signed_in_user_id(victim) is None
    assert GENERIC_FAILURE in refusal_shown(victim)
    assert provider.token_requests == 0  # the code was never even exchanged


def test_a_wrong_state_is_refused(client, org, sso, provider):
    provider.person = claims_of(org.owner)
    query = start(client)
    at_provider = requests.get(
        provider.url("/authorize?" + urlencode(query)), allow_redirects=False, timeout=5
    )
    back = urlsplit(at_provider.headers["Location"])
    code = parse_qs(back.query)["code"][0]
    answer = client.get(reverse("oidc_authentication_callback"), {"code": code, "state": "forged"})
    assert answer.status_code == 302 and answer["Location"] == reverse("login")
    assert signed_in_user_id(client) is None
    assert GENERIC_FAILURE in refusal_shown(client)
    assert provider.token_requests == 0


def test_a_state_is_used_once(client, org, sso, provider):
    provider.person = claims_of(org.owner)
    query = start(client)
    at_provider = requests.get(
        provider.url("/authorize?" + urlencode(query)), allow_redirects=False, timeout=5
    )
    back = at_provider.headers["Location"]
    assert client.get(back)["Location"] == reverse("goals:home")
    client.post(reverse("logout"))
    again = client.get(back)
    assert again["Location"] == reverse("login")
    assert signed_in_user_id(client) is None


def test_a_refusal_by_the_provider_is_explained(client, sso):
    query = start(client)
    answer = client.get(
        reverse("oidc_authentication_callback"),
        {
            "error": "access_denied",
            "error_description": "Call +1 555 0100",
            "state": query["state"],
        },
    )
    assert answer["Location"] == reverse("login")
    page = refusal_shown(client)
    assert GENERIC_FAILURE in page
    assert "555" not in page  # the provider's words are not repeated on Waymark's page


def test_a_forged_error_link_does_not_sign_anyone_out(client, org, sso, provider):
    sign_in_at_provider(client, provider, claims_of(org.owner))
    client.get(reverse("oidc_authentication_callback"), {"error": "access_denied"})
    assert signed_in_user_id(client) == str(org.owner.pk)


@pytest.mark.parametrize(
    "defect",
    [
        "nonce",
        "audience",
        "issuer",
        "expired",
        "no expiry",
        "another key",
        "unsigned",
        "userinfo of someone else",
        "code refused",
    ],
)
def test_a_token_that_fails_a_check_signs_nobody_in(client, org, sso, provider, defect):
    if defect == "nonce":
        provider.id_token_changes = {"nonce": "not-the-one-sent"}
    elif defect == "audience":
        provider.id_token_changes = {"aud": "another-client"}
    elif defect == "issuer":
        provider.id_token_changes = {"iss": "http://impostor.example"}
    elif defect == "expired":
        provider.id_token_changes = {"exp": int(time.time()) - 60}
    elif defect == "no expiry":
        provider.id_token_changes = {"exp": REMOVE}
    elif defect == "another key":
        provider.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif defect == "unsigned":
        provider.algorithm = "none"
    elif defect == "userinfo of someone else":
        provider.userinfo_changes = {"sub": "acme-someone-else"}
    elif defect == "code refused":
        provider.token_error = True
    answer = sign_in_at_provider(client, provider, claims_of(org.owner))
    assert answer.status_code == 302 and answer["Location"] == reverse("login")
    assert signed_in_user_id(client) is None
    assert GENERIC_FAILURE in refusal_shown(client)


def test_an_unreachable_provider_gets_a_message_not_an_error(client, sso):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sso.OIDC_OP_ISSUER = f"http://127.0.0.1:{port}"
    answer = client.get(reverse("oidc_authentication_init"))
    assert answer.status_code == 302 and answer["Location"] == reverse("login")
    assert "Acme ID cannot be reached just now" in refusal_shown(client)


def test_a_discovery_document_for_another_issuer_is_not_used(client, sso, provider):
    sso.OIDC_OP_ISSUER = provider.url("/realms/acme")  # the document names the root
    answer = client.get(reverse("oidc_authentication_init"))
    assert answer["Location"] == reverse("login")
    assert "Acme ID cannot be reached just now" in refusal_shown(client)


def test_the_sign_in_button_is_a_link_not_a_form(client, sso):
    assert client.post(reverse("oidc_authentication_init")).status_code == 405


# --- Sign-in throttling (django-axes) -------------------------------------------------------


def test_people_the_provider_vouched_for_do_not_lock_out_their_office(client, org, sso, provider):
    """Refusals after the provider signed someone in are not guesses: colleagues behind
    one address without a Waymark account do not lock the others out."""
    for number in range(6):
        claims = {"sub": f"acme-{number}", "email": f"new{number}@example.org"}
        sign_in_at_provider(Client(), provider, {**claims, "email_verified": True})
    assert not AccessAttempt.objects.exists()
    answer = sign_in_at_provider(client, provider, claims_of(org.owner))
    assert answer["Location"] == reverse("goals:home")


def test_failed_code_exchanges_lock_the_address_out_of_single_sign_on(org, sso, provider):
    provider.token_error = True
    for _ in range(4):
        assert sign_in_at_provider(Client(), provider, claims_of(org.owner)).status_code == 302
    assert sign_in_at_provider(Client(), provider, claims_of(org.owner)).status_code == 429
    provider.token_error = False
    locked = sign_in_at_provider(Client(), provider, claims_of(org.owner))
    assert locked.status_code == 429
    assert "Too many attempts" in locked.content.decode()
    # Password sign-in is another pair (a username and the address): untouched.
    password = Client().post(
        reverse("login"), {"username": "owner", "password": factories.TEST_PASSWORD}
    )
    assert password.status_code == 302


def test_a_password_lock_does_not_stop_single_sign_on_from_that_address(client, org, sso, provider):
    for _ in range(5):
        Client().post(reverse("login"), {"username": "owner", "password": "wrong guess here"})
    locked = Client().post(
        reverse("login"), {"username": "owner", "password": factories.TEST_PASSWORD}
    )
    assert locked.status_code == 429
    answer = sign_in_at_provider(client, provider, claims_of(org.owner))
    assert answer["Location"] == reverse("goals:home")
    assert signed_in_user_id(client) == str(org.owner.pk)
