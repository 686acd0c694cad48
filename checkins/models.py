"""Check-ins, weekly updates, one-to-ones and the log of nudges.

Check-ins are history: rows are only ever added. A correction is a new row pointing at
the one it corrects, and nothing that a check-in points to can be deleted while it exists.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from goals.models import CONFIDENCE_MESSAGE, CONFIDENCE_VALIDATORS, VALUE_DIGITS, KeyResult


class WeeklyUpdate(models.Model):
    """A person's note for the week, submitted with their check-ins."""

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="weekly_updates"
    )
    week_start = models.DateField(help_text="The Monday of the week.")
    what_moved = models.TextField(blank=True)
    whats_blocked = models.TextField(blank=True)
    next_focus = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-week_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "week_start"],
                name="weekly_update_once_per_week",
                violation_error_message="There is already an update for this week.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author}, week of {self.week_start:%d %b %Y}"

    def clean(self) -> None:
        super().clean()
        if self.week_start and self.week_start.weekday() != 0:
            raise ValidationError({"week_start": "A week starts on a Monday."})


class CheckIn(models.Model):
    """One person's update of one key result: value, confidence, note, blocker."""

    key_result = models.ForeignKey(KeyResult, on_delete=models.PROTECT, related_name="checkins")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checkins"
    )
    value = models.DecimalField(**VALUE_DIGITS)
    confidence = models.PositiveSmallIntegerField(validators=CONFIDENCE_VALIDATORS)
    note = models.TextField(blank=True)
    blocker = models.TextField(blank=True, help_text="What is in the way, if anything.")
    weekly_update = models.ForeignKey(
        WeeklyUpdate,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="checkins",
    )
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
        help_text="The earlier check-in this one corrects (which is kept).",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=False)

    class Meta:
        verbose_name = "check-in"
        ordering = ["-created_at", "-pk"]
        get_latest_by = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=1, confidence__lte=10),
                name="checkin_confidence_1_to_10",
                violation_error_message=CONFIDENCE_MESSAGE,
            ),
            models.CheckConstraint(
                condition=~Q(corrects=F("pk")),
                name="checkin_not_own_correction",
                violation_error_message="A check-in cannot correct itself.",
            ),
        ]
        indexes = [
            # A key result's history, newest first, and "latest check-in".
            models.Index(fields=["key_result", "-created_at"], name="checkin_kr_recent_idx"),
            # A person's check-ins in a week (check-in page, team review, one-to-ones).
            models.Index(fields=["author", "-created_at"], name="checkin_author_recent_idx"),
            # Check-ins across the organisation in a period (digests, check-in rate).
            models.Index(fields=["created_at"], name="checkin_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key_result}: {self.value} ({self.created_at:%Y-%m-%d})"

    def clean(self) -> None:
        super().clean()
        if (
            self.key_result_id
            and self.value is not None
            and self.key_result.is_milestone
            and self.value not in (0, 1)
        ):
            raise ValidationError({"value": "A milestone is either done (1) or not done (0)."})

    @property
    def has_blocker(self) -> bool:
        return bool(self.blocker.strip())


class OneOnOne(models.Model):
    """A manager and a report: a date, notes, and action items."""

    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="one_on_ones_led"
    )
    report = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="one_on_ones"
    )
    scheduled_for = models.DateField()
    held_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "one-to-one"
        ordering = ["-scheduled_for"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(manager=F("report")),
                name="one_on_one_two_people",
                violation_error_message="A one-to-one needs two different people.",
            ),
        ]
        indexes = [
            # "The previous one-to-one of this pair" (agenda since then).
            models.Index(
                fields=["report", "manager", "-scheduled_for"], name="one_on_one_pair_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.manager} / {self.report}, {self.scheduled_for:%d %b %Y}"


class ActionItem(models.Model):
    """Something agreed in a one-to-one; open items carry to the next one."""

    one_on_one = models.ForeignKey(OneOnOne, on_delete=models.PROTECT, related_name="action_items")
    text = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_items"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    carried_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="carried_to"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.text


class Nudge(models.Model):
    """A reminder, escalation, digest or alert: one message to one person (by e-mail) or
    to one team's chat (by webhook).

    The row is written before anything is sent, and the unique (recipient, kind, period,
    scope) or (team, kind, period) makes a second one impossible; sending claims the row
    first, so two workers never send the same row.
    """

    class Kind(models.TextChoices):
        REMINDER = "reminder", "Check-in reminder"
        ESCALATION = "escalation", "Stale key result escalation"
        DIGEST = "digest", "Weekly digest"
        WEBHOOK_ALERT = "webhook", "Chat webhook failing"
        PLANNING = "planning", "Draft your objectives for the next cycle"

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Chat webhook"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (will retry)"
        ABANDONED = "abandoned", "Abandoned"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="nudges",
        help_text="The person it is e-mailed to (empty for a team chat message).",
    )
    team = models.ForeignKey(
        "alignment.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="nudges",
        help_text="The team whose chat it is posted to (empty for an e-mail).",
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    period = models.CharField(max_length=20, help_text="The ISO week it covers, e.g. 2026-W48.")
    scope = models.CharField(
        max_length=60, blank=True, help_text="What it is about within the period, e.g. a team."
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claim = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "period", "scope"],
                name="nudge_once_per_period",
                violation_error_message="This nudge was already sent for this period.",
            ),
            models.UniqueConstraint(
                fields=["team", "kind", "period"],
                condition=Q(team__isnull=False),
                name="team_nudge_once_per_period",
                violation_error_message="This team message was already sent for this period.",
            ),
            models.CheckConstraint(
                condition=(Q(recipient__isnull=False, team__isnull=True, channel="email"))
                | Q(recipient__isnull=True, team__isnull=False, channel="webhook"),
                name="nudge_to_a_person_or_a_team",
                violation_error_message=(
                    "A nudge is an e-mail to a person or a chat message to a team."
                ),
            ),
        ]
        indexes = [
            # "Who was already reminded this week?" (planning) and the admin's filters.
            models.Index(fields=["period", "kind"], name="nudge_period_kind_idx"),
            # The sweep for nudges to send, retry, or give up on.
            models.Index(
                fields=["state", "next_attempt_at"],
                name="nudge_unsent_idx",
                condition=Q(state__in=["pending", "failed", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient or self.team} ({self.period})"
