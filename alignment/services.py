"""Writes to the organisation that carry a rule beyond one field."""

from __future__ import annotations

from collections.abc import Iterable

from alignment.models import Team


def team_settings_save(*, team: Team, changed_fields: Iterable[str]) -> None:
    """Save ``team`` (already validated) after a change of ``changed_fields``.

    A new webhook address gets a clean slate: delivery stops posting to a webhook once it
    has failed for good (``webhook_failed_at``) until someone changes it, so changing it
    is what switches the team's chat back on. Only the changed columns are written, so a
    failure recorded meanwhile by delivery is not overwritten with a stale value.
    """
    fields = set(changed_fields)
    if "webhook_url" in fields:
        team.webhook_failed_at = None
        team.webhook_error = ""
        fields |= {"webhook_failed_at", "webhook_error"}
    if team._state.adding:
        team.save()
    elif fields:
        team.save(update_fields=sorted(fields))
