"""Fetch metadata: what the browser says about who started a request."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def started_here(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse (403) a request that another site's page started (``Sec-Fetch-Site:
    cross-site``): a download of everyone's goals is for a person who asked for it here,
    not for a link or an image on another site that would make their browser build it.
    A browser that sends no fetch metadata, or a script, is let through."""

    @functools.wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            raise PermissionDenied("Downloads start from Waymark's own pages.")
        return view(request, *args, **kwargs)

    return checked
