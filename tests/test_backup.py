"""Backups as docs/operations.md tells self-hosters to take them: ``make backup`` (pg_dump's
custom format) and ``make restore`` (pg_restore into a new database). The restored
database holds what the original held: as many rows in every table, the same content in
the tables that matter most, sequences that go on where they were, and no migration left
to apply. The JSON export's round trip is in tests/test_portability.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from psycopg import sql

from alignment.models import Membership, Team, User
from checkins.models import ActionItem, CheckIn, Nudge
from goals.models import KeyResult, Objective
from tests import factories
from tests.processes import database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TOOLS = ["make", "pg_dump", "createdb", "pg_restore"]
# Compared column by column; every other table by its row count.
KEY_MODELS = [User, Team, Objective, KeyResult, CheckIn, Nudge]


@pytest.fixture
def restore_url() -> Iterator[str]:
    """A database to restore into, named after the test database: dropped before (a run
    that stopped half-way may have left it) and after."""
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (PostgreSQL's client programs, make)")
    server, _, name = database_url().rpartition("/")
    name = f"{name.removeprefix('test_')}_restored"

    def drop() -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    drop()
    yield f"{server}/{name}"
    drop()


def make(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own command line)
        ["make", "--no-print-directory", *arguments],  # noqa: S607 (make from PATH)
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )


def contents(url: str) -> dict[str, dict]:
    """The row count of every table, a digest of every row of the key tables (in id
    order) and where each sequence stands."""
    with psycopg.connect(url) as db:
        tables = [
            table
            for (table,) in db.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        counts = {
            table: db.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            for table in tables
        }
        digests = {
            model._meta.db_table: db.execute(
                sql.SQL("SELECT md5(string_agg(t::text, E'\\n' ORDER BY t.id)) FROM {} t").format(
                    sql.Identifier(model._meta.db_table)
                )
            ).fetchone()[0]
            for model in KEY_MODELS
        }
        sequences = dict(
            db.execute(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
            ).fetchall()
        )
    return {"counts": counts, "digests": digests, "sequences": sequences}


def organisation() -> None:
    """Some rows of every kind a backup must keep: people in teams, a cascade of goals
    with their change history, check-ins, initiatives, a KPI's readings, weekly updates,
    a one-to-one with an action item, and sent reminders."""
    cycle = factories.CycleFactory(name="2026 Q4")
    company = factories.TeamFactory(name="Company", slug="company")
    product = factories.TeamFactory(name="Product", slug="product", parent=company)
    lead = factories.UserFactory(username="lead")
    factories.MembershipFactory(user=lead, team=product, role=Membership.Role.LEAD)
    company_kr = factories.KeyResultFactory(
        objective__cycle=cycle, objective__team=company, objective__owner=lead
    )
    for n in range(6):
        person = factories.UserFactory(username=f"person-{n}", manager=lead)
        factories.MembershipFactory(user=person, team=product)
        objective = factories.ObjectiveFactory(
            cycle=cycle,
            team=product,
            owner=person,
            parent=company_kr.objective,
            parent_key_result=company_kr,
        )
        for key_result in factories.KeyResultFactory.create_batch(2, objective=objective):
            factories.CheckInFactory.create_batch(3, key_result=key_result)
            factories.InitiativeFactory(key_result=key_result)
        factories.WeeklyUpdateFactory(author=person, what_moved=f"Week of {person.username}")
        Nudge.objects.create(
            recipient=person,
            kind=Nudge.Kind.REMINDER,
            period="2026-W48",
            subject="Check-in day",
            state=Nudge.State.SENT,
        )
    factories.KpiReadingFactory.create_batch(5, kpi=factories.KpiFactory(team=product))
    one_on_one = factories.OneOnOneFactory(manager=lead, report=person)
    ActionItem.objects.create(one_on_one=one_on_one, text="Share the funnel", owner=person)


def test_make_backup_then_make_restore_gives_back_every_row(restore_url, tmp_path):
    organisation()
    original = contents(database_url())
    dump = tmp_path / "waymark.dump"

    backup = make("backup", f"BACKUP={dump}", f"DATABASE_URL={database_url()}")
    assert backup.returncode == 0, backup.stdout + backup.stderr
    restore = make("restore", f"BACKUP={dump}", f"DATABASE_URL={restore_url}")
    assert restore.returncode == 0, restore.stdout + restore.stderr

    assert contents(restore_url) == original
    tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    assert tables <= set(original["counts"])
    assert all(original["counts"][model._meta.db_table] for model in KEY_MODELS), original
    # This version of Waymark runs on it as it is.
    migrations = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check", "--noinput"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": restore_url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert migrations.returncode == 0, migrations.stdout + migrations.stderr

    # A restore never overwrites: into a database that exists it stops before writing.
    again = make("restore", f"BACKUP={dump}", f"DATABASE_URL={restore_url}")
    assert again.returncode != 0
    assert "already exists" in again.stderr
    assert contents(restore_url) == original
