"""Reading an organisation export into a new, empty instance.

Three steps, and nothing is written unless all pass:

1. the instance must hold no organisation yet (accounts are allowed: the admin running
   the import, matched by username if the file has them too);
2. the whole document is validated in Python (format and version, every column against
   its model field, every reference, unique keys, loops in the trees) and every problem
   is reported with its path, e.g. ``objectives[12].parent: …``;
3. everything is written in one transaction: ``bulk_create`` per section in the order of
   ``spec.SECTIONS``, file keys mapped to new primary keys as rows are created. What
   cannot be set on creation is set afterwards with ``bulk_update``: references to rows
   created later (a parent objective, a parent key result, a corrected check-in) and the
   ``auto_now``/``auto_now_add`` timestamps, which Django would otherwise stamp "now".
   A rule the database still refuses rolls everything back with its message.

Imported people get an unusable password. The change history (django-simple-history)
is not in the file: each imported goal gets one "created" version, dated when the row
was created and labelled as imported.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, models, transaction
from django.utils import timezone

from alignment import rollup
from alignment.models import User
from goals.models import Objective
from okr_site.portability.spec import (
    BY_NAME,
    FORMAT,
    HEADER,
    ID,
    PERMISSIONS,
    POSITION,
    SECTIONS,
    VERSION,
    Section,
)

BATCH = 1000
SHOWN_PROBLEMS = 50
# Flags an import may raise on an account that already exists here, never lower, so the
# admin running it keeps their access.
RAISED_ONLY = ("is_active", "is_staff", "is_superuser")

Key = str | int


class ImportRefused(Exception):
    """The document cannot be imported here; ``problems`` say why, one line each."""

    def __init__(self, problems: list[str], *, more: int = 0) -> None:
        self.problems = problems
        self.more = more
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = self.problems[:SHOWN_PROBLEMS]
        hidden = len(self.problems) - len(lines) + self.more
        if hidden:
            lines = [*lines, f"… and {hidden} more problems."]
        return "\n".join(lines)


def load_document(text: str | bytes) -> Any:
    """Parse an export's JSON; ``ImportRefused`` when it is not JSON."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ImportRefused(
            [f"The file is not JSON: {error.msg} (line {error.lineno}, column {error.colno})."]
        ) from error
    except UnicodeDecodeError as error:
        raise ImportRefused(["The file is not JSON: it is not UTF-8 text."]) from error
    except ValueError as error:  # NaN or Infinity, which JSON does not have
        raise ImportRefused([f"The file is not valid JSON: {error}"]) from error


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows.")


def import_organisation(data: Any) -> dict[str, int]:
    """Import ``data`` (a parsed export) into this empty instance, all or nothing.

    Returns how many rows of each section were imported. Raises ``ImportRefused`` with
    every problem found, and then writes nothing.
    """
    refuse_unless_empty()
    cleaned = validate(data)
    current = "the document"
    try:
        with transaction.atomic(durable=True):
            writer = _Writer(cleaned, reason=_history_reason(data))
            for section in SECTIONS:
                current = section.name
                writer.create(section)
            for section in SECTIONS:
                current = section.name
                writer.finish(section)
            for section in SECTIONS:
                current = section.name
                writer.record_history(section)
            # The export carries progress but not what the roll-up derives for
            # "needs attention": derived here, from the imported key results.
            rollup.refresh_attention(Objective.objects.values("pk"))
    except (IntegrityError, DataError) as error:
        raise ImportRefused([f"{current}: {_database_refusal(error)}"]) from error
    return {section.name: len(cleaned[section.name]) for section in SECTIONS}


def refuse_unless_empty() -> None:
    """Raise ``ImportRefused`` when this instance already holds anything but accounts."""
    found = []
    for section in SECTIONS:
        if section.model in (User, Group) or not section.model.objects.exists():
            continue
        found.append(f"{section.model.objects.count()} {section.name.replace('_', ' ')}")
    if found:
        raise ImportRefused(
            [
                f"This instance already holds an organisation ({', '.join(found)}). An export "
                "is imported only into a new, empty instance: create a new database, run "
                "`manage.py migrate`, then import."
            ]
        )


def _history_reason(data: dict[str, Any]) -> str:
    origin = data.get("site") or "another instance"
    exported = data.get("exported_at")
    return f"Imported from {origin}" + (f" (export of {exported})" if exported else "")


