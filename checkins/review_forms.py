"""Forms of the one-to-one pages."""

from __future__ import annotations

from django import forms

from alignment.models import User


class OneOnOneForm(forms.Form):
    report = forms.ModelChoiceField(queryset=User.objects.none(), empty_label=None)
    scheduled_for = forms.DateField(
        label="Date", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )

    def __init__(self, *args, manager: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the manager's direct reports.
        self.fields["report"].queryset = User.objects.filter(
            manager=manager, is_active=True
        ).order_by("first_name", "last_name", "username")


class NotesForm(forms.Form):
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}))
    held = forms.BooleanField(required=False, label="Held")


class ActionItemForm(forms.Form):
    text = forms.CharField(max_length=300, label="Action item")
    owner = forms.ModelChoiceField(queryset=User.objects.none(), empty_label=None)

    def __init__(self, *args, one_on_one, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Either of the two people; built from the rows already loaded (no query).
        people = {person.pk: person for person in (one_on_one.report, one_on_one.manager)}
        self.fields["owner"].queryset = User.objects.filter(pk__in=list(people))
        self.fields["owner"].choices = [(pk, str(person)) for pk, person in people.items()]
