"""Presentation helpers for goals: percentages and key result values."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from django import template
from django.utils.safestring import mark_safe

from goals import progress as math

register = template.Library()

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}


@register.filter
def percent(fraction: float | None) -> str:
    """0.625 → "63%"."""
    if fraction is None:
        return "–"
    return f"{round(float(fraction) * 100)}%"


@register.filter
def plain_number(value: Decimal | None) -> str:
    """Decimal("1200.5000") → "1,200.5": no trailing zeros, thousands separated."""
    if value is None:
        return "–"
    text = f"{value:,.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@register.simple_tag
def kr_value(key_result, value: Decimal | None) -> str:
    """A value as its key result reads: "Done", "42%", "€1,200", "3.5 days"."""
    if key_result.is_milestone:
        return "Done" if value == 1 else "Not done"
    number = plain_number(value)
    unit = key_result.unit
    if key_result.kind == "percent":
        return f"{number}{unit or '%'}"
    if key_result.kind == "currency":
        symbol = CURRENCY_SYMBOLS.get(unit.upper(), unit if len(unit) == 1 else "")
        if symbol:
            return f"{symbol}{number}"
    return f"{number} {unit}".strip()


def _hundredths(fraction: float | None) -> int:
    """0.625 → 63: a fraction of 1 as a width out of 100 (no value: 0)."""
    return 0 if fraction is None else round(float(fraction) * 100)


@register.simple_tag
def progress_bar(
    value: float | None, expected: float | None = None, *, behind=False, label="Progress"
) -> str:
    """A progress bar: ``value`` and optional ``expected`` are fractions of 1; ``behind``
    colours it as trailing the pace. SVG attributes rather than inline styles keep it
    working under a strict CSP. Built here rather than in an included template: pages
    show dozens of bars, and an include costs several times this."""
    figure = percent(value)
    described = f"{label} {figure}"
    marker = ""
    if expected is not None:
        described += f", expected {percent(expected)}"
        marker = (
            f'<rect class="bar-expected" x="{_hundredths(expected)}" y="0" width="1.2" '
            'height="10"/>'
        )
    width = _hundredths(value)
    return mark_safe(  # noqa: S308 (the label, the only text, is escaped)
        f'<span class="progress{" progress-behind" if behind else ""}">'
        '<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="progressbar" '
        f'aria-valuemin="0" aria-valuemax="100" aria-valuenow="{width}" '
        f'aria-label="{escape(described)}">'
        '<rect class="bar-track" x="0" y="0" width="100" height="10"/>'
        f'<rect class="bar-fill" x="0" y="0" width="{width}" height="10"/>{marker}</svg>'
        f'<span class="progress-figure">{figure}</span></span>'
    )


@register.simple_tag
def behind_pace(progress: float, expected: float) -> bool:
    """Whether ``progress`` trails the expected pace by the attention margin."""
    return math.needs_attention(progress, expected, None).behind_pace


@register.filter
def get_item(mapping: dict, key):
    """``mapping|get_item:key``: a dict lookup by a variable key."""
    return mapping.get(key) if mapping else None


@register.simple_tag
def team_option_tags(options, selected=None) -> str:
    """The ``<option>`` of every ``(team, label)``, ``selected`` marked: built in one pass
    with the standard library's escaping, not a template loop or ``format_html`` per
    option, as a large organisation's filter lists over a thousand teams."""
    chosen = getattr(selected, "pk", None)
    tags = (
        f'<option value="{escape(team.slug)}"{" selected" if team.pk == chosen else ""}>'
        f"{escape(label)}</option>"
        for team, label in options
    )
    return mark_safe("\n".join(tags))  # noqa: S308 (every value escaped above)
