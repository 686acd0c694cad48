"""Forms for check-ins. They validate what a person typed; ``checkins.services`` writes."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join

from alignment.models import Team, User
from goals.forms import NUMBER_INPUT, NoColonMixin, typed_number
from goals.models import CONFIDENCE_MESSAGE, KeyResult

MAX_WHOLE_DIGITS = 14  # VALUE_DIGITS: 18 digits, 4 of them after the point
MAX_DECIMALS = 4
NOT_A_NUMBER = "Enter a number, like 42 or 3.5."
TOO_BIG = f"That number is too large: at most {MAX_WHOLE_DIGITS} digits before the point."
TOO_PRECISE = f"At most {MAX_DECIMALS} digits after the point."
MILESTONE_CHOICE = "Choose done or not done."
VALUE_NEEDS_CONFIDENCE = "How confident are you (1–10)? A check-in needs both."
CONFIDENCE_NEEDS_VALUE = "Enter the new value too: a check-in needs both."
CONFIDENCE_CHOICES = [("", "–"), *((str(n), str(n)) for n in range(1, 11))]
MILESTONE_CHOICES = [("", "–"), ("0", "Not done"), ("1", "Done")]


def parse_value(text: str) -> Decimal:
    """A typed value as an exact decimal, or a ValidationError saying what is wrong."""
    try:
        value = Decimal(text.strip().replace(" ", ""))
    except InvalidOperation:
        raise ValidationError(NOT_A_NUMBER, code="invalid") from None
    if not value.is_finite():  # NaN, sNaN, Infinity
        raise ValidationError(NOT_A_NUMBER, code="invalid")
    _sign, digits, exponent = value.as_tuple()
    whole = len(digits) + exponent if isinstance(exponent, int) else 0
    if value != 0 and whole > MAX_WHOLE_DIGITS:
        raise ValidationError(TOO_BIG, code="max_whole_digits")
    if (
        isinstance(exponent, int)
        and exponent < -MAX_DECIMALS
        and value != value.quantize(Decimal(1).scaleb(-MAX_DECIMALS))
    ):
        raise ValidationError(TOO_PRECISE, code="max_decimal_places")
    return value.quantize(Decimal(1).scaleb(-MAX_DECIMALS))


class ShortSelect(forms.Select):
    """A select of a few plain choices (no groups), written out here: Django renders
    each option through a template of its own, which made the confidence picker cost
    more than the rest of a check-in row (0.37 ms of 0.6). Attributes come from
    ``build_attrs`` as Django's own select takes them, ``aria-*`` and ``id`` included."""

    def render(self, name, value, attrs=None, renderer=None) -> str:
        chosen = self.format_value(value)
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (choice, " selected" if str(choice) in chosen else "", label)
                for choice, label in self.choices
            ),
        )
        attributes = flatatt(self.build_attrs(self.attrs, attrs))
        return format_html('<select name="{}"{}>{}</select>', name, attributes, options)


