"""An objective's change history: who changed what, when, from what to what.

Reads django-simple-history's tables for the objective and its key results (two
queries) and turns consecutive versions into readable changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from django.utils import timezone
from django.utils.formats import date_format

from goals.models import KeyResult, Kpi, Objective

LIMIT = 200  # versions read per table: a page, not an archive
# Check-ins move these; their own history is the check-in timeline.
HIDDEN_FIELDS = {"history_change_reason", "position", "current_value", "confidence"}


@dataclass(frozen=True)
class Change:
    when: datetime
    who: object
    subject: str
    summary: str
    details: tuple[tuple[str, str, str], ...] = ()  # (field label, old, new)


def objective_history(objective: Objective) -> list[Change]:
    """Newest first: the objective's versions and those of its key results."""
    versions = list(
        Objective.history.filter(id=objective.pk)
        .select_related("history_user")
        .order_by("-history_date")[:LIMIT]
    )
    kr_versions = list(
        KeyResult.history.filter(objective_id=objective.pk)
        .select_related("history_user")
        .order_by("-history_date")[:LIMIT]
    )
    changes = _changes(versions, Objective, "Objective") + _changes(
        kr_versions, KeyResult, "Key result"
    )
    return sorted(changes, key=lambda change: change.when, reverse=True)


def kpi_history(kpi: Kpi) -> list[Change]:
    """Newest first: the KPI's versions (its readings are their own history)."""
    versions = list(
        Kpi.history.filter(id=kpi.pk)
        .select_related("history_user")
        .order_by("-history_date")[:LIMIT]
    )
    return sorted(_changes(versions, Kpi, "KPI", label="name"), key=lambda c: c.when, reverse=True)


def _changes(versions: list, model, noun: str, *, label: str = "title") -> list[Change]:
    by_row: dict[int, list] = {}
    for version in reversed(versions):  # oldest first within each row
        by_row.setdefault(version.id, []).append(version)
    changes = []
    for rows in by_row.values():
        first = rows[0]
        if first.history_type == "+":
            changes.append(_event(first, f"{noun} “{getattr(first, label)}”", "created"))
        for older, newer in pairwise(rows):
            details = _diff(model, older, newer)
            if details:
                subject = f"{noun} “{getattr(newer, label)}”"
                changes.append(_event(newer, subject, "changed", details))
    return changes


def _event(version, subject: str, summary: str, details=()) -> Change:
    return Change(version.history_date, version.history_user, subject, summary, tuple(details))


def _diff(model, older, newer) -> list[tuple[str, str, str]]:
    delta = newer.diff_against(older)
    details = []
    for change in delta.changes:
        if change.field in HIDDEN_FIELDS:
            continue
        field = model._meta.get_field(change.field)
        details.append((str(field.verbose_name), _shown(change.old), _shown(change.new)))
    return details


def _shown(value) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "j M Y, H:i")
    if hasattr(value, "normalize"):  # Decimal: no trailing zeros
        return f"{value.normalize():f}"
    return str(value)
