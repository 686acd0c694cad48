"""Who may change a team: its leads, leads of a team above it, and admins."""

from __future__ import annotations

from alignment.models import Team, User
from alignment.queries import TeamAccess, team_access_for


def team_settings_refusal(
    user: User, team: Team, *, access: TeamAccess | None = None
) -> str | None:
    """Why ``user`` may not change ``team``'s settings, or None (two queries for a lead
    unless the page passes the ``access`` it loaded; none for an admin)."""
    if user.is_superuser or team.pk in (access or team_access_for(user)).leads_over:
        return None
    return (
        f"Only the leads of {team.name} or of a team above it, and admins, can change its settings."
    )
