"""What an organisation export holds: one section per model, in the order rows can be
created, and the columns each row carries.

A column is a model field's name. A plain field is written as its value (decimals as
strings, datetimes ISO 8601 with their offset, dates ISO). A foreign key is written as
the key of the row it points to in another section (or the same one): a person's
username, a team's slug, a cycle's name, a group's name, a permission's
``app_label.codename``, and for every other section the file-local ``id``. A
many-to-many field is a list of such keys. File-local ids are the exporting instance's
primary keys; they only link rows inside the file, and an import gives new ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.contrib.auth.models import Group, Permission
from django.db import models

from alignment.models import Membership, Team, User
from checkins.models import ActionItem, CheckIn, Nudge, OneOnOne, WeeklyUpdate
from goals.models import (
    Cycle,
    Dependency,
    GoalpostChange,
    Initiative,
    KeyResult,
    Kpi,
    KpiReading,
    Objective,
    ObjectiveSnapshot,
    Reflection,
)

FORMAT = "waymark-organisation"
VERSION = 1
ID = "id"
PERMISSIONS = "permissions"  # a pseudo-section: the importing instance's own permissions


@dataclass(frozen=True)
class Section:
    name: str
    model: type[models.Model]
    columns: tuple[str, ...]
    key: str | None = None  # the column other rows refer to this one by

    @cached_property
    def fields(self) -> dict[str, models.Field]:
        return {name: self.model._meta.get_field(name) for name in self.columns}

    @cached_property
    def plain(self) -> tuple[str, ...]:
        return tuple(name for name, field in self.fields.items() if not field.is_relation)

    @cached_property
    def refs(self) -> dict[str, str]:
        """Foreign key → the section it points into."""
        return {
            name: section_of(field.related_model)
            for name, field in self.fields.items()
            if field.many_to_one or field.one_to_one
        }

    @cached_property
    def many(self) -> dict[str, str]:
        """Many-to-many field → the section its keys point into."""
        return {
            name: section_of(field.related_model)
            for name, field in self.fields.items()
            if field.many_to_many
        }

    @property
    def keyed_by_id(self) -> bool:
        return self.key == ID


SECTIONS: tuple[Section, ...] = (
    Section("groups", Group, ("name", "permissions"), key="name"),
    Section(
        "people",
        User,
        (
            "username",
            "first_name",
            "last_name",
            "email",
            "job_title",
            "manager",
            "is_active",
            "is_staff",
            "is_superuser",
            "nudge_channel",
            "date_joined",
            "last_login",
            "groups",
            "user_permissions",
        ),
        key="username",
    ),
    Section(
        "teams",
        Team,
        (
            "slug",
            "name",
            "parent",
            "checkin_weekday",
            "checkin_hour",
            "digest_weekday",
            "webhook_url",
            "archived_at",
        ),
        key="slug",
    ),
    Section("memberships", Membership, ("user", "team", "role")),
    Section(
        "cycles",
        Cycle,
        ("name", "start_date", "end_date", "state", "closed_at", "closed_by"),
        key="name",
    ),
    Section(
        "objectives",
        Objective,
        (
            "cycle",
            "team",
            "owner",
            "title",
            "description",
            "kind",
            "visibility",
            "parent",
            "parent_key_result",
            "parent_weight",
            "supports",
            "carried_from",
            "progress",
            "created_at",
            "updated_at",
            "archived_at",
        ),
        key=ID,
    ),
    Section(
        "key_results",
        KeyResult,
        (
            "objective",
            "title",
            "owner",
            "kind",
            "unit",
            "start_value",
            "target_value",
            "current_value",
            "weight",
            "confidence",
            "progress_source",
            "progress",
            "position",
            "last_checkin_at",
            "grade",
            "grade_reason",
            "graded_at",
            "graded_by",
            "created_at",
            "updated_at",
            "archived_at",
        ),
        key=ID,
    ),
    Section(
        "reflections",
        Reflection,
        (
            "objective",
            "what_changed",
            "what_worked",
            "what_did_not",
            "learned",
            "next_focus",
            "author",
            "created_at",
            "updated_at",
        ),
    ),
    Section(
        "initiatives",
        Initiative,
        (
            "key_result",
            "title",
            "owner",
            "status",
            "due_date",
            "link",
            "created_at",
            "archived_at",
        ),
    ),
    Section(
        "goalpost_changes",
        GoalpostChange,
        ("key_result", "field", "old_value", "new_value", "reason", "changed_by", "changed_at"),
    ),
    Section(
        "kpis",
        Kpi,
        (
            "team",
            "name",
            "description",
            "unit",
            "direction",
            "green_threshold",
            "red_threshold",
            "guarded_objectives",
            "latest_value",
            "latest_read_on",
            "created_at",
            "archived_at",
        ),
        key=ID,
    ),
    Section("kpi_readings", KpiReading, ("kpi", "read_on", "value", "recorded_by", "created_at")),
    Section(
        "weekly_updates",
        WeeklyUpdate,
        (
            "author",
            "week_start",
            "what_moved",
            "whats_blocked",
            "next_focus",
            "created_at",
            "updated_at",
        ),
        key=ID,
    ),
    Section(
        "checkins",
        CheckIn,
        (
            "key_result",
            "author",
            "value",
            "confidence",
            "note",
            "blocker",
            "weekly_update",
            "corrects",
            "created_at",
        ),
        key=ID,
    ),
    Section(
        "one_on_ones",
        OneOnOne,
        ("manager", "report", "scheduled_for", "held_at", "notes", "created_at"),
        key=ID,
    ),
    Section(
        "action_items",
        ActionItem,
        ("one_on_one", "text", "owner", "done_at", "carried_from", "created_at"),
        key=ID,
    ),
    Section("objective_snapshots", ObjectiveSnapshot, ("objective", "day", "progress")),
    Section(
        "dependencies",
        Dependency,
        (
            "requesting_objective",
            "providing_team",
            "providing_objective",
            "description",
            "needed_by",
            "state",
            "response_note",
            "requested_by",
            "responded_by",
            "created_at",
            "responded_at",
        ),
    ),
)
BY_NAME = {section.name: section for section in SECTIONS}
POSITION = {section.name: index for index, section in enumerate(SECTIONS)}
HEADER = ("format", "version", "exported_at", "site", "time_zone")

# What an export deliberately leaves out, and why. tests/test_portability.py checks that
# every field of every model in the three apps is either carried or listed here.
LEFT_OUT_MODELS: dict[type[models.Model], str] = {
    Nudge: "the send log of reminders and digests: this instance's delivery state",
}
LEFT_OUT_FIELDS: dict[type[models.Model], dict[str, str]] = {
    User: {"password": "never exported: imported people get an unusable password"},
    Team: {
        "webhook_failed_at": "this instance's delivery state",
        "webhook_error": "this instance's delivery state",
    },
    Objective: {
        "lowest_confidence": "derived from its key results on import (the roll-up)",
        "stalest_checkin_at": "derived from its key results on import (the roll-up)",
    },
}


def section_of(model: type[models.Model]) -> str:
    if model is Permission:
        return PERMISSIONS
    for section in SECTIONS:
        if section.model is model:
            return section.name
    raise LookupError(f"No export section holds {model.__name__}.")