def _database_refusal(error: Exception) -> str:
    text = str(error)
    for section in SECTIONS:
        for constraint in section.model._meta.constraints:
            if constraint.name in text:
                message = constraint.get_violation_error_message()
                return f"{message} (the database refused a row: {constraint.name})"
    return f"the database refused a row: {text}"


# --- Validation --------------------------------------------------------------------------


@dataclass
class _Problems:
    lines: list[str] = field(default_factory=list)
    more: int = 0

    def add(self, path: str, message: str) -> None:
        if len(self.lines) < 1000:
            self.lines.append(f"{path}: {message}")
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.lines)


def validate(data: Any) -> dict[str, list[dict[str, Any]]]:
    """Check the whole document; return its rows cleaned to Python values (references
    still as file keys). Raises ``ImportRefused`` listing every problem."""
    problems = _Problems()
    _check_header(data, problems)
    if problems:
        raise ImportRefused(problems.lines)
    keys = _collect_keys(data, problems)
    cleaned = {
        section.name: [
            _clean_row(section, index, row, keys, problems)
            for index, row in enumerate(data[section.name])
        ]
        for section in SECTIONS
    }
    if not problems:
        _check_unique(cleaned, problems)
        _check_trees(cleaned, problems)
        _check_alignment(cleaned, problems)
    if problems:
        raise ImportRefused(problems.lines, more=problems.more)
    return cleaned


def _check_header(data: Any, problems: _Problems) -> None:
    if not isinstance(data, dict):
        problems.add("document", f'must be a JSON object, {{"format": "{FORMAT}", …}}')
        return
    if data.get("format") != FORMAT:
        problems.add("format", f"must be “{FORMAT}”: this is not a Waymark organisation export")
        return
    if data.get("version") != VERSION:
        problems.add(
            "version",
            f"this Waymark reads version {VERSION} exports; this one says "
            f"{json.dumps(data.get('version'))}",
        )
        return
    for name in data:
        if name not in HEADER and name not in BY_NAME:
            problems.add(name, f"is not a section of a version {VERSION} export")
    for section in SECTIONS:
        if section.name not in data:
            problems.add(section.name, "is missing (an empty list when there is nothing)")
        elif not isinstance(data[section.name], list):
            problems.add(section.name, "must be a list")


def _collect_keys(data: dict[str, Any], problems: _Problems) -> dict[str, set[Key]]:
    """The keys each section defines, so that references forward and backward resolve."""
    keys: dict[str, set[Key]] = {}
    for section in SECTIONS:
        if section.key is None:
            continue
        seen: dict[Key, int] = {}
        for index, row in enumerate(data[section.name]):
            if not isinstance(row, dict) or section.key not in row:
                continue  # reported with the row's other columns
            key = row[section.key]
            if not _is_key(section, key):
                continue
            if key in seen:
                problems.add(
                    f"{section.name}[{index}].{section.key}",
                    f"{json.dumps(key)} is already used by {section.name}[{seen[key]}]",
                )
            seen.setdefault(key, index)
        keys[section.name] = set(seen)
    keys[PERMISSIONS] = {
        f"{app_label}.{codename}"
        for app_label, codename in Permission.objects.values_list(
            "content_type__app_label", "codename"
        )
    }
    return keys


def _is_key(section: Section | None, value: Any) -> bool:
    if section is not None and section.keyed_by_id:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def _clean_row(
    section: Section, index: int, row: Any, keys: dict[str, set[Key]], problems: _Problems
) -> dict[str, Any]:
    path = f"{section.name}[{index}]"
    if not isinstance(row, dict):
        problems.add(path, "must be an object")
        return {}
    columns = {*section.columns, *([ID] if section.keyed_by_id else [])}
    for name in sorted(set(row) - columns):
        problems.add(f"{path}.{name}", f"is not a column of {section.name}")
    cleaned: dict[str, Any] = {}
    if section.keyed_by_id:
        if not _is_key(section, row.get(ID)):
            problems.add(f"{path}.{ID}", "must be a whole number that links rows in this file")
        cleaned[ID] = row.get(ID)
    for name, model_field in section.fields.items():
        where = f"{path}.{name}"
        if name in section.many:
            cleaned[name] = _clean_many(
                section.many[name], row.get(name, []), where, keys, problems
            )
        elif name in section.refs:
            cleaned[name] = _clean_ref(
                section.refs[name], model_field, row, name, where, keys, problems
            )
        elif name not in row:
            cleaned[name] = _default(model_field, where, problems)
        else:
            try:
                cleaned[name] = _clean_value(model_field, row[name])
            except ValidationError as error:
                problems.add(where, " ".join(error.messages))
    return cleaned


