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
