"""Admin for check-ins, weekly updates, one-to-ones and the nudge log.

Check-ins are history: a new one goes through ``checkin_record`` (the key result's
current value, confidence and progress follow); existing ones are only viewed. A mistake
is fixed by adding a check-in that corrects it.
"""

from __future__ import annotations

from celery import current_app
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError as BrokerUnavailable

from checkins.models import ActionItem, CheckIn, Nudge, OneOnOne, WeeklyUpdate
from checkins.services import checkin_record
from checkins.tasks import nudge_tick, run_nudges
from goals.forms import typed_number
from okr_site.paging import EstimatedCountPaginator

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


class CheckInChangeList(ChangeList):
    """Rows read with only the columns the list shows: a key result's numbers and a
    person's password and settings would be converted 50 times for nothing."""

    shown = (
        "created_at",
        "value",
        "confidence",
        "blocker",
        "key_result__title",
        "author__username",
        "author__first_name",
        "author__last_name",
    )

    def get_queryset(self, request: HttpRequest, exclude_parameters=None):
        return super().get_queryset(request, exclude_parameters).only(*self.shown)


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin):
    list_display = [
        "checked_in_at",
        "key_result",
        "author",
        "checked_in_value",
        "confidence",
        "blocked",
    ]
    # Millions of rows: no exact count of the whole table, no date drill-down (it reads
    # every row's date) and no list of every team (search finds a team by name).
    paginator = EstimatedCountPaginator
    list_per_page = 50  # each cell costs the admin a formatting pass: half the page, half that
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice: scans of millions
    list_filter = ["key_result__objective__cycle", ("created_at", admin.DateFieldListFilter)]
    search_fields = [
        "key_result__objective__team__name",
        "key_result__title",
        "author__username",
        "author__first_name",
        "author__last_name",
        "note",
        "blocker",
    ]
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

    def get_changelist(self, request: HttpRequest, **kwargs):
        return CheckInChangeList

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        return {"author": request.user.pk, **super().get_changeform_initial_data(request)}

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    # The moment and the number as the product writes them: 2026-11-23 16:44 (site time,
    # a sixth of the cost of the admin's localised "Nov. 23, 2026, 4:44 p.m." on 50
    # rows) and 12.5, not 12.5000.
    @admin.display(description="checked in at", ordering="created_at")
    def checked_in_at(self, obj: CheckIn) -> str:
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="value", ordering="value")
    def checked_in_value(self, obj: CheckIn) -> str:
        return typed_number(obj.value)

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


class PeriodFilter(admin.SimpleListFilter):
    """The weeks that have nudges, newest first (one query)."""

    title = "period"
    parameter_name = "period"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        periods = Nudge.objects.order_by("-period").values_list("period", flat=True).distinct()
        return [(period, period) for period in periods]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Nudge]) -> QuerySet[Nudge]:
        return queryset.filter(period=self.value()) if self.value() else queryset


