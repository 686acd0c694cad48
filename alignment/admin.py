"""Admin for people, teams and memberships, and the archive helpers the goal admins share.

Deleting is archiving: teams and goals are never deleted here (goals and history point at
them); admins archive and restore them instead.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext
from django.contrib.auth import admin as auth_admin
from django.db import transaction
from django.db.models import Model, QuerySet, URLField
from django.http import HttpRequest
from django.utils import timezone

from alignment.forms import TeamAdminForm
from alignment.models import Membership, Team, User
from alignment.services import team_settings_save


@admin.display(boolean=True, description="archived", ordering="archived_at")
def archived(obj: Model) -> bool:
    return obj.archived_at is not None


class ArchivedListFilter(admin.SimpleListFilter):
    """Archived: yes / no. With no choice, admins see every row."""

    title = "archived"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(archived_at__isnull=self.value() == "no")
        return queryset


class ArchiveAdminMixin:
    """No delete: "Archive selected" / "Restore selected" set or clear ``archived_at``.

    Override ``archive`` / ``restore`` where a service must run (roll-up). Rows are saved
    one by one so that history records who archived what.
    """

    actions = ["archive_selected", "restore_selected"]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None):
        # Only the actions move archived_at, so that services run.
        return [*super().get_readonly_fields(request, obj), "archived_at"]

    def archive(self, obj: Model) -> None:
        obj.archived_at = timezone.now()
        obj.save(update_fields=["archived_at"])

    def restore(self, obj: Model) -> None:
        obj.archived_at = None
        obj.save(update_fields=["archived_at"])

    @admin.action(description="Archive selected %(verbose_name_plural)s")
    def archive_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        rows = list(queryset.filter(archived_at__isnull=True))
        with transaction.atomic():  # all selected rows or none
            for obj in rows:
                self.archive(obj)
        self._report(request, "Archived", rows)

    @admin.action(description="Restore selected %(verbose_name_plural)s")
    def restore_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        rows = list(queryset.filter(archived_at__isnull=False))
        with transaction.atomic():  # all selected rows or none
            for obj in rows:
                self.restore(obj)
        self._report(request, "Restored", rows)

    def _report(self, request: HttpRequest, verb: str, rows: list[Model]) -> None:
        self.message_user(
            request, f"{verb} {len(rows)} {model_ngettext(self.opts, len(rows))}.", messages.SUCCESS
        )


class MembershipInline(admin.TabularInline):
    """Used in both the user and the team page; the side it sits in is left out."""

    model = Membership
    autocomplete_fields = ["user", "team"]
    extra = 0


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    fieldsets = [
        *auth_admin.UserAdmin.fieldsets,
        ("Organisation", {"fields": ["job_title", "manager"]}),
    ]
    add_fieldsets = [
        *auth_admin.UserAdmin.add_fieldsets,
        ("Organisation", {"fields": ["job_title", "manager"]}),
    ]
    list_display = [
        "username",
        "first_name",
        "last_name",
        "email",
        "job_title",
        "manager",
        "is_staff",
        "is_active",
    ]
    list_filter = [*auth_admin.UserAdmin.list_filter, "memberships__team"]
    list_select_related = ["manager"]
    search_fields = [*auth_admin.UserAdmin.search_fields, "job_title"]
    autocomplete_fields = ["manager"]
    inlines = [MembershipInline]


@admin.register(Team)
class TeamAdmin(ArchiveAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "checkin_weekday", "checkin_hour", archived]
    list_filter = [ArchivedListFilter, "checkin_weekday"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]
    form = TeamAdminForm
    fields = [*TeamAdminForm.Meta.fields, "webhook_failed_at", "webhook_error", "archived_at"]
    readonly_fields = ["webhook_failed_at", "webhook_error"]
    inlines = [MembershipInline]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, URLField):
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Team, form, change: bool) -> None:
        # The same rule as the settings page: a changed webhook is tried again.
        team_settings_save(team=obj, changed_fields=form.changed_data)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role"]
    list_filter = ["role", "team"]
    list_select_related = ["user", "team"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "team__name"]
    autocomplete_fields = ["user", "team"]
