"""A team's settings: check-in day and hour, digest day, chat webhook."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from alignment.access import team_settings_refusal
from alignment.forms import TeamSettingsForm
from alignment.models import Team
from alignment.services import team_settings_save


@login_required
def team_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Teams are public, so an unknown slug is 404 and a refusal is 403 with its reason.
    An archived team's settings are shown read-only."""
    team = get_object_or_404(Team.objects.select_related("parent"), slug=slug)
    refusal = team_settings_refusal(request.user, team)
    if refusal:
        raise PermissionDenied(refusal)
    archived = team.archived_at is not None
    if request.method == "POST" and archived:
        raise PermissionDenied(f"{team.name} is archived: its settings are read-only.")
    form = TeamSettingsForm(request.POST if request.method == "POST" else None, instance=team)
    if archived:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        team_settings_save(team=form.instance, changed_fields=form.changed_settings())
        messages.success(request, f"Settings of {team.name} saved.")
        return redirect("alignment:team-settings", slug=team.slug)
    return render(
        request,
        "alignment/team_settings.html",
        {"team": team, "form": form, "archived": archived},
    )
