"""What every API endpoint shares: pagination, throttling and the error format.

Errors are JSON with a message per field (400), or a ``detail`` (401/403/404/429); a
Django ``ValidationError`` or ``PermissionDenied`` raised by a service or an access
helper becomes the same, so the API and the browser share one set of rules.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, pagination
from rest_framework.throttling import UserRateThrottle


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class TokenClientThrottle(UserRateThrottle):
    """Throttle requests made with an API token; the browser session is not throttled."""

    scope = "token"

    def allow_request(self, request, view) -> bool:
        if request.auth is None:
            return True
        return super().allow_request(request, view)


def as_drf_error(error: DjangoValidationError) -> exceptions.ValidationError:
    """A model or service ``ValidationError`` as DRF's: one list of messages per field,
    and what belongs to no field under ``non_field_errors``."""
    if hasattr(error, "error_dict"):
        detail = {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    else:
        detail = {"non_field_errors": error.messages}
    return exceptions.ValidationError(detail)


def exception_handler(exc, context):
    # Imported here: DRF's views module reads the settings, which name this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = as_drf_error(exc)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    return drf_exception_handler(exc, context)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for a URL no route matches: JSON under /api/ (integrators parse it), the
    site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
