"""REST API of checkins: the check-ins of key results (DRF viewsets, registered by
okr_site/api_urls.py).

Check-ins are history, so the API lists, reads and adds them, never changes or deletes
one (405). Adding one is the same operation as the check-in page: the rules of
``checkins.access.checkin_refusal`` (403 with the reason), then
``checkins.services.checkin_record``, which moves the key result and rolls progress up.
"""

from __future__ import annotations

from datetime import UTC

from django import forms
from django.db import models
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from checkins.access import checkin_refusal
from checkins.models import CheckIn
from checkins.services import checkin_record
from goals.access import refuse
from goals.filters import IdFilter
from goals.models import CONFIDENCE_MESSAGE, KeyResult, readable_objectives
from okr_site.api import (
    FilterSet,
    Id,
    ListFiltersOnly,
    ListFromRows,
    Number,
    list_errors,
    one_errors,
    write_errors,
)

NO_SUCH_KEY_RESULT = "No such key result."


class ReadableKeyResultField(Id):
    """The id of a key result whose objective the person may read. Any other id (none,
    or another team's private one) is "no such key result": it reveals nothing."""

    default_error_messages = {
        "does_not_exist": NO_SUCH_KEY_RESULT,
        "incorrect_type": "A key result's id is a whole number.",
    }

    def get_queryset(self) -> QuerySet[KeyResult]:
        user = self.context["request"].user
        readable = readable_objectives(user, through="objective__")
        return KeyResult.objects.filter(readable).select_related("objective__cycle", "owner")


class CheckInSerializer(serializers.ModelSerializer):
    key_result = ReadableKeyResultField(help_text="The key result checked in on.")
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DecimalField: Number,
    }

    class Meta:
        model = CheckIn
        fields = [
            "id",
            "key_result",
            "value",
            "confidence",
            "note",
            "blocker",
            "author",
            "created_at",
            "corrects",
        ]
        read_only_fields = ["author", "created_at", "corrects"]
        extra_kwargs = {
            "value": {
                "help_text": "The key result's new current value (0 or 1 for a milestone).",
            },
            "confidence": {
                "help_text": "How likely the target is reached, 1 to 10.",
                "error_messages": {
                    "min_value": CONFIDENCE_MESSAGE,
                    "max_value": CONFIDENCE_MESSAGE,
                    "invalid": CONFIDENCE_MESSAGE,
                },
            },
            "note": {"help_text": "What happened since the last check-in."},
            "author": {"help_text": "Who checked in: the person signed in."},
            "corrects": {"help_text": "The earlier check-in this one corrects, if any."},
        }


class MomentField(IsoDateTimeField):
    """An ISO 8601 moment that the database can compare: in years 1 to 9999 also in UTC
    (the first hour of year 1 at +01:00 is still in year 0 in UTC)."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is not None:
            try:
                moment.astimezone(UTC)
            except OverflowError:
                raise forms.ValidationError(
                    "Enter a date and time between the years 1 and 9999.", code="invalid"
                ) from None
        return moment


class MomentFilter(filters.IsoDateTimeFilter):
    field_class = MomentField


class CheckInFilter(FilterSet):
    key_result = IdFilter(field_name="key_result")
    objective = IdFilter(
        field_name="key_result__objective", help_text="The key result's objective."
    )
    cycle = IdFilter(field_name="key_result__objective__cycle", help_text="The objective's cycle.")
    author = IdFilter(field_name="author", help_text="Who checked in.")
    since = MomentFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text="Check-ins made at or after this moment (ISO 8601, e.g. 2026-10-05T00:00Z).",
    )
    until = MomentFilter(
        field_name="created_at",
        lookup_expr="lt",
        help_text="Check-ins made before this moment (ISO 8601).",
    )

    class Meta:
        model = CheckIn
        fields = ["key_result", "objective", "cycle", "author", "since", "until"]


@extend_schema_view(
    list=extend_schema(
        summary="List check-ins, newest first",
        responses={200: CheckInSerializer, **list_errors()},
    ),
    retrieve=extend_schema(
        summary="A check-in", responses={200: CheckInSerializer, **one_errors()}
    ),
    create=extend_schema(
        summary="Check in on a key result",
        description="Records the check-in exactly as the check-in page does: the key "
        "result's current value and confidence become these, and progress rolls up to its "
        "objective. The key result's owner and its objective's writers may check in, in "
        "an active cycle (403 says why not).",
        responses={201: CheckInSerializer, **write_errors()},
    ),
)
class CheckInViewSet(
    ListFiltersOnly,
    ListFromRows,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Check-ins of the key results whose objective the person may read, newest first;
    pages carry ``next`` and ``previous`` but no ``count`` (the history only grows)."""

    serializer_class = CheckInSerializer
    filterset_class = CheckInFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[CheckIn]:
        user = self.request.user
        readable = readable_objectives(user, through="key_result__objective__")
        return CheckIn.objects.filter(readable)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key_result = data["key_result"]
        refuse(checkin_refusal(request.user, key_result))
        checkin = checkin_record(
            key_result=key_result,
            author=request.user,
            value=data["value"],
            confidence=data["confidence"],
            note=data.get("note", ""),
            blocker=data.get("blocker", ""),
        )
        return Response(self.get_serializer(checkin).data, status=status.HTTP_201_CREATED)


def register(router) -> None:
    """Add this app's endpoints to the API router."""
    router.register("check-ins", CheckInViewSet, basename="checkin")
