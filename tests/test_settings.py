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
