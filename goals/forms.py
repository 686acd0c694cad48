"""Forms for writing goals. They validate; the services in ``goals.services`` write."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet

from alignment.models import Team, User
from goals import access
from goals.models import Cycle, Initiative, KeyResult, Kpi, KpiReading, Objective, Reflection
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

    def __init__(self, *args, too_large: bool = False, **kwargs):
        from goals.spreadsheets.layout import FILE_TOO_LARGE

        super().__init__(*args, **kwargs)
        if too_large:
            # The view's upload handler stopped reading the file at the limit, so the
            # form sees no file: say why rather than ask for one.
            self.fields["file"].error_messages["required"] = FILE_TOO_LARGE

    def clean_file(self):
        from goals.spreadsheets.layout import FILE_TOO_LARGE, MAX_FILE_BYTES
        from goals.spreadsheets.reading import FileRefused, check_name

        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError(FILE_TOO_LARGE)
        try:
            check_name(upload.name, upload.read())
        except FileRefused as refused:
            raise ValidationError(str(refused)) from refused
        finally:
            upload.seek(0)
        return upload


GRADE_NOT_A_NUMBER = "Enter a grade from 0.0 to 1.0, like 0.7."
GRADE_OUT_OF_RANGE = "A grade goes from 0.0 to 1.0."
GRADE_TOO_PRECISE = "At most two digits after the point, like 0.75."


def parse_grade(text: str) -> Decimal:
    """A typed grade ("0.7", ".75", "1", "0,7") as a decimal with two places, or a
    ValidationError saying what is wrong."""
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise ValidationError(GRADE_NOT_A_NUMBER, code="invalid") from None
    if not value.is_finite():  # NaN, Infinity
        raise ValidationError(GRADE_NOT_A_NUMBER, code="invalid")
    if not 0 <= value <= 1:
        raise ValidationError(GRADE_OUT_OF_RANGE, code="range")
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError(GRADE_TOO_PRECISE, code="precision")
    return value.quantize(Decimal("0.01"))


class GradeForm(NoColonMixin, forms.Form):
    """One key result's row of the grading page (prefix ``kr-<pk>``): the grade, pre-filled
    with the saved grade or the progress rounded to 0.1, and a reason, needed when the
    grade is more than 0.1 away from the progress. A row left empty is skipped."""

    grade = forms.CharField(
        required=False, max_length=20, widget=forms.TextInput(attrs=NUMBER_INPUT)
    )
    reason = forms.CharField(required=False, max_length=2000, widget=forms.TextInput)

    def __init__(self, *args, key_result: KeyResult, **kwargs):
        from goals import progress as math

        kwargs.setdefault("prefix", f"kr-{key_result.pk}")
        grade = key_result.grade
        kwargs.setdefault(
            "initial",
            {
                "grade": typed_grade(
                    grade if grade is not None else math.suggested_grade(key_result.progress)
                ),
                "reason": key_result.grade_reason,
            },
        )
        super().__init__(*args, **kwargs)
        self.key_result = key_result
        self.fields["grade"].label = f"Grade (0.0–1.0) for {key_result.title}"
        self.fields["reason"].label = f"Why this grade, for {key_result.title}"
        self.fields["grade"].widget.attrs["size"] = 5

    def clean_grade(self) -> Decimal | None:
        text = self.cleaned_data["grade"].strip()
        return parse_grade(text) if text else None

    def clean(self) -> dict:
        from goals import progress as math
        from goals.services import grade_reason_needed

        cleaned = super().clean()
        grade = cleaned.get("grade")
        if (
            grade is not None
            and math.grade_needs_reason(grade, self.key_result.progress)
            and not cleaned.get("reason", "").strip()
        ):
            self.add_error("reason", grade_reason_needed(self.key_result.progress))
        return cleaned

    @property
    def is_filled(self) -> bool:
        return self.cleaned_data.get("grade") is not None


def typed_grade(value: Decimal) -> str:
    """Decimal("0.70") → "0.7", Decimal("1.00") → "1.0": a grade as people write it."""
    text = f"{value.normalize():f}"
    return text if "." in text else f"{text}.0"


class ReflectionForm(NoColonMixin, forms.ModelForm):
    """The five questions of an objective's reflection."""

    class Meta:
        model = Reflection
        fields = ["what_changed", "what_worked", "what_did_not", "learned", "next_focus"]
        labels = {
            "what_changed": "What changed?",
            "what_worked": "What worked?",
            "what_did_not": "What didn't work?",
            "learned": "What did we learn?",
            "next_focus": "What do we focus on next?",
        }
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in fields}
