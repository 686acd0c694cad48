"""What every API endpoint shares: pagination, throttling and the error format.

Errors are JSON with a message per field (400), or a ``detail`` (401/403/404/429); a
Django ``ValidationError`` or ``PermissionDenied`` raised by a service or an access
helper becomes the same, so the API and the browser share one set of rules.
"""

from __future__ import annotations

import functools
from hmac import compare_digest

import knox.auth
import knox.crypto
import knox.settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import defaults
from django_filters import rest_framework as filters
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from drf_spectacular.utils import OpenApiResponse
from knox.models import AuthToken
from rest_framework import exceptions, mixins, pagination, serializers
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_OFFSET = 2**63 - 1


class Pagination(pagination.PageNumberPagination):
    """Page numbers with ``next`` and ``previous`` links but no total. Counting every
    matching row costs a scan that grows with the organisation (a cycle's key results,
    years of check-ins) while the page itself stays 50 rows; fetching one row more
    than the page tells whether there is a next one."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        size = self.get_page_size(request)
        try:
            self.number = int(request.query_params.get(self.page_query_param, 1))
        except ValueError:
            self.number = 0
        start = (self.number - 1) * size
        # Past a signed 64-bit offset no database can go: that page cannot exist.
        if self.number < 1 or start + size >= MAX_OFFSET:
            raise exceptions.NotFound("Invalid page.")
        rows = list(queryset[start : start + size + 1])
        if not rows and self.number > 1:
            raise exceptions.NotFound("Invalid page.")
        self.has_next = len(rows) > size
        return rows[:size]

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number == 1:
            return None
        url = self.request.build_absolute_uri()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def get_paginated_response(self, data) -> Response:
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        full = super().get_paginated_response_schema(schema)
        full["required"] = ["results"]
        del full["properties"]["count"]
        return full


class Number(serializers.DecimalField):
    """An exact decimal that says what was wrong: not a number at all, or NaN/infinity
    (DRF calls both merely "a valid number is required")."""

    default_error_messages = {
        "invalid": "Enter a number, such as 12.5.",
        "not_finite": "Enter a finite number, such as 12.5 (not NaN or infinity).",
    }

    def to_internal_value(self, data):
        if str(data).strip().lower().lstrip("+-") in {"nan", "snan", "inf", "infinity"}:
            self.fail("not_finite")
        return super().to_internal_value(data)


class Id(serializers.PrimaryKeyRelatedField):
    """A related row's id. A fraction is refused: the lookup would truncate 1.9 to 1."""

    def to_internal_value(self, data):
        if isinstance(data, float) and not data.is_integer():
            self.fail("incorrect_type", data_type="fraction")
        return super().to_internal_value(data)


class ListFiltersOnly:
    """Query-string filters narrow lists; an id names its row whatever they say (a
    deactivated person, say: the owner of an old key result)."""

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)


class ListFromRows(mixins.ListModelMixin):
    """Lists answered from ``.values()`` rows, shaped by the serializer's own readable
    fields. On a page of 50 rows, building model instances and running DRF's serializer
    per row cost more than the query itself; here each value passes only through its
    field's ``to_representation``, so a list row and a retrieve answer alike (a test
    holds them equal). A relation is the id the row holds.

    Readable fields that are no column or annotation are named in ``computed_fields``
    and filled by ``complete()``, once for the whole page, in their JSON form, from the
    row's columns and the annotations named in ``row_columns``."""

    computed_fields: tuple[str, ...] = ()
    row_columns: tuple[str, ...] = ()

    def list(self, request, *args, **kwargs) -> Response:
        shapes = _row_shapes(self.get_serializer_class(), self.computed_fields)
        columns = {column for _, column, _ in shapes if column is not None}
        columns.update(self.row_columns)
        queryset = self.filter_queryset(self.get_queryset()).values(*columns)
        rows = self.paginate_queryset(queryset)
        data = [
            {
                name: None if column is None or row[column] is None else represent(row[column])
                for name, column, represent in shapes
            }
            for row in rows
        ]
        if self.computed_fields:
            self.complete(data, rows)
        return self.get_paginated_response(data)

    def complete(self, items: list[dict], rows: list[dict]) -> None:
        """Fill the computed fields of each answered item from its row (by column)."""
        raise NotImplementedError("A list with computed fields fills them in complete().")


@functools.cache
def _row_shapes(serializer_class: type[serializers.Serializer], computed_fields: tuple[str, ...]):
    """(name, column, how to write it) of each readable field, in order; a computed field
    has no column: complete() fills it. Built once per serializer: building its fields
    (deep copies of the declared ones) cost more than a short page's rows, and no field
    writes a value differently for another reader."""
    return [
        (field.field_name, None, None)
        if field.field_name in computed_fields
        else (field.field_name, field.source, _representation(field))
        for field in serializer_class().fields.values()
        if not field.write_only
    ]


