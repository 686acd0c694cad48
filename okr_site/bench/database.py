"""``python -m okr_site.bench.database URL``: create the PostgreSQL database of a
benchmark tier if it does not exist yet (``make bench`` builds each tier in its own)."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import psycopg
from psycopg import sql


def ensure_database(url: str) -> bool:
    """Create the database ``url`` names; False if it was already there."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = parts._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


if __name__ == "__main__":
    created = ensure_database(sys.argv[1])
    print(f"{'Created' if created else 'Reusing'} {urlsplit(sys.argv[1]).path.lstrip('/')}.")
