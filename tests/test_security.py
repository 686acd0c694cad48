"""The web layer's defences: response headers, cookies, the production settings that
`check --deploy` reviews, password hashing and rules, and the session's life."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from okr_site import settings as project_settings
from tests.test_settings import settings_in_subprocess

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
# What docs/security.md tells self-hosters to set behind a TLS-terminating proxy.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x7Kq2vN9pL4wR8tY1zB6cF3hJ5mD0sG-a_long_random_production_key",
    "ALLOWED_HOSTS": "okr.example.org",
    "SITE_URL": "https://okr.example.org",
    "BEHIND_TLS_PROXY": "true",
}


def test_check_deploy_is_clean_under_the_documented_production_settings():
    # Not this test run's own switches (the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE).
    clean = {
        key: value
        for key, value in os.environ.items()
        if key != "DEBUG" and not key.startswith("DJANGO_")
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, **PRODUCTION},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_send_everything_over_https_only():
    names = "SECURE_SSL_REDIRECT SECURE_HSTS_SECONDS SECURE_HSTS_INCLUDE_SUBDOMAINS"
    names += " SESSION_COOKIE_SECURE CSRF_COOKIE_SECURE SECURE_PROXY_SSL_HEADER"
    result = settings_in_subprocess(PRODUCTION, ", ".join(f"s.{name}" for name in names.split()))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "True 31536000 True True True ('HTTP_X_FORWARDED_PROTO', 'https')"
    )


def test_production_cookies_carry_the_host_prefix():
    names = "SESSION_COOKIE_NAME CSRF_COOKIE_NAME MESSAGE_STORAGE"
    result = settings_in_subprocess(PRODUCTION, ", ".join(f"s.{name}" for name in names.split()))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "django.contrib.messages.storage.session.SessionStorage",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/api/v1/cycles/", "/no-such-page/", "/api/docs/"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_hsts_is_sent_over_https(client, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = client.get("/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000; includeSubDomains")


@pytest.fixture
def owner(org):
    """The owner persona, with a password to sign in with through the form."""
    org.owner.set_password(PASSWORD)
    org.owner.save()
    return org.owner


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_http_only_same_site_and_secure(owner, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    client = Client()
    csrf = client.get("/login/", secure=True).cookies["csrftoken"]
    assert csrf["samesite"] == "Lax" and csrf["secure"]
    response = client.post(
        "/login/", {"username": owner.username, "password": PASSWORD}, secure=True
    )
    session = response.cookies["sessionid"]
    assert session["httponly"] and session["secure"] and session["samesite"] == "Lax"


def test_passwords_are_hashed_with_argon2():
    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    hasher = Argon2PasswordHasher()  # argon2-cffi installed: it hashes and verifies
    encoded = hasher.encode(PASSWORD, hasher.salt())
    assert encoded.startswith("argon2$") and hasher.verify(PASSWORD, encoded)


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("short pass", False),  # under 12 characters
        ("password1234", False),  # a common password
        ("1qaz2wsx3edc", False),  # a common long one, on Waymark's own list only
        ("QwertyQwerty", False),  # the lists are compared without case
        ("ladder otter violet", True),  # a pass phrase: length, no composition rules
        ("4815162342108", True),  # digits only are fine when long enough
        ("ŝtupoj de la ĉielo", True),
    ],
)
def test_password_rules_are_about_length_not_composition(settings, password, accepted):
    settings.AUTH_PASSWORD_VALIDATORS = project_settings.AUTH_PASSWORD_VALIDATORS
    if accepted:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


def test_the_common_long_passwords_are_thousands_of_the_policys_length():
    """ASVS V6.2.4: at least the 3,000 most common passwords that the policy would let
    through. Django's own list has few of 12 characters or more."""
    with gzip.open(project_settings.COMMON_LONG_PASSWORDS, "rt", encoding="utf-8") as file:
        entries = file.read().splitlines()

    assert len(entries) == len(set(entries)) == 10_000
    assert all(len(entry) >= 12 and entry == entry.lower() for entry in entries)
    with gzip.open(Path(password_validation.__file__).parent / "common-passwords.txt.gz") as f:
        djangos = [line for line in f.read().decode().splitlines() if len(line) >= 12]
    assert len(djangos) < 300 < 3_000 < len(set(entries) - set(djangos))


