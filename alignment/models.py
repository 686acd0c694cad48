"""The organisation: people, teams in a tree, and memberships.

Goals (in ``goals``) point at these rows; the cascade code in this app (tree assembly,
roll-up) reads goals, but these models never import them.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from alignment.locking import lock_alignment


def _walk_up(start_id: int | None, parent_of: dict[int, int | None]) -> list[int]:
    """Ids met walking up ``parent_of`` from ``start_id``; stops early on a loop."""
    seen: list[int] = []
    current = start_id
    while current is not None and current not in seen:
        seen.append(current)
        current = parent_of.get(current)
    return seen


class User(AbstractUser):
    """A person. Managers form a forest: at most one manager each, never a loop."""

    manager = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
        help_text="For one-to-ones and escalations of stale key results.",
    )
    job_title = models.CharField(max_length=120, blank=True)

    class NudgeChannel(models.TextChoices):
        EMAIL = "email", "E-mail"
        CHAT = "chat", "My team's chat (e-mail when no team has one)"
        PAUSED = "paused", "Paused: no reminders, escalations or digests"

    nudge_channel = models.CharField(
        "reminders",
        max_length=10,
        choices=NudgeChannel.choices,
        default=NudgeChannel.EMAIL,
        help_text="How Waymark reminds this person to check in and sends their summaries.",
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.CheckConstraint(
                condition=~Q(manager=F("pk")),
                name="user_not_own_manager",
                violation_error_message="A person cannot be their own manager.",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_absolute_url(self) -> str:
        return reverse("goals:person", args=[self.username])

    def clean(self) -> None:
        super().clean()
        if self.manager_id is None or self.pk is None:
            return
        # Walk the manager chain from the new manager; meeting this person means a loop.
        chain = dict(User.objects.filter(manager__isnull=False).values_list("pk", "manager_id"))
        chain[self.pk] = self.manager_id
        if self.pk in _walk_up(self.manager_id, chain):
            raise ValidationError(
                {"manager": "This manager reports (directly or not) to this person."}
            )


class Team(models.Model):
    """A unit of the organisation. The team without a parent is the company."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="Leave empty only for the company itself.",
    )
    checkin_weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices,
        default=Weekday.MONDAY,
        help_text="Day the team checks in; reminders go out on it.",
    )
    checkin_hour = models.PositiveSmallIntegerField(
        default=9, help_text="Hour of the check-in reminder, in the organisation's time zone."
    )
    digest_weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices,
        default=Weekday.FRIDAY,
        help_text="Day the leads get the weekly digest (at the check-in hour).",
    )
    webhook_url = models.URLField(
        "chat webhook URL",
        max_length=500,
        blank=True,
        help_text="An incoming-webhook address (Slack or Microsoft Teams) for the team's "
        "channel: check-in day reminders and the weekly digest are posted there.",
    )
    webhook_failed_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the webhook last failed for good."
    )
    webhook_error = models.CharField(max_length=300, blank=True, editable=False)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=F("pk")),
                name="team_not_own_parent",
                violation_error_message="A team cannot be its own parent.",
            ),
            models.CheckConstraint(
                condition=Q(checkin_hour__gte=0, checkin_hour__lte=23),
                name="team_checkin_hour_in_day",
                violation_error_message="The check-in hour must be between 0 and 23.",
            ),
            models.CheckConstraint(
                condition=Q(checkin_weekday__gte=0, checkin_weekday__lte=6),
                name="team_checkin_weekday_valid",
                violation_error_message="The check-in day must be a day of the week.",
            ),
            models.CheckConstraint(
                condition=Q(digest_weekday__gte=0, digest_weekday__lte=6),
                name="team_digest_weekday_valid",
                violation_error_message="The digest day must be a day of the week.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("goals:team", args=[self.slug])

    def clean(self) -> None:
        super().clean()
        if self.parent_id is None:
            company = Team.objects.filter(parent__isnull=True).exclude(pk=self.pk).first()
            if company is not None:
                raise ValidationError(
                    {"parent": f"Only the company has no parent, and that is “{company}”."}
                )
            return
        if self.pk is None:
            return
        lock_alignment()  # no other team's move is checked until this one is saved
        tree = dict(Team.objects.values_list("pk", "parent_id"))
        tree[self.pk] = self.parent_id
        if self.pk in _walk_up(self.parent_id, tree):
            raise ValidationError(
                {"parent": "That team sits below this one: it would make a loop."}
            )


class Membership(models.Model):
    """A person in a team, as a member or as its lead."""

    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        LEAD = "lead", "Lead"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "team"],
                name="membership_once_per_team",
                violation_error_message="This person is already in this team.",
            ),
        ]
        indexes = [
            # "Which teams does this person lead / belong to?" (visibility, home page).
            models.Index(fields=["user", "role"], name="membership_user_role_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.get_role_display()})"