class CheckInForm(NoColonMixin, forms.Form):
    """One key result's row of the weekly check-in (prefix ``kr-<pk>``). Left empty, the
    row is skipped; a value needs a confidence and a confidence a value."""

    value = forms.CharField(
        required=False, max_length=40, widget=forms.TextInput(attrs=NUMBER_INPUT)
    )
    confidence = forms.ChoiceField(
        required=False,
        choices=CONFIDENCE_CHOICES,
        widget=ShortSelect,
        error_messages={"invalid_choice": CONFIDENCE_MESSAGE},
    )
    note = forms.CharField(required=False, max_length=2000, widget=forms.TextInput)
    blocker = forms.CharField(required=False, max_length=2000, widget=forms.TextInput)

    def __init__(self, *args, key_result: KeyResult, **kwargs):
        kwargs.setdefault("prefix", f"kr-{key_result.pk}")
        super().__init__(*args, **kwargs)
        self.key_result = key_result
        title = key_result.title
        self.fields["value"].label = f"New value for {title}"
        self.fields["confidence"].label = f"Confidence (1–10) for {title}"
        self.fields["note"].label = f"Note for {title}"
        self.fields["blocker"].label = f"Blocker for {title}"
        if key_result.is_milestone:
            self.fields["value"] = forms.ChoiceField(
                required=False,
                choices=MILESTONE_CHOICES,
                widget=ShortSelect,
                label=f"Done? {title}",
                error_messages={"invalid_choice": MILESTONE_CHOICE},
            )
        self.fields["value"].widget.attrs["placeholder"] = (
            "" if key_result.is_milestone else typed_number(key_result.current_value)
        )

    def clean_value(self) -> Decimal | None:
        text = self.cleaned_data.get("value", "")
        if not text.strip():
            return None
        if self.key_result.is_milestone:
            return Decimal(text)  # "0" or "1": the choice field checked it
        return parse_value(text)

    def clean_confidence(self) -> int | None:
        text = self.cleaned_data.get("confidence", "")
        return int(text) if text else None

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        value, confidence = cleaned.get("value"), cleaned.get("confidence")
        written = cleaned.get("note", "").strip() or cleaned.get("blocker", "").strip()
        if value is not None and confidence is None:
            self.add_error("confidence", VALUE_NEEDS_CONFIDENCE)
        elif confidence is not None and value is None:
            self.add_error("value", CONFIDENCE_NEEDS_VALUE)
        elif written and value is None:
            self.add_error("value", "A note or blocker goes with a new value and a confidence.")
        return cleaned

    @property
    def is_filled(self) -> bool:
        """Valid and with something to record (call after ``is_valid()``)."""
        return not self.errors and self.cleaned_data.get("value") is not None

    def row(self) -> dict:
        data = self.cleaned_data
        return {
            "key_result": self.key_result,
            "value": data["value"],
            "confidence": data["confidence"],
            "note": data.get("note", "").strip(),
            "blocker": data.get("blocker", "").strip(),
        }


class WeeklyUpdateForm(NoColonMixin, forms.Form):
    what_moved = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    whats_blocked = forms.CharField(
        required=False,
        max_length=5000,
        label="What's blocked",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    next_focus = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class CorrectionForm(CheckInForm):
    """A correction of one's own check-in: value and confidence are both needed."""

    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.errors and cleaned.get("value") is None:
            self.add_error("value", "Enter the corrected value.")
        return cleaned


# --- Reminder preferences ------------------------------------------------------------------

NO_TEAM_CHAT = (
    "None of your teams has a chat channel in Waymark yet; reminders would come by e-mail."
)
CHANNEL_HELP = {
    User.NudgeChannel.EMAIL: "An e-mail on your team's check-in day when a key result you own "
    "has gone a week without a check-in, with a link to check in without a password.",
    User.NudgeChannel.CHAT: "Your team's chat channel names you on check-in day instead. "
    "Escalations and digests for leads and managers still come by e-mail.",
    User.NudgeChannel.PAUSED: "Waymark sends you nothing. Key results you leave without "
    "check-ins still show as stale to your manager and your team's leads.",
}


class ReminderPreferencesForm(NoColonMixin, forms.ModelForm):
    """How a person is reminded. Chat needs a team of theirs with a chat webhook."""

    class Meta:
        model = User
        fields = ["nudge_channel"]
        labels = {"nudge_channel": "How should Waymark remind you?"}
        widgets = {"nudge_channel": forms.RadioSelect}

    def clean_nudge_channel(self) -> str:
        channel = self.cleaned_data["nudge_channel"]
        if channel == User.NudgeChannel.CHAT and not self._has_team_chat():
            raise ValidationError(NO_TEAM_CHAT, code="no_team_chat")
        return channel

    def _has_team_chat(self) -> bool:
        return (
            Team.objects.filter(memberships__user=self.instance, archived_at__isnull=True)
            .exclude(webhook_url="")
            .exists()
        )

    def options(self) -> list[tuple]:
        """Each radio button with the sentence that explains it."""
        return [
            (radio, CHANNEL_HELP.get(radio.data["value"], "")) for radio in self["nudge_channel"]
        ]
