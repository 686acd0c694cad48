"""The admins' download of the whole organisation."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from okr_site.fetch_metadata import started_here
from okr_site.portability.exporting import iter_export_json


@require_GET
@login_required
@started_here
def organisation_export(request: HttpRequest) -> StreamingHttpResponse:
    """Stream the export as a file download; superusers only, since it holds everyone's
    goals, private ones included, and the teams' chat webhook addresses."""
    if not request.user.is_superuser:
        raise PermissionDenied("Only administrators can download the whole organisation.")
    response = StreamingHttpResponse(
        (piece.encode() for piece in iter_export_json()),
        content_type="application/json; charset=utf-8",
    )
    filename = f"waymark-organisation-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
