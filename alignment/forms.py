"""Forms for the links of an objective. They validate what was typed and picked; the
services in ``goals.services`` write, and their refusals land beside the field they name."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet, URLField
from django.forms import BaseInlineFormSet
from django.utils import timezone

from alignment.models import Team, User
from goals.forms import KeyResultFormSet, NoColonMixin, ObjectiveForm, PersonField
from goals.models import WEIGHT_MESSAGE, Cycle, Dependency, KeyResult, Objective

NOT_VISIBLE = "No objective you can see has that number: pick one from the list."
# Weights are typed into text inputs, as key results' numbers are: a number input sends
# nothing for "1,5", which would read "This field is required." instead of the reason.
WEIGHT_INPUT = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})


def add_service_error(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's refusal beside the field it names, or above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


class AlignForm(NoColonMixin, forms.Form):
    """The parent an objective counts towards, the key result it serves, its weight.

    ``choices`` are the objectives the person could pick (visible and active); the loop
    and the overlapping cycle are the model's rules, checked when the service saves, so
    their messages (also after a concurrent change) land beside ``parent``."""

    parent = forms.ModelChoiceField(
        queryset=Objective.objects.none(),
        required=False,
        empty_label="No parent",
        error_messages={"invalid_choice": NOT_VISIBLE},
    )
    parent_key_result = forms.ModelChoiceField(
        queryset=KeyResult.objects.filter(archived_at__isnull=True),
        required=False,
        label="Which of its key results it serves",
        error_messages={"invalid_choice": "Choose a key result of the parent objective."},
    )
    parent_weight = forms.DecimalField(
        label="Weight",
        initial=Decimal(1),
        min_value=Decimal("0.01"),
        max_digits=6,
        decimal_places=2,
        error_messages={"min_value": WEIGHT_MESSAGE},
        help_text="How much it counts in that key result’s roll-up, next to the other "
        "objectives aligned to it.",
        widget=WEIGHT_INPUT,
    )
    # The parent whose key results the form showed: picking another one shows its key
    # results before saving (the second step when JavaScript is off).
    key_results_for = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, choices: QuerySet[Objective], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = choices

    def clean(self) -> dict:
        cleaned = super().clean()
        parent, key_result = cleaned.get("parent"), cleaned.get("parent_key_result")
        if key_result is not None and (parent is None or key_result.objective_id != parent.pk):
            self.add_error("parent_key_result", "Choose a key result of the parent objective.")
        return cleaned

    def needs_key_result_step(self) -> bool:
        """A new parent was picked whose key results the person has not been shown."""
        parent = self.cleaned_data.get("parent")
        return parent is not None and self.cleaned_data.get("key_results_for") != parent.pk


class SupportsForm(forms.Form):
    """Add or remove one objective from those an objective supports."""

    add = forms.ModelChoiceField(
        queryset=Objective.objects.none(),
        required=False,
        error_messages={"invalid_choice": NOT_VISIBLE},
    )
    remove = forms.ModelChoiceField(
        queryset=Objective.objects.none(),
        required=False,
        error_messages={"invalid_choice": NOT_VISIBLE},
    )

    def __init__(
        self,
        *args,
        choices: QuerySet[Objective],
        current: QuerySet[Objective],
        cycle: Cycle,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["add"].queryset = choices.select_related("cycle")
        self.fields["remove"].queryset = current
        self.cycle = cycle

    def clean_add(self) -> Objective | None:
        added = self.cleaned_data["add"]
        if added is not None and (
            added.cycle.start_date > self.cycle.end_date
            or added.cycle.end_date < self.cycle.start_date
        ):
            raise ValidationError(
                f"“{added}” is in {added.cycle}, which does not overlap {self.cycle}."
            )
        return added

    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.errors and not (cleaned.get("add") or cleaned.get("remove")):
            raise ValidationError("Pick an objective to add or remove.")
        return cleaned


class DependencyRequestForm(NoColonMixin, forms.ModelForm):
    """One objective asks another team for something by a date."""

    class Meta:
        model = Dependency
        fields = ["providing_team", "description", "needed_by"]
        labels = {"providing_team": "Team to ask", "description": "What you need"}
        widgets = {
            "description": forms.Textarea(
                attrs={"rows": 3, "placeholder": "e.g. The unlock API answering in 300 ms"}
            ),
            "needed_by": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {"needed_by": "The date you need it by."}
        error_messages = {
            "providing_team": {"invalid_choice": "Choose a team from the list."},
            "description": {"required": "Say what you need."},
        }

    def __init__(self, *args, asking_team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        teams = Team.objects.filter(archived_at__isnull=True).exclude(pk=asking_team.pk)
        self.fields["providing_team"].queryset = teams.order_by("name")

    def clean_description(self) -> str:
        description = self.cleaned_data["description"].strip()
        if not description:
            raise ValidationError("Say what you need.")
        return description

    def clean_needed_by(self) -> date:
        needed_by = self.cleaned_data["needed_by"]
        if needed_by < timezone.localdate():
            raise ValidationError("That date has passed: when do you need it?")
        return needed_by


class DependencyResponseForm(NoColonMixin, forms.Form):
    """The asked team accepts (naming the objective that delivers it, if any) or
    declines with a note. The service says when a note is missing."""

    decision = forms.ChoiceField(
        choices=[("accept", "Accept"), ("decline", "Decline")],
        error_messages={"required": "Accept or decline.", "invalid_choice": "Accept or decline."},
    )
    providing_objective = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label="Delivered by",
        help_text="Optional: the objective of your team that delivers it.",
    )
    response_note = forms.CharField(
        required=False,
        label="Note",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when you decline.",
    )

    def __init__(self, *args, options: list[Objective], team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.options = {objective.pk: objective for objective in options}
        field = self.fields["providing_objective"]
        field.choices = [("", "Not named yet")] + [
            (objective.pk, f"{objective.title} · {objective.cycle.name}") for objective in options
        ]
        field.error_messages["invalid_choice"] = (
            f"Choose one of {team.name}’s objectives in a cycle that overlaps this one, or none."
        )

    def clean_providing_objective(self) -> Objective | None:
        pk = self.cleaned_data["providing_objective"]
        return self.options.get(pk) if pk is not None else None


class CascadeKeyResultFormSet(KeyResultFormSet):
    """Key results typed with a cascaded objective, as on the create page, except that
    none at all is fine: the new objective's owner may write them."""

    extra = 2

    def clean(self) -> None:
        BaseInlineFormSet.clean(self)  # blank rows are still left out when saving


