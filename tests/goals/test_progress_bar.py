"""The progress bar every list of goals shows (``{% progress_bar %}``)."""

from __future__ import annotations

from django.template import Context, Template


def bar(arguments: str, **context) -> str:
    template = Template("{% load waymark %}{% progress_bar " + arguments + " %}")
    return template.render(Context(context))


def test_the_bar_fills_to_the_value_and_marks_the_expected_pace():
    html = bar('value expected behind=True label="Team score"', value=0.63, expected=0.4)

    assert 'class="progress progress-behind"' in html
    assert '<rect class="bar-fill" x="0" y="0" width="63" height="10"/>' in html
    assert '<rect class="bar-expected" x="40" y="0"' in html
    assert 'aria-valuenow="63"' in html
    assert 'aria-label="Team score 63%, expected 40%"' in html
    assert '<span class="progress-figure">63%</span>' in html


def test_without_an_expected_pace_there_is_no_marker_and_no_colour():
    html = bar("value", value=1)

    assert 'class="progress"' in html
    assert "bar-expected" not in html
    assert 'aria-label="Progress 100%"' in html


def test_no_value_shows_a_dash_and_an_empty_bar():
    html = bar("value None", value=None)

    assert 'width="0" height="10"' in html
    assert '<span class="progress-figure">–</span>' in html


def test_the_label_is_escaped():
    html = bar("value label=label", value=0.5, label='<b onmouseover="x">')

    assert "<b " not in html
    assert "&lt;b onmouseover=&quot;x&quot;&gt;" in html
