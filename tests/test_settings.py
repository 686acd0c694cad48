"""Settings come from the environment, with a safe embedded default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

ROOT = Path(__file__).resolve().parent.parent


def settings_in_subprocess(env: dict[str, str], expression: str) -> subprocess.CompletedProcess:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"}
    }
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-c", f"from okr_site import settings as s; print({expression})"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "okr_site.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_secret_key_is_required_when_debug_is_off():
    result = settings_in_subprocess({"DEBUG": "0"}, "s.SECRET_KEY")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_embedded_default_is_sqlite_with_in_process_tasks():
    result = settings_in_subprocess(
        {},
        "s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER,"
        " s.CACHES['default']['BACKEND']",
    )
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout
    assert "True" in result.stdout
    assert "LocMemCache" in result.stdout


def test_database_and_redis_urls_switch_to_postgres_and_a_broker():
    result = settings_in_subprocess(
        {
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/somewhere",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
        },
        "s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL,"
        " 'CELERY_TASK_ALWAYS_EAGER' in dir(s)",
    )
    assert result.returncode == 0, result.stderr
    assert "postgresql" in result.stdout
    assert "redis://127.0.0.1:6379/3" in result.stdout
    assert result.stdout.strip().endswith("False")


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis: set REDIS_URL=redis://…")
def test_cache_round_trips_through_redis():
    assert "RedisCache" in settings.CACHES["default"]["BACKEND"]
    cache.set("waymark-test-key", {"ok": 1}, timeout=10)
    assert cache.get("waymark-test-key") == {"ok": 1}
    cache.delete("waymark-test-key")


def test_health_check_answers_ok(client, db):
    response = client.get("/healthz/")
    assert response.json() == {"status": "ok"}


# Single sign-on: a provider by its issuer, and this site's client at it.
OIDC = {
    "OIDC_OP_ISSUER": "https://id.example.org/realms/acme",
    "OIDC_RP_CLIENT_ID": "waymark",
    "OIDC_RP_CLIENT_SECRET": "a-client-secret",
}


def test_single_sign_on_is_off_without_configuration():
    result = settings_in_subprocess(
        {}, "s.OIDC_ENABLED, s.OIDC_ONLY, s.OIDC_CREATE_USERS, s.AUTHENTICATION_BACKENDS"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "False False False ['alignment.signin.AddressCeilingBackend',"
        " 'axes.backends.AxesStandaloneBackend',"
        " 'django.contrib.auth.backends.ModelBackend']"
    )


def test_an_issuer_and_a_client_turn_single_sign_on_on_with_safe_defaults():
    result = settings_in_subprocess(
        OIDC,
        "s.OIDC_ENABLED, s.OIDC_RP_SIGN_ALGO, s.OIDC_PROVIDER_NAME, s.OIDC_ONLY,"
        " s.OIDC_CREATE_USERS, s.OIDC_REQUIRE_EMAIL_VERIFIED, s.AUTHENTICATION_BACKENDS",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "True RS256 SSO False False True ['alignment.signin.AddressCeilingBackend',"
        " 'axes.backends.AxesStandaloneBackend',"
        " 'django.contrib.auth.backends.ModelBackend', 'okr_site.sso.OIDCBackend']"
    )


def test_the_four_endpoints_stand_in_for_the_issuer():
    endpoints = {
        f"OIDC_OP_{name}_ENDPOINT": f"https://id.example.org/{name.lower()}"
        for name in ("AUTHORIZATION", "TOKEN", "USER", "JWKS")
    }
    env = {**OIDC, "OIDC_OP_ISSUER": "", **endpoints}
    result = settings_in_subprocess(env, "s.OIDC_ENABLED, s.OIDC_OP_JWKS_ENDPOINT")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True https://id.example.org/jwks"
    del env["OIDC_OP_JWKS_ENDPOINT"]
    result = settings_in_subprocess(env, "s.OIDC_ENABLED")
    assert "Single sign-on also needs OIDC_OP_ISSUER (or all four" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"OIDC_RP_CLIENT_ID": "waymark"},
            "Single sign-on also needs OIDC_RP_CLIENT_SECRET, OIDC_OP_ISSUER",
        ),
        ({**OIDC, "OIDC_RP_SIGN_ALGO": "HS256"}, "OIDC_RP_SIGN_ALGO must be one of"),
        ({**OIDC, "OIDC_RP_SIGN_ALGO": "none"}, "OIDC_RP_SIGN_ALGO must be one of"),
        ({"OIDC_ONLY": "true"}, "OIDC_ONLY and OIDC_CREATE_USERS need single sign-on"),
        ({"OIDC_CREATE_USERS": "true"}, "OIDC_ONLY and OIDC_CREATE_USERS need single sign-on"),
        (
            {
                **OIDC,
                "OIDC_OP_ISSUER": "http://id.example.org",
                "DEBUG": "0",
                "SECRET_KEY": "x7Kq2vN9pL4wR8tY1zB6cF3hJ5mD0sG-a_long_random_production_key",
            },
            "The OIDC_OP_* addresses must be https:// when DEBUG is off.",
        ),
    ],
)
def test_incomplete_or_unsafe_single_sign_on_settings_are_refused(env, message):
    result = settings_in_subprocess(env, "s.OIDC_ENABLED")
    assert result.returncode != 0
    assert message in result.stderr


def test_oidc_only_keeps_password_sign_in_for_superusers_alone():
    env = {**OIDC, "OIDC_ONLY": "yes", "OIDC_CREATE_USERS": "on", "OIDC_PROVIDER_NAME": "Acme ID"}
    result = settings_in_subprocess(
        env, "s.OIDC_ONLY, s.OIDC_CREATE_USERS, s.OIDC_PROVIDER_NAME, s.AUTHENTICATION_BACKENDS"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "True True Acme ID ['alignment.signin.AddressCeilingBackend',"
        " 'axes.backends.AxesStandaloneBackend',"
        " 'okr_site.sso.SuperuserPasswordBackend', 'okr_site.sso.OIDCBackend']"
    )


def test_checks_pass_with_single_sign_on_configured():
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "DATABASE_URL", "REDIS_URL"} and not key.startswith("DJANGO_")
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, **OIDC, "OIDC_ONLY": "true"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