class CascadeForm(ObjectiveForm):
    """A new objective serving a key result: for a team at or below the key result's
    objective's team, in the same cycle. The owner defaults to the team's lead."""

    owner = PersonField(
        required=False, help_text="Username. Leave empty for the team’s lead (or you)."
    )
    kpi = None  # a cascaded objective starts from a key result, not from a KPI
    # Offered to the key result's writers while it takes its progress from check-ins.
    rollup = forms.BooleanField(
        required=False,
        label="Take this key result’s progress from the objectives aligned to it",
    )

    class Meta(ObjectiveForm.Meta):
        fields = [
            *("title", "description", "team", "owner", "cycle", "kind", "visibility"),
            "parent_weight",
        ]
        labels = {**ObjectiveForm.Meta.labels, "team": "For team", "parent_weight": "Weight"}
        help_texts = {
            **ObjectiveForm.Meta.help_texts,
            "parent_weight": "How much it counts in the key result’s roll-up.",
        }
        widgets = {
            **ObjectiveForm.Meta.widgets,
            "parent_weight": WEIGHT_INPUT,
        }

    def __init__(self, *args, teams: list[Team], default_owner, offer_rollup: bool, **kwargs):
        super().__init__(*args, **kwargs)
        team = self.fields["team"]
        team.queryset = Team.objects.filter(pk__in=[t.pk for t in teams])
        team.choices = [(t.pk, "\u2003" * t.depth + t.name) for t in teams]
        team.error_messages["invalid_choice"] = "Choose one of the teams in the list."
        cycle = self.fields["cycle"]  # the cycle of the key result's objective
        cycle.disabled = True
        cycle.queryset = Cycle.objects.filter(pk=self.instance.cycle_id)
        self.default_owner = default_owner
        if not offer_rollup:
            del self.fields["rollup"]

    def clean_owner(self) -> User | None:
        owner, team = self.cleaned_data.get("owner"), self.cleaned_data.get("team")
        if owner is None and team is not None:
            owner = self.default_owner(team)
        return owner


HOUR_CHOICES = [(hour, f"{hour:02d}:00") for hour in range(24)]
HTTPS_ONLY = (
    "The webhook address must start with https:// (as chat services give it): messages "
    "name people and goals, so they must not travel unencrypted."
)


def clean_webhook_url(url: str) -> str:
    """``url`` if it may carry a team's messages: https, or http on a development machine
    (``DEBUG``), where local chat stubs run; ValidationError otherwise."""
    url = url.strip()
    scheme = urlsplit(url).scheme.lower()
    if not url or scheme == "https" or (scheme == "http" and settings.DEBUG):
        return url
    raise ValidationError(HTTPS_ONLY, code="https_only")


def https_by_default(field, **kwargs):
    """A model field's form field; an address typed without a scheme is taken as https."""
    if isinstance(field, URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class TeamSettingsForm(NoColonMixin, forms.ModelForm):
    """A team's rhythm and its chat webhook (the team settings page)."""

    checkin_hour = forms.TypedChoiceField(
        label="Check-in hour",
        choices=HOUR_CHOICES,
        coerce=int,
        error_messages={"invalid_choice": "Choose an hour from 00:00 to 23:00."},
    )

    class Meta:
        model = Team
        fields = ["checkin_weekday", "checkin_hour", "digest_weekday", "webhook_url"]
        labels = {"checkin_weekday": "Check-in day", "digest_weekday": "Digest day"}
        formfield_callback = staticmethod(https_by_default)
        widgets = {
            "webhook_url": forms.URLInput(
                attrs={"placeholder": "https://hooks.slack.com/services/…", "autocomplete": "off"}
            )
        }

    # Offered while the webhook is failing: the same address, fixed on the chat side.
    retry_webhook = forms.BooleanField(
        required=False,
        label="Try this address again",
        help_text="The channel is fixed on the chat side and the address stays the same.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "checkin_hour"
        ].help_text = f"Reminders go out from this hour, {settings.TIME_ZONE} time."
        if self.instance.webhook_failed_at is None:
            del self.fields["retry_webhook"]

    def changed_settings(self) -> list[str]:
        """The team's fields to save; a retried webhook counts as a changed one."""
        changed = [name for name in self.changed_data if name != "retry_webhook"]
        if self.cleaned_data.get("retry_webhook") and "webhook_url" not in changed:
            changed.append("webhook_url")
        return changed

    def clean_webhook_url(self) -> str:
        return clean_webhook_url(self.cleaned_data["webhook_url"])


class TeamAdminForm(forms.ModelForm):
    """The admin's team form: the same webhook rule as the settings page."""

    class Meta:
        model = Team
        fields = [
            *("name", "slug", "parent", "checkin_weekday", "checkin_hour", "digest_weekday"),
            "webhook_url",
        ]
        formfield_callback = staticmethod(https_by_default)

    def clean_webhook_url(self) -> str:
        return clean_webhook_url(self.cleaned_data["webhook_url"])