def _describe(target: str, key: Any) -> str:
    if target == PERMISSIONS:
        return f"no permission {json.dumps(key)} exists on this instance"
    section = BY_NAME[target]
    return f"no row of {target} has {section.key} {json.dumps(key)} in this file"


def _clean_ref(
    target: str,
    model_field: models.Field,
    row: dict[str, Any],
    name: str,
    where: str,
    keys: dict[str, set[Key]],
    problems: _Problems,
) -> Key | None:
    if name not in row and not model_field.null:
        problems.add(where, "is missing")
        return None
    key = row.get(name)
    if key is None:
        if not model_field.null:
            problems.add(where, "is required")
        return None
    if not _is_key(BY_NAME.get(target), key):
        kind = "a file-local id (a number)" if BY_NAME[target].keyed_by_id else "text"
        problems.add(where, f"must be {kind} naming a row of {target}")
        return None
    if key not in keys[target]:
        problems.add(where, _describe(target, key))
        return None
    return key


def _clean_many(
    target: str, value: Any, where: str, keys: dict[str, set[Key]], problems: _Problems
) -> list[Key]:
    if not isinstance(value, list):
        problems.add(where, f"must be a list of {target}")
        return []
    seen: list[Key] = []
    for index, key in enumerate(value):
        if not _is_key(BY_NAME.get(target), key) or key not in keys[target]:
            problems.add(f"{where}[{index}]", _describe(target, key))
        elif key in seen:
            problems.add(f"{where}[{index}]", f"{json.dumps(key)} is listed twice")
        else:
            seen.append(key)
    return seen


def _default(model_field: models.Field, where: str, problems: _Problems) -> Any:
    if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
        return timezone.now()
    if model_field.has_default():
        return model_field.get_default()
    if model_field.null:
        return None
    if model_field.blank and model_field.empty_strings_allowed:
        return ""
    problems.add(where, "is missing")
    return None


def _clean_value(model_field: models.Field, raw: Any) -> Any:
    """``raw`` as the model field's Python value, with the field's own validation."""
    if isinstance(raw, dict | list):
        raise ValidationError("must be a single value, not a list or an object.")
    if isinstance(raw, bool) and not isinstance(model_field, models.BooleanField):
        raise ValidationError("must not be true or false.")
    if isinstance(model_field, models.BooleanField) and not isinstance(raw, bool):
        raise ValidationError("must be true or false.")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ValidationError("must be a finite number.")
    if isinstance(model_field, models.DecimalField) and isinstance(raw, int | float):
        raw = str(raw)  # as written, not as the nearest binary float
    value = model_field.clean(raw, None)
    if isinstance(model_field, models.DateTimeField):
        if value is not None and timezone.is_naive(value):
            raise ValidationError(
                "needs its UTC offset, e.g. 2026-01-05T09:30:00+00:00 (ISO 8601)."
            )
    elif isinstance(model_field, models.DateField) and isinstance(raw, str) and "T" in raw:
        raise ValidationError("must be a date, e.g. 2026-01-05.")
    return value


def _check_unique(cleaned: dict[str, list[dict[str, Any]]], problems: _Problems) -> None:
    """The models' unique fields and constraints (the sections' keys are checked already)."""
    for section in SECTIONS:
        for columns in _unique_sets(section):
            seen: dict[tuple[Any, ...], int] = {}
            for index, row in enumerate(cleaned[section.name]):
                value = tuple(row.get(column) for column in columns)
                if value in seen:
                    problems.add(
                        f"{section.name}[{index}]",
                        f"same {' and '.join(columns)} as {section.name}[{seen[value]}]",
                    )
                seen.setdefault(value, index)


