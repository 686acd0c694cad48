"""A paginator for the admin's changelists of tables that grow without end (check-ins).

Counting every row of a table of millions costs a full scan on PostgreSQL on each page
view. When nothing narrows the list, the planner's own estimate of the table's rows is
good enough for "page N of M"; a filtered or searched list is counted exactly."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property
from psycopg import sql

# Below this many rows an exact count is cheap: keep it exact.
ESTIMATE_ABOVE = 100_000


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        connection = connections[self.object_list.db] if query is not None else None
        if query is None or query.where or connection.vendor != "postgresql":
            return super().count
        # One query whatever the size: the estimate, or the exact count of a small table
        # (the subquery runs only when the CASE reaches it).
        table = query.model._meta.db_table
        count = sql.SQL(
            "SELECT CASE WHEN reltuples > %s THEN reltuples::bigint "
            "ELSE (SELECT COUNT(*) FROM {}) END FROM pg_class WHERE oid = %s::regclass"
        ).format(sql.Identifier(table))
        with connection.cursor() as cursor:
            cursor.execute(count, [ESTIMATE_ABOVE, table])
            return cursor.fetchone()[0]
