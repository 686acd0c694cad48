"""Writing the organisation export.

Each section costs a fixed number of queries whatever its size: one for its rows (read
with ``.iterator()``, so a big table is never held in memory), one per many-to-many
field, and five at the start that map primary keys to the keys rows are referred to by
(usernames, slugs, cycle and group names, permission names). All of it is read in one
transaction, on PostgreSQL at REPEATABLE READ, so a check-in written meanwhile cannot
point at a key result the file lacks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.utils import timezone

from okr_site.portability.spec import FORMAT, ID, PERMISSIONS, SECTIONS, VERSION, Section

CHUNK = 2000
FLUSH_AT = 64 * 1024  # characters buffered before a streamed piece is handed on


def export_organisation() -> dict[str, Any]:
    """The whole organisation as one JSON-ready dict (held in memory: for a large
    organisation stream it with ``iter_export_json`` instead)."""
    with _snapshot():
        keys = _Keys()
        document: dict[str, Any] = _header()
        for section in SECTIONS:
            document[section.name] = list(_rows(section, keys))
    return document


def iter_export_json(*, counts: dict[str, int] | None = None) -> Iterator[str]:
    """The export as JSON text in pieces of about 64 KB, one row per line; fills
    ``counts`` (section → rows) as it goes."""
    pieces: list[str] = []
    size = 0
    with _snapshot():
        keys = _Keys()
        header = _header()
        yield "{\n" + "".join(f"  {json.dumps(k)}: {json.dumps(v)},\n" for k, v in header.items())
        for index, section in enumerate(SECTIONS):
            pieces.append(f"  {json.dumps(section.name)}: [")
            count = 0
            for row in _rows(section, keys):
                line = ("," if count else "") + "\n    " + json.dumps(row, ensure_ascii=False)
                pieces.append(line)
                size += len(line)
                count += 1
                if size >= FLUSH_AT:
                    yield "".join(pieces)
                    pieces, size = [], 0
            pieces.append(("\n  ]" if count else "]") + ("," if index < len(SECTIONS) - 1 else ""))
            pieces.append("\n")
            if counts is not None:
                counts[section.name] = count
        pieces.append("}\n")
        yield "".join(pieces)


def _header() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "site": settings.SITE_URL,
        "time_zone": settings.TIME_ZONE,
    }


@contextmanager
def _snapshot() -> Iterator[None]:
    """One consistent view of the database for every query of the export."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


class _Keys:
    """Primary key → the key other rows refer to it by, for the sections keyed by
    something other than their file-local id."""

    def __init__(self) -> None:
        self.by_section: dict[str, dict[int, str]] = {
            section.name: dict(section.model.objects.values_list("pk", section.key))
            for section in SECTIONS
            if section.key not in (None, ID)
        }
        self.by_section[PERMISSIONS] = {
            pk: f"{app_label}.{codename}"
            for pk, app_label, codename in Permission.objects.values_list(
                "pk", "content_type__app_label", "codename"
            )
        }

    def of(self, section: str, pk: int | None) -> str | int | None:
        if pk is None or section not in self.by_section:
            return pk
        return self.by_section[section][pk]


def _rows(section: Section, keys: _Keys) -> Iterator[dict[str, Any]]:
    links = {name: _links(section, name, keys) for name in section.many}
    columns = [name for name in section.columns if name not in section.many]
    rows = section.model.objects.order_by("pk").values("pk", *columns)
    for values in rows.iterator(chunk_size=CHUNK):
        row: dict[str, Any] = {ID: values["pk"]} if section.keyed_by_id else {}
        for name in section.columns:
            if name in links:
                row[name] = links[name].get(values["pk"], [])
            elif name in section.refs:
                row[name] = keys.of(section.refs[name], values[name])
            else:
                row[name] = _plain(values[name])
        yield row


def _links(section: Section, name: str, keys: _Keys) -> dict[int, list[str | int | None]]:
    """Source pk → the keys it links to, in the order the links were made (one query)."""
    model_field = section.fields[name]
    through = model_field.remote_field.through
    pairs = through.objects.order_by("pk").values_list(
        f"{model_field.m2m_field_name()}_id", f"{model_field.m2m_reverse_field_name()}_id"
    )
    links: dict[int, list[str | int | None]] = defaultdict(list)
    for source, target in pairs.iterator(chunk_size=CHUNK):
        links[source].append(keys.of(section.many[name], target))
    return links


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):  # datetimes keep their UTC offset
        return value.isoformat()
    return value