def _unique_sets(section: Section) -> list[tuple[str, ...]]:
    meta = section.model._meta
    sets = [
        (model_field.name,)
        for model_field in meta.concrete_fields
        if model_field.unique
        and model_field.name in section.columns
        and model_field.name != section.key
    ]
    sets += [
        tuple(constraint.fields)
        for constraint in meta.constraints
        if isinstance(constraint, models.UniqueConstraint)
        and constraint.condition is None
        and constraint.fields
        and set(constraint.fields) <= set(section.columns)
    ]
    return sets


def _check_trees(cleaned: dict[str, list[dict[str, Any]]], problems: _Problems) -> None:
    """No loops through a section's reference to itself (teams, managers, the cascade,
    corrections, carried action items); one company."""
    for section in SECTIONS:
        for name, target in section.refs.items():
            if target != section.name:
                continue
            rows = cleaned[section.name]
            parent_of = {row[section.key]: row[name] for row in rows}
            index_of = {row[section.key]: index for index, row in enumerate(rows)}
            for loop in _loops(parent_of):
                chain = " → ".join(json.dumps(key) for key in [*loop, loop[0]])
                problems.add(
                    f"{section.name}[{index_of[loop[0]]}].{name}", f"makes a loop: {chain}"
                )
    roots = [index for index, row in enumerate(cleaned["teams"]) if row["parent"] is None]
    for index in roots[1:]:
        company = cleaned["teams"][roots[0]]["slug"]
        problems.add(
            f"teams[{index}].parent",
            f"only the company has no parent, and that is “{company}” (teams[{roots[0]}])",
        )


def _loops(parent_of: dict[Key, Key | None]) -> Iterator[list[Key]]:
    done: set[Key] = set()
    for start in parent_of:
        path: list[Key] = []
        on_path: set[Key] = set()
        current: Key | None = start
        while current is not None and current not in done and current not in on_path:
            path.append(current)
            on_path.add(current)
            current = parent_of.get(current)
        if current is not None and current in on_path:
            yield path[path.index(current) :]
        done.update(path)


def _check_alignment(cleaned: dict[str, list[dict[str, Any]]], problems: _Problems) -> None:
    """A parent key result belongs to the parent objective, whose cycle overlaps."""
    objective_of = {row[ID]: row["objective"] for row in cleaned["key_results"]}
    objectives = {row[ID]: row for row in cleaned["objectives"]}
    cycles = {row["name"]: row for row in cleaned["cycles"]}
    for index, row in enumerate(cleaned["objectives"]):
        where = f"objectives[{index}]"
        key_result = row["parent_key_result"]
        if key_result is not None and objective_of[key_result] != row["parent"]:
            problems.add(
                f"{where}.parent_key_result",
                f"key result {key_result} belongs to objective {objective_of[key_result]}, "
                f"not to the parent {json.dumps(row['parent'])}",
            )
        if row["parent"] is None:
            continue
        mine, theirs = cycles[row["cycle"]], cycles[objectives[row["parent"]]["cycle"]]
        if theirs["start_date"] > mine["end_date"] or theirs["end_date"] < mine["start_date"]:
            problems.add(
                f"{where}.parent",
                f"the parent is in {theirs['name']}, which does not overlap {mine['name']}",
            )


# --- Writing ---------------------------------------------------------------------------


