"""The lock that serialises changes to the alignment forests (objectives under their
parents, teams under theirs): each change checks that it closes no loop, and two
changes checked at the same moment could each pass and close one together."""

from __future__ import annotations

from django.db import connection

# Key of the PostgreSQL advisory lock.
ALIGNMENT_LOCK = 7_243_001


def lock_alignment() -> None:
    """Hold the lock until the transaction ends (run it before the loop check). PostgreSQL
    takes an advisory lock; SQLite already serialises every write transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ALIGNMENT_LOCK])
