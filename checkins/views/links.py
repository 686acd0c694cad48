"""Pages opened from a nudge without a password: check in through a signed link, and
change one's reminders. Also the signed-in version of the reminders page."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def checkin_link(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404


def preferences(request: HttpRequest) -> HttpResponse:
    raise Http404


def preferences_link(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404
