"""Admin for check-ins, weekly updates, one-to-ones and the nudge log.

Check-ins are history: a new one goes through ``checkin_record`` (the key result's
current value, confidence and progress follow); existing ones are only viewed. A mistake
is fixed by adding a check-in that corrects it.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from checkins.models import ActionItem, CheckIn, Nudge, OneOnOne, WeeklyUpdate
from checkins.services import checkin_record

# The admins below that are autocomplete targets select_related in get_queryset rather
# than list_select_related: autocomplete results show ``__str__``, which reads those too.


@admin.register(WeeklyUpdate)
class WeeklyUpdateAdmin(admin.ModelAdmin):
    list_display = ["author", "week_start", "updated_at"]
    search_fields = ["author__username", "author__first_name", "author__last_name"]
    date_hierarchy = "week_start"
    autocomplete_fields = ["author"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("author")


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin):
    list_display = ["created_at", "key_result", "author", "value", "confidence", "blocked"]
    list_filter = ["key_result__objective__cycle", "key_result__objective__team"]
    search_fields = [
        "key_result__title",
        "author__username",
        "author__first_name",
        "author__last_name",
        "note",
        "blocker",
    ]
    date_hierarchy = "created_at"
    autocomplete_fields = ["key_result", "author", "weekly_update", "corrects"]
    fields = [
        "key_result",
        "author",
        "value",
        "confidence",
        "note",
        "blocker",
        "weekly_update",
        "corrects",
        "created_at",
    ]
    readonly_fields = ["created_at"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("key_result", "author")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        return {"author": request.user.pk, **super().get_changeform_initial_data(request)}

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(boolean=True, description="blocker")
    def blocked(self, obj: CheckIn) -> bool:
        return obj.has_blocker

    def save_model(self, request, obj, form, change) -> None:
        checkin = checkin_record(
            key_result=obj.key_result,
            author=obj.author,
            value=obj.value,
            confidence=obj.confidence,
            note=obj.note,
            blocker=obj.blocker,
            weekly_update=obj.weekly_update,
            corrects=obj.corrects,
        )
        # The admin logs and redirects with ``obj``: make it the row the service saved.
        obj.pk, obj.created_at = checkin.pk, checkin.created_at


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    fields = ["text", "owner", "done_at", "carried_from"]
    autocomplete_fields = ["owner", "carried_from"]
    extra = 1


@admin.register(OneOnOne)
class OneOnOneAdmin(admin.ModelAdmin):
    list_display = ["scheduled_for", "manager", "report", "held_at"]
    search_fields = [
        "manager__username",
        "manager__last_name",
        "report__username",
        "report__last_name",
    ]
    date_hierarchy = "scheduled_for"
    autocomplete_fields = ["manager", "report"]
    inlines = [ActionItemInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("manager", "report")


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["text", "one_on_one", "owner", "done", "created_at"]
    list_filter = [("done_at", admin.EmptyFieldListFilter)]
    list_select_related = ["one_on_one__manager", "one_on_one__report", "owner"]
    search_fields = ["text", "owner__username", "owner__last_name"]
    autocomplete_fields = ["one_on_one", "owner", "carried_from"]

    @admin.display(boolean=True, description="done", ordering="done_at")
    def done(self, obj: ActionItem) -> bool:
        return obj.done_at is not None


@admin.register(Nudge)
class NudgeAdmin(admin.ModelAdmin):
    """A log of what was sent: read-only, written only by the nudge tasks."""

    list_display = [
        "created_at",
        "recipient",
        "kind",
        "period",
        "scope",
        "channel",
        "state",
        "attempts",
        "sent_at",
    ]
    list_filter = ["kind", "state", "channel"]
    list_select_related = ["recipient"]
    search_fields = ["recipient__username", "recipient__email", "subject", "period", "scope"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