@admin.register(Nudge)
class NudgeAdmin(admin.ModelAdmin):
    """The log of every nudge, written only by the nudge tasks: read-only, with two ways
    to act on it for those who may change nudges: retry failed rows at the next tick,
    and run what is due now."""

    list_display = [
        "created",
        "sent",
        "addressee",
        "kind",
        "period",
        "channel",
        "delivery_state",
        "attempts",
        "error",
        "short_subject",
    ]
    list_filter = ["kind", "state", "channel", PeriodFilter]
    list_select_related = ["recipient", "team"]
    paginator = EstimatedCountPaginator  # a row per person and week: it grows without end
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    search_fields = [
        "recipient__username",
        "recipient__email",
        "recipient__first_name",
        "recipient__last_name",
        "team__name",
        "subject",
        "period",
        "scope",
    ]
    date_hierarchy = "created_at"
    actions = ["retry_now"]
    fieldsets = [
        (None, {"fields": ["to", "kind", "period", "scope", "channel", "subject"]}),
        (
            "Delivery",
            {
                "fields": [
                    "delivery_state",
                    "attempts",
                    "created_at",
                    "next_attempt_at",
                    "claimed_at",
                    "sent_at",
                    "last_error",
                ]
            },
        ),
        ("Message", {"fields": ["body", "html_preview"]}),
    ]
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        """Retrying and running nudges sends e-mail: for those with the (otherwise unused)
        permission to change nudges."""
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    # Columns and read-only fields (the year is in the period)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: Nudge) -> str:
        return f"{timezone.localtime(obj.created_at):%d %b %H:%M}"

    @admin.display(description="sent", ordering="sent_at")
    def sent(self, obj: Nudge) -> str:
        return f"{timezone.localtime(obj.sent_at):%d %b %H:%M}" if obj.sent_at else "–"

    @admin.display(description="to")
    def to(self, obj: Nudge) -> str:
        if obj.recipient_id is not None:
            return f"{obj.recipient} <{obj.recipient.email}>"
        return f"{obj.team} (team chat)"

    @admin.display(description="to", ordering="recipient__username")
    def addressee(self, obj: Nudge) -> str:
        if obj.recipient_id is not None:
            return format_html('<span title="{}">{}</span>', obj.recipient.email, obj.recipient)
        return f"{obj.team} (team chat)"

    @admin.display(description="subject", ordering="subject")
    def short_subject(self, obj: Nudge) -> str:
        return Truncator(obj.subject).chars(60)

    @admin.display(description="state", ordering="state")
    def delivery_state(self, obj: Nudge) -> str:
        label = obj.get_state_display()
        if obj.state == Nudge.State.FAILED:
            label = f"{label}, next try {timezone.localtime(obj.next_attempt_at):%d %b %H:%M}"
        return format_html(
            '<strong class="nudge-state nudge-state-{}" style="color:{}">{}</strong>',
            obj.state,
            STATE_COLOURS[obj.state],
            label,
        )

    @admin.display(description="last error")
    def error(self, obj: Nudge) -> str:
        return Truncator(obj.last_error).chars(60)

    @admin.display(description="HTML e-mail")
    def html_preview(self, obj: Nudge) -> str:
        if not obj.html_body:
            return "–"
        # Shown as sent, in a sandbox: no scripts, no forms, not this origin.
        return format_html(
            '<iframe sandbox srcdoc="{}" title="The e-mail as sent" '
            'style="width:640px;max-width:100%;height:560px;border:1px solid '
            'var(--hairline-color)"></iframe>',
            obj.html_body,
        )

    # Retry and run now

    @admin.action(description="Retry now (failed nudges only)", permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Nudge]) -> None:
        selected = queryset.count()
        retried = queryset.filter(state=Nudge.State.FAILED).update(next_attempt_at=timezone.now())
        if retried:
            self.message_user(
                request,
                f"{_count(retried, 'failed nudge')} will be sent again at the next tick.",
                messages.SUCCESS,
            )
        if selected - retried:
            self.message_user(
                request,
                f"{_count(selected - retried, 'selected nudge')} had not failed and "
                f"{'was' if selected - retried == 1 else 'were'} left alone.",
                messages.WARNING,
            )

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_run_now"
        run_now = self.admin_site.admin_view(require_POST(self.run_now_view))
        # Before the admin's own patterns: "<object_id>/" would take "run-now/".
        return [path("run-now/", run_now, name=name), *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            "can_run_nudges": self.has_retry_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def run_now_view(self, request: HttpRequest) -> HttpResponseRedirect:
        """Plan and send what is due now: in this process when tasks run eagerly (no
        broker), else queued for the worker, like the beat tick."""
        if not self.has_retry_permission(request):
            raise PermissionDenied
        if current_app.conf.task_always_eager:
            result = run_nudges()
            self.message_user(
                request,
                f"Planned {_count(result['reminders'], 'reminder')}, "
                f"{_count(result['escalations'], 'escalation')}, "
                f"{_count(result['digests'], 'digest')} and "
                f"{_count(result['team_messages'], 'chat message')}; "
                f"sent {_count(result['batches'], 'batch', 'batches')} of waiting nudges.",
                messages.SUCCESS,
            )
        else:
            try:
                nudge_tick.delay()
            except BrokerUnavailable:
                self.message_user(
                    request,
                    "Could not queue the nudge tick: Redis does not answer. Nothing is lost: "
                    "what is due goes out with the next ticks once Redis is back.",
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    "Queued the nudge tick: the worker plans what is due and sends it in a moment.",
                    messages.INFO,
                )
        return HttpResponseRedirect(
            reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist",
                current_app=self.admin_site.name,
            )
        )


STATE_COLOURS = {
    Nudge.State.PENDING: "#616e7c",
    Nudge.State.SENDING: "#1d4ed8",
    Nudge.State.SENT: "#0b6e4f",
    Nudge.State.FAILED: "#b54708",
    Nudge.State.ABANDONED: "#b42318",
}


def _count(number: int, word: str, plural: str = "") -> str:
    return f"{number} {word if number == 1 else plural or word + 's'}"
