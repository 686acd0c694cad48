"""Forms for writing goals. They validate; the services in ``goals.services`` write."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet

from alignment.models import Team, User
from goals import access
from goals.models import Cycle, Initiative, KeyResult, Kpi, KpiReading, Objective
from goals.services import GOALPOST_REASON_NEEDED


class NoColonMixin:
    """Labels read "Title", not "Title:" (screen readers say the colon too)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class PersonField(forms.ModelChoiceField):
    """A person typed by username, with suggestions from a <datalist>: a select of every
    person would weigh megabytes in a large organisation."""

    widget = forms.TextInput(attrs={"list": "people", "autocomplete": "off"})
    default_error_messages = {"invalid_choice": "No active person has that username."}

    def __init__(self, **kwargs):
        super().__init__(User.objects.filter(is_active=True), to_field_name="username", **kwargs)

    def prepare_value(self, value):
        if isinstance(value, int):  # an initial owner id from the instance
            return User.objects.filter(pk=value).values_list("username", flat=True).first()
        return super().prepare_value(value)


class ObjectiveForm(NoColonMixin, forms.ModelForm):
    """An objective's own fields. Who may create or move it is checked here, beside the
    field, with the rules of ``goals.access``."""

    owner = PersonField(help_text="Username of the person who owns it.")
    # Set when the objective starts from a red KPI: the KPI then guards it.
    kpi = forms.ModelChoiceField(
        queryset=Kpi.objects.filter(archived_at__isnull=True),
        required=False,
        widget=forms.HiddenInput,
    )

    class Meta:
        model = Objective
        fields = ["title", "description", "team", "owner", "cycle", "kind", "visibility"]
        widgets = {
            "title": forms.TextInput(attrs={"placeholder": "Where do we want to be?"}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"description": "Why it matters"}
        help_texts = {"description": "What changes, for whom, if we get there."}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["team"].queryset = Team.objects.filter(archived_at__isnull=True)
        self.fields["cycle"].queryset = Cycle.objects.exclude(state=Cycle.State.CLOSED)

    def clean(self) -> dict:
        cleaned = super().clean()
        team, cycle, owner = cleaned.get("team"), cleaned.get("cycle"), cleaned.get("owner")
        moved = self.instance.pk is None or {"team", "owner", "cycle"} & set(self.changed_data)
        if team and cycle and moved:
            refusal = access.objective_create_refusal(
                self.user, team=team, cycle=cycle, owner=owner
            )
            if refusal:
                self.add_error("team", refusal)
        return cleaned


class KeyResultFormBase(NoColonMixin, forms.ModelForm):
    """Checks every rule of a key result beside its field, including the ones on fields
    the form leaves out, and asks for a reason when an active cycle's goalposts move."""

    reason = forms.CharField(
        required=False,
        label="Why the goalpost moves",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when the baseline or target changes in an active cycle.",
    )

    class Meta:
        model = KeyResult
        fields = [
            "title",
            "owner",
            "kind",
            "unit",
            "start_value",
            "target_value",
            "weight",
            "progress_source",
        ]

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors:
            return
        # ModelForm skips constraints on fields outside the form (the current value, which
        # only check-ins move); the service checks them all, so check them here too.
        try:
            self.instance.validate_constraints()
        except ValidationError as error:
            self._update_errors(error)
            return
        if self.instance.goalpost_moves() and not self.cleaned_data.get("reason", "").strip():
            self.add_error("reason", GOALPOST_REASON_NEEDED)


# Numbers are typed into text inputs: a browser sends an empty value for "4e" in a
# number input, which would read "This field is required." instead of "Enter a number."
NUMBER_INPUT = {"inputmode": "decimal", "autocomplete": "off"}


def typed_number(value) -> str:
    """Decimal("92.0000") → "92": a stored value as a person would type it."""
    return f"{value.normalize():f}" if value is not None else ""


class KeyResultForm(KeyResultFormBase):
    """A key result as written in the browser: the owner is typed, and defaults to the
    objective's owner when left empty; a milestone needs no numbers (0 → 1)."""

    owner = PersonField(required=False, help_text="Leave empty for the objective's owner.")

    class Meta(KeyResultFormBase.Meta):
        widgets = {
            "title": forms.TextInput(attrs={"placeholder": "e.g. Reduce churn from 8% to 4%"}),
            "start_value": forms.TextInput(attrs=NUMBER_INPUT),
            "target_value": forms.TextInput(attrs=NUMBER_INPUT),
            "weight": forms.TextInput(attrs=NUMBER_INPUT),
        }
        labels = {"start_value": "From", "target_value": "To", "progress_source": "Progress from"}
        help_texts = {
            "start_value": "The baseline (leave empty for a milestone).",
            "target_value": "The target (leave empty for a milestone).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("start_value", "target_value"):
            self.fields[name].required = False
        if self.instance.pk:
            for name in ("start_value", "target_value", "weight"):
                self.initial[name] = typed_number(getattr(self.instance, name))

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("kind") != KeyResult.Kind.MILESTONE:
            for name in ("start_value", "target_value"):
                if cleaned.get(name) is None and name not in self.errors:
                    self.add_error(name, "Enter a number: a key result goes from X to Y.")
        return cleaned


class BaseKeyResultFormSet(forms.BaseInlineFormSet):
    """Key results typed with a new objective; blank rows are left out."""

    def clean(self) -> None:
        super().clean()
        filled = [form for form in self.forms if form.has_changed() and not form.errors]
        if not filled and not any(form.errors for form in self.forms):
            raise ValidationError("Add at least one key result: how will you know you got there?")


KeyResultFormSet = forms.inlineformset_factory(
    Objective,
    KeyResult,
    form=KeyResultForm,
    formset=BaseKeyResultFormSet,
    extra=3,
    max_num=10,
    validate_max=True,
    can_delete=False,
)


class InitiativeForm(NoColonMixin, forms.ModelForm):
    owner = PersonField(required=False, help_text="Leave empty for the key result's owner.")
    link = forms.URLField(required=False, assume_scheme="https", max_length=500)

    class Meta:
        model = Initiative
        fields = ["title", "owner", "status", "due_date", "link"]
        widgets = {
            "title": forms.TextInput(attrs={"placeholder": "e.g. Redesign the unlock screen"}),
            "due_date": forms.DateInput(attrs={"type": "date"}),
            "link": forms.URLInput(attrs={"placeholder": "https://…"}),
        }


class KpiForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = Kpi
        fields = [
            "name",
            "description",
            "unit",
            "direction",
            "green_threshold",
            "red_threshold",
            "guarded_objectives",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "green_threshold": forms.NumberInput(attrs={"step": "any"}),
            "red_threshold": forms.NumberInput(attrs={"step": "any"}),
        }

    def __init__(self, *args, guardable: QuerySet[Objective] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only objectives the person can see, in cycles that are not closed.
        guarded = self.fields["guarded_objectives"]
        guarded.queryset = guardable if guardable is not None else Objective.objects.none()
        guarded.required = False
        guarded.label_from_instance = lambda o: f"{o.title} · {o.team.name} · {o.cycle.name}"
        if self.instance.pk:  # thresholds as typed ("120"), not as stored ("120.0000")
            for name in ("green_threshold", "red_threshold"):
                self.initial[name] = f"{getattr(self.instance, name).normalize():f}"

    def _post_clean(self) -> None:
        super()._post_clean()
        # The thresholds rule spans two fields: show it beside the green one.
        thresholds = self._errors.pop(NON_FIELD_ERRORS, None) if self._errors else None
        if thresholds:
            self.add_error("green_threshold", thresholds)
        if self.errors:
            return
        # One name per team: the team is not a field here, so ModelForm skips the rule.
        try:
            self.instance.validate_constraints()
        except ValidationError as error:
            self.add_error("name", error.messages)


class KpiReadingForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = KpiReading
        fields = ["read_on", "value"]
        widgets = {
            # ISO dates: what <input type="date"> reads, whatever the site's locale.
            "read_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "value": forms.NumberInput(attrs={"step": "any"}),
        }
        labels = {"read_on": "Date"}


class SpreadsheetUploadForm(NoColonMixin, forms.Form):
    """A spreadsheet of objectives and key results to check (and then import)."""

    file = forms.FileField(
        label="Spreadsheet",
        help_text="XLSX, CSV (UTF-8) or the .zip of CSV files that the export writes; at "
        "most 5,000 rows and 10 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,.zip"}),
        error_messages={
            "required": "Choose the spreadsheet to import.",
            "empty": "The file is empty.",
        },
    )

    def clean_file(self):
        from goals.spreadsheets.layout import MAX_FILE_BYTES

        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError("The file is larger than 10 MB: split it into several files.")
        return upload
