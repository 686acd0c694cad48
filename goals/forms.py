"""Forms for writing goals. They validate; the services in ``goals.services`` write."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from goals.models import KeyResult, Kpi, KpiReading, Objective
from goals.services import GOALPOST_REASON_NEEDED


class KeyResultFormBase(forms.ModelForm):
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


class KpiForm(forms.ModelForm):
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
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, guardable: QuerySet[Objective] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only objectives the person can see, in cycles that are not closed.
        self.fields["guarded_objectives"].queryset = (
            guardable if guardable is not None else Objective.objects.none()
        )
        self.fields["guarded_objectives"].required = False


class KpiReadingForm(forms.ModelForm):
    class Meta:
        model = KpiReading
        fields = ["read_on", "value"]
        widgets = {"read_on": forms.DateInput(attrs={"type": "date"})}
