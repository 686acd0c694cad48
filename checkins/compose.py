"""The words of each nudge: subject, plain text and HTML for e-mail, text for chat.

Templates live in ``templates/checkins/nudges/``; chat messages are plain text with
bare links, which both Slack and Microsoft Teams incoming webhooks display.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.urls import reverse

from checkins.links import absolute


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str = ""


def _render(name: str, context: dict, *, html: bool = True) -> tuple[str, str]:
    context = {"site_url": absolute(""), **context}
    text = render_to_string(f"checkins/nudges/{name}.txt", context).strip() + "\n"
    if not html:
        return text, ""
    return text, render_to_string(f"checkins/nudges/{name}.html", context)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def reminder(person, key_results: list[dict], *, checkin_url: str, preferences_url: str) -> Message:
    """``key_results``: rows with ``title``, ``objective__title`` and ``since``."""
    subject = f"Check-in day: {_plural(len(key_results), 'key result')} to update"
    text, html = _render(
        "reminder",
        {
            "person": person,
            "key_results": key_results,
            "checkin_url": checkin_url,
            "preferences_url": preferences_url,
        },
    )
    return Message(subject, text, html)


def escalation(recipient, team, key_results: list[dict], *, preferences_url: str) -> Message:
    """``key_results``: rows with ``title``, ``objective__title``, ``owner`` and ``days``."""
    subject = f"{team.name}: {_plural(len(key_results), 'key result')} without a check-in"
    text, html = _render(
        "escalation",
        {
            "recipient": recipient,
            "team": team,
            "key_results": key_results,
            "review_url": absolute(reverse("checkins:team-review", args=[team.slug])),
            "preferences_url": preferences_url,
        },
    )
    return Message(subject, text, html)


def digest(recipient, digest, *, preferences_url: str = "") -> Message:
    """For a lead (``recipient``) by e-mail, or for the team's chat (``recipient=None``)."""
    subject = f"{digest.team.name}: your week in goals"
    context = {"recipient": recipient, "digest": digest, "preferences_url": preferences_url}
    text, html = _render("digest", context, html=recipient is not None)
    return Message(subject, text, html)


def team_reminder(team, due: list[dict]) -> Message:
    """``due``: rows with ``name`` and ``count`` of due key results, for the team chat."""
    subject = f"{team.name}: check-in day"
    text, _ = _render(
        "team_reminder",
        {"team": team, "due": due, "checkin_url": absolute(reverse("checkins:weekly"))},
        html=False,
    )
    return Message(subject, text)


def webhook_alert(recipient, team, error: str, *, preferences_url: str) -> Message:
    subject = f"{team.name}: the chat webhook is failing"
    text, html = _render(
        "webhook_alert",
        {
            "recipient": recipient,
            "team": team,
            "error": error,
            "settings_url": absolute(reverse("alignment:team-settings", args=[team.slug])),
            "preferences_url": preferences_url,
        },
    )
    return Message(subject, text, html)


def planning(person, cycle, previous, *, carried: int, preferences_url: str) -> Message:
    """Ask ``person`` to draft their objectives for ``cycle``, which follows ``previous``;
    ``carried``: how many of their objectives were already carried into it."""
    subject = f"{cycle.name}: time to draft your objectives"
    text, html = _render(
        "planning",
        {
            "person": person,
            "cycle": cycle,
            "previous": previous,
            "carried": carried,
            "cycle_url": absolute(reverse("goals:cycle", args=[cycle.pk])),
            "create_url": absolute(reverse("goals:objective-create")),
            "previous_url": previous and absolute(reverse("goals:carry-over", args=[previous.pk])),
            "preferences_url": preferences_url,
        },
    )
    return Message(subject, text, html)
