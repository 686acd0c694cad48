"""``ShortSelect`` writes the same select as Django's own widget, only faster."""

from __future__ import annotations

import pytest
from django import forms
from django.test.html import parse_html

from checkins.forms import CONFIDENCE_CHOICES, MILESTONE_CHOICES, ShortSelect


def select_of(widget, choices, data):
    class Form(forms.Form):
        field = forms.ChoiceField(required=False, choices=choices, widget=widget)

    form = Form(data, prefix="kr-7")
    if data is not None:
        form.is_valid()
    return str(form["field"])


@pytest.mark.parametrize("choices", [CONFIDENCE_CHOICES, MILESTONE_CHOICES])
@pytest.mark.parametrize(
    "data", [None, {"kr-7-field": "1"}, {"kr-7-field": ""}, {"kr-7-field": "<b>11"}]
)
def test_the_select_is_djangos_own(choices, data):
    ours = select_of(ShortSelect, choices, data)

    assert parse_html(ours) == parse_html(select_of(forms.Select, choices, data))


def test_labels_and_attributes_are_escaped():
    widget = ShortSelect(attrs={"title": '"><script>'}, choices=[("<x>", "<b>bold</b>")])

    html = widget.render("name", "<x>")

    assert "<script>" not in html and "<b>" not in html
    assert '<option value="&lt;x&gt;" selected>&lt;b&gt;bold&lt;/b&gt;</option>' in html
