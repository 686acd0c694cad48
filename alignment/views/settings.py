"""A team's settings: check-in day and hour, digest day, chat webhook."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def team_settings(request: HttpRequest, slug: str) -> HttpResponse:
    raise Http404