@pytest.mark.django_db
class TestSessions:
    def sign_in(self, user) -> Client:
        client = Client()
        client.get("/login/")
        before = client.session.session_key
        response = client.post("/login/", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 302
        assert client.session.session_key != before  # a new session at sign-in
        return client

    def test_sign_out_ends_the_session(self, owner):
        client = self.sign_in(owner)
        key = client.session.session_key
        response = client.post(reverse("logout"))
        assert not Session.objects.filter(session_key=key).exists()
        assert client.get(reverse("goals:home")).status_code == 302
        # The browser is asked to drop what it kept of the pages it saw.
        assert response["Clear-Site-Data"] == '"cache", "storage"'

    def test_htmx_keeps_no_copies_of_pages_for_the_back_button(self, owner):
        page = self.sign_in(owner).get(reverse("goals:home")).content.decode()
        config = re.search(r'<meta name="htmx-config" content=\'([^\']*)\'>', page).group(1)
        assert json.loads(config)["historyCacheSize"] == 0

    def test_a_deactivated_person_is_signed_out_everywhere(self, owner):
        client = self.sign_in(owner)
        owner.is_active = False
        owner.save()
        assert client.get(reverse("goals:home")).status_code == 302
        refused = Client().post("/login/", {"username": owner.username, "password": PASSWORD})
        assert refused.status_code == 200  # the form again, not signed in

    def test_changing_the_password_ends_the_other_sessions(self, owner):
        elsewhere = self.sign_in(owner)
        owner.set_password("another long pass phrase")
        owner.save()
        assert elsewhere.get(reverse("goals:home")).status_code == 302


@pytest.mark.django_db
class TestSignInThrottling:
    """Five wrong passwords for one username from one address lock that pair out; the
    same person elsewhere, and other people from that address, still sign in."""

    @staticmethod
    def attempt(user, password: str, address: str, **headers):
        client = Client(REMOTE_ADDR=address, headers=headers)
        return client.post("/login/", {"username": user.username, "password": password})

    def fail_five_times(self, user, address: str, **headers) -> None:
        """Four wrong passwords get the form again; the fifth locks the pair out."""
        for _ in range(4):
            assert self.attempt(user, "wrong guess here", address, **headers).status_code == 200
        assert self.attempt(user, "wrong guess here", address, **headers).status_code == 429

    def test_five_failures_lock_the_username_from_that_address(self, owner):
        self.fail_five_times(owner, "203.0.113.7")
        locked = self.attempt(owner, PASSWORD, "203.0.113.7")
        assert locked.status_code == 429
        assert "Too many attempts" in locked.content.decode()

    def test_an_attacker_cannot_lock_the_victim_out(self, owner, org):
        self.fail_five_times(owner, "203.0.113.7")
        assert self.attempt(owner, PASSWORD, "198.51.100.20").status_code == 302
        org.teammate.set_password(PASSWORD)
        org.teammate.save()
        assert self.attempt(org.teammate, PASSWORD, "203.0.113.7").status_code == 302

    def test_a_success_clears_the_failures(self, owner):
        for _ in range(4):
            self.attempt(owner, "wrong guess here", "203.0.113.7")
        assert self.attempt(owner, PASSWORD, "203.0.113.7").status_code == 302
        self.fail_five_times(owner, "203.0.113.7")  # counted from zero again

    def test_a_forged_forwarded_for_does_not_change_the_address(self, owner):
        for number in range(5):
            self.attempt(
                owner, "wrong guess here", "203.0.113.7", x_forwarded_for=f"10.0.0.{number}"
            )
        assert self.attempt(owner, PASSWORD, "203.0.113.7").status_code == 429

    def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(self, owner, settings):
        settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
        settings.AXES_IPWARE_PROXY_ORDER = "right-most"
        proxy = "10.0.0.2"
        # The client forges a left-most address; the proxy appends the one it saw.
        self.fail_five_times(owner, proxy, x_forwarded_for="192.0.2.1, 203.0.113.7")
        elsewhere = self.attempt(owner, PASSWORD, proxy, x_forwarded_for="192.0.2.1, 198.51.100.20")
        assert elsewhere.status_code == 302