def _representation(field: serializers.Field):
    """How one value of ``field`` is written: a relation's id as it is, anything else as
    the field writes it (decimals as text, moments in ISO 8601 in the site's zone)."""
    if isinstance(field, serializers.RelatedField):
        return lambda pk: pk
    return field.to_representation


class FilterSet(filters.FilterSet):
    """A list's query-string filters. ``without_parameters()`` is what they do to the
    rows when the query string names none of them; the backend then answers with it
    rather than building and validating their form (a test holds the two equal)."""

    @classmethod
    def without_parameters(cls, queryset: QuerySet) -> QuerySet:
        return queryset


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend. Most list requests name no filter (a page, an ordering
    or nothing at all), and the filter form cost more than the page's query."""

    def filter_queryset(self, request, queryset: QuerySet, view) -> QuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        if (
            filterset_class is not None
            and issubclass(filterset_class, FilterSet)
            and not _names_a_filter(request.query_params, filterset_class.base_filters)
        ):
            return filterset_class.without_parameters(queryset)
        return super().filter_queryset(request, queryset, view)


def _names_a_filter(parameters, filter_names) -> bool:
    """Whether a parameter is a filter's, or one of its parts (``read_on_after``)."""
    return any(
        parameter == name or parameter.startswith(f"{name}_")
        for parameter in parameters
        for name in filter_names
    )


class TokenAuthentication(knox.auth.TokenAuthentication):
    """Personal tokens (knox): only a digest is stored, found by the first characters
    that knox keeps in clear and compared in constant time. Every API request asks, so
    the token and its person are read with one statement the ORM need not compile: the
    compiling and two model instances cost more than the query itself."""

    def authenticate_credentials(self, token: bytes):
        try:
            token = token.decode()
        except UnicodeDecodeError:  # a header is Latin-1: not every one decodes
            raise _invalid_token() from None
        if not (token.isascii() and token.isprintable()):  # tokens are hexadecimal
            raise _invalid_token()
        digest = knox.crypto.hash_token(token)
        key = token[: knox.settings.CONSTANTS.TOKEN_KEY_LENGTH]
        # Ours never expire (TOKEN_TTL None); one made with an expiry is not found once
        # it has passed, and is left for its person to revoke: a GET writes nothing.
        now = connections[DEFAULT_DB_ALIAS].ops.adapt_datetimefield_value(timezone.now())
        for person in get_user_model().objects.raw(_KEY_LOOKUP_SQL, [key, now]):
            if compare_digest(digest, person.token_digest):
                auth_token = AuthToken.from_db(
                    person._state.db, ["digest", "token_key", "user_id"], [digest, key, person.pk]
                )
                auth_token.user = person
                return self.validate_user(auth_token)
        raise _invalid_token()


def _invalid_token() -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(_("Invalid token."))


# knox's AuthToken and our User by their tables' names (a test holds them to the models).
_KEY_LOOKUP_SQL = """
    SELECT person.*, token.digest AS token_digest
    FROM knox_authtoken token JOIN alignment_user person ON person.id = token.user_id
    WHERE token.token_key = %s AND (token.expiry IS NULL OR token.expiry > %s)
"""


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI description of our token authentication: knox's."""

    target_class = TokenAuthentication


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


# --- Error responses, documented beside each operation ------------------------------------
# The bodies okr_site.api.exception_handler produces: a message list per field for 400, a
# ``detail`` for the rest.


class DetailError(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in a sentence.")


FIELD_ERRORS = OpenApiResponse(
    response={
        "type": "object",
        "description": "Messages per field or query parameter (`non_field_errors` for the "
        "rest); a request body that cannot be read answers `detail`.",
        "additionalProperties": {
            "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]
        },
    },
    description="Bad input: every message is under the name of the field it is about.",
)
NOT_SIGNED_IN = OpenApiResponse(DetailError, description="No valid session or API token.")
REFUSED = OpenApiResponse(
    DetailError, description="Not signed in (session), or not allowed: `detail` says why."
)
NOT_FOUND = OpenApiResponse(
    DetailError, description="No such row among those you may read, or no such page."
)
THROTTLED = OpenApiResponse(DetailError, description="Too many requests with this API token.")


def list_errors() -> dict:
    """The error responses of a list: a bad filter (400), not signed in, a page past
    the end (404)."""
    return {400: FIELD_ERRORS, 401: NOT_SIGNED_IN, 403: REFUSED, 404: NOT_FOUND, 429: THROTTLED}


def one_errors() -> dict:
    """The error responses of a retrieve: not signed in, not found (also an id outside
    what the person may read)."""
    return {401: NOT_SIGNED_IN, 403: REFUSED, 404: NOT_FOUND, 429: THROTTLED}


def write_errors() -> dict:
    """The error responses of a create: bad input (400), refused (403 with the reason)."""
    return {400: FIELD_ERRORS, 401: NOT_SIGNED_IN, 403: REFUSED, 429: THROTTLED}