class _Writer:
    """Creates the cleaned rows section by section, then fills in what had to wait."""

    def __init__(self, cleaned: dict[str, list[dict[str, Any]]], *, reason: str) -> None:
        self.cleaned = cleaned
        self.reason = reason
        self.pks: dict[str, dict[Key, int]] = defaultdict(dict)
        self.pks[PERMISSIONS] = {
            f"{app_label}.{codename}": pk
            for pk, app_label, codename in Permission.objects.values_list(
                "pk", "content_type__app_label", "codename"
            )
        }
        # Section → (pk, {field: value or file key}) set once every row exists.
        self.later: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        self.links: dict[str, list[tuple[int, list[Key]]]] = defaultdict(list)

    def create(self, section: Section) -> None:
        rows = self.cleaned[section.name]
        existing = self._existing(section)
        waits = self._waiting_columns(section)
        batch: list[tuple[models.Model, dict[str, Any]]] = []
        for row in rows:
            key = row.get(section.key) if section.key else None
            if key in existing:
                self._update_existing(section, existing[key], row)
                self.pks[section.name][key] = existing[key].pk
                self._remember(section, existing[key].pk, row, waits)
                continue
            batch.append((self._instance(section, row, waits), row))
            if len(batch) == BATCH:
                self._flush(section, batch, waits)
                batch = []
        self._flush(section, batch, waits)

    def _existing(self, section: Section) -> dict[Key, models.Model]:
        """Accounts and groups this instance already has, matched by their key."""
        if section.model not in (User, Group):
            return {}
        return {getattr(row, section.key): row for row in section.model.objects.all()}

    def _update_existing(self, section: Section, instance: models.Model, row: dict) -> None:
        for name in section.plain:
            value = row[name]
            if name in RAISED_ONLY:
                value = value or getattr(instance, name)
            setattr(instance, name, value)
        instance.save(update_fields=list(section.plain))

    def _waiting_columns(self, section: Section) -> set[str]:
        """Columns set after every row exists: references to rows created at the same
        time or later, and timestamps Django would stamp "now" on creation."""
        waits = {
            name
            for name, target in section.refs.items()
            if POSITION.get(target, -1) >= POSITION[section.name]
        }
        waits |= {
            name
            for name in section.plain
            if getattr(section.fields[name], "auto_now", False)
            or getattr(section.fields[name], "auto_now_add", False)
        }
        return waits

    def _instance(self, section: Section, row: dict[str, Any], waits: set[str]) -> models.Model:
        values = {name: row[name] for name in section.plain if name not in waits}
        for name, target in section.refs.items():
            if name not in waits:
                key = row[name]
                values[section.fields[name].attname] = (
                    None if key is None else self.pks[target][key]
                )
        instance = section.model(**values)
        if section.model is User:
            instance.password = make_password(None)
        return instance

    def _flush(
        self, section: Section, batch: list[tuple[models.Model, dict]], waits: set[str]
    ) -> None:
        if not batch:
            return
        section.model.objects.bulk_create([instance for instance, _ in batch])
        for instance, row in batch:
            if section.key:
                self.pks[section.name][row[section.key]] = instance.pk
            self._remember(section, instance.pk, row, waits)

    def _remember(self, section: Section, pk: int, row: dict, waits: set[str]) -> None:
        later = {name: row[name] for name in waits if row[name] is not None}
        if later:
            self.later[section.name].append((pk, later))
        for name in section.many:
            if row[name]:
                self.links[f"{section.name}.{name}"].append((pk, row[name]))

    def finish(self, section: Section) -> None:
        """Set the waiting columns, then the many-to-many links."""
        model = section.model
        by_columns: dict[tuple[str, ...], list[models.Model]] = defaultdict(list)
        for pk, later in self.later.pop(section.name, []):
            values = {}
            for name, value in later.items():
                model_field = section.fields[name]
                if name in section.refs:
                    value = self.pks[section.refs[name]][value]
                values[model_field.attname] = value
            by_columns[tuple(sorted(later))].append(model(pk=pk, **values))
        for columns, instances in by_columns.items():
            model.objects.bulk_update(instances, list(columns), batch_size=BATCH // 2)
        for name, target in section.many.items():
            through = section.fields[name].remote_field.through
            source = f"{section.fields[name].m2m_field_name()}_id"
            other = f"{section.fields[name].m2m_reverse_field_name()}_id"
            rows = [
                through(**{source: pk, other: self.pks[target][key]})
                for pk, keys in self.links.pop(f"{section.name}.{name}", [])
                for key in keys
            ]
            through.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)

    def record_history(self, section: Section) -> None:
        """One "created" version per imported row of a model with a change history."""
        attribute = getattr(section.model._meta, "simple_history_manager_attribute", None)
        if attribute is None:
            return
        history = getattr(section.model, attribute)
        now = timezone.now()
        for chunk in _chunks(section.model.objects.order_by("pk")):
            for instance in chunk:
                instance._history_date = getattr(instance, "created_at", None) or now
            history.bulk_history_create(chunk, batch_size=BATCH, default_change_reason=self.reason)


def _chunks(queryset: models.QuerySet) -> Iterator[list[models.Model]]:
    """Rows by primary key, ``BATCH`` at a time (keyset pages, no open cursor)."""
    last = 0
    while chunk := list(queryset.filter(pk__gt=last)[:BATCH]):
        yield chunk
        last = chunk[-1].pk
