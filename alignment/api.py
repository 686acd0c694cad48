"""REST API of alignment: the organisation's teams and people, read-only (DRF viewsets,
registered by okr_site/api_urls.py). Teams and people are changed in the admin.

Everyone signed in may read the organisation (as on the pages). What is not for
everyone stays out: a team's chat webhook address (whoever holds it can post to the
channel) and a person's e-mail address, which only that person and admins read.
"""

from __future__ import annotations

from django import forms
from django.db.models import Prefetch, Q, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from alignment.models import Membership, Team, User
from goals.filters import IdFilter
from okr_site.api import FilterSet, ListFiltersOnly, ListFromRows, list_errors, one_errors

# --- Teams -------------------------------------------------------------------------------


def weekday(help_text: str) -> serializers.IntegerField:
    # A plain number in the schema: both days share one set of choices, which would
    # otherwise be documented as two enums with the same values.
    return serializers.IntegerField(
        read_only=True, min_value=0, max_value=6, help_text=f"{help_text} 0 = Monday … 6 = Sunday."
    )


class TeamSerializer(serializers.ModelSerializer):
    checkin_weekday = weekday("The day the team checks in.")
    digest_weekday = weekday("The day the leads get the weekly digest.")

    class Meta:
        model = Team
        fields = [
            "id",
            "name",
            "slug",
            "parent",
            "checkin_weekday",
            "checkin_hour",
            "digest_weekday",
            "archived_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "parent": {"help_text": "The team above; null for the company."},
            "checkin_hour": {
                "help_text": "Hour of the check-in reminder, 0 to 23.",
                "min_value": 0,
                "max_value": 23,
            },
        }


class FlagField(forms.NullBooleanField):
    """``true`` or ``false`` (also ``1``/``0``); anything else is an error, not "left
    out" as Django's field would have it (``active=flase`` must not list everyone)."""

    words = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        try:
            return self.words[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError("Enter true or false.", code="invalid") from None

    def validate(self, value) -> None:
        pass


class Flag(filters.BooleanFilter):
    field_class = FlagField

    def __init__(self, *args, **kwargs):
        # The REST filter's widget turns unknown words into "left out" before the field.
        kwargs["widget"] = forms.TextInput
        super().__init__(*args, **kwargs)


def search_words(queryset: QuerySet, fields: tuple[str, ...], value: str) -> QuerySet:
    """Rows where every word of ``value`` is in one of ``fields`` (case-insensitive)."""
    for word in value.split()[:10]:
        match = Q()
        for name in fields:
            match |= Q(**{f"{name}__icontains": word})
        queryset = queryset.filter(match)
    return queryset


class TeamFilter(FilterSet):
    parent = IdFilter(field_name="parent", help_text="Teams right below this one.")
    archived = Flag(
        method="filter_archived",
        help_text="`true`: archived teams only; `false`: current teams only; left out: both.",
    )
    search = filters.CharFilter(
        method="filter_search", max_length=100, help_text="Words of the team's name or slug."
    )

    class Meta:
        model = Team
        fields = ["parent", "archived", "search"]

    def filter_archived(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(archived_at__isnull=not value)

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_words(queryset, ("name", "slug"), value)


@extend_schema_view(
    list=extend_schema(summary="List teams", responses={200: TeamSerializer, **list_errors()}),
    retrieve=extend_schema(summary="A team", responses={200: TeamSerializer, **one_errors()}),
)
class TeamViewSet(ListFiltersOnly, ListFromRows, viewsets.ReadOnlyModelViewSet):
    """The teams of the organisation, in a tree (``parent``); archived ones included
    unless ``archived=false``. Teams are changed in the admin."""

    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    filterset_class = TeamFilter
    ordering_fields = ["name", "slug", "id"]
    ordering = ["name", "id"]


# --- People ------------------------------------------------------------------------------


class PersonSerializer(serializers.ModelSerializer):
    teams = serializers.SerializerMethodField(help_text="Ids of the teams the person is in.")
    email = serializers.EmailField(
        read_only=True,
        allow_null=True,
        help_text="Only for the person themself and admins; null for everyone else.",
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "job_title",
            "manager",
            "teams",
            "email",
            "is_active",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "username": {"help_text": "What the person signs in with; unique."},
            "manager": {"help_text": "The person's manager, if any."},
            "is_active": {"help_text": "False for people who have left: they cannot sign in."},
        }

    def get_teams(self, person: User) -> list[int]:
        # From the prefetched memberships: no query per person.
        return [membership.team_id for membership in person.memberships.all()]

    def to_representation(self, person: User) -> dict:
        data = super().to_representation(person)
        reader = self.context["request"].user
        if not (reader.is_superuser or reader.pk == person.pk):
            data["email"] = None
        return data


class PersonFilter(FilterSet):
    team = IdFilter(field_name="memberships__team", help_text="Members (and leads) of this team.")
    manager = IdFilter(field_name="manager", help_text="People reporting directly to this person.")
    active = Flag(
        method="filter_active",
        help_text="Left out or `true`: people who can sign in; `false`: deactivated people.",
    )
    search = filters.CharFilter(
        method="filter_search",
        max_length=100,
        help_text="Words of the person's first name, last name or username.",
    )

    class Meta:
        model = User
        fields = ["team", "manager", "active", "search"]

    def filter_active(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset  # applied in filter_queryset, also when left out

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_words(queryset, ("first_name", "last_name", "username"), value)

    @classmethod
    def without_parameters(cls, queryset: QuerySet) -> QuerySet:
        return queryset.filter(is_active=True)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        active = self.form.cleaned_data.get("active")
        if active is None:
            queryset = self.without_parameters(queryset)
        else:
            queryset = queryset.filter(is_active=active)
        return super().filter_queryset(queryset)


@extend_schema_view(
    list=extend_schema(
        summary="List people (active ones unless active=false)",
        responses={200: PersonSerializer, **list_errors()},
    ),
    retrieve=extend_schema(
        summary="A person (also a deactivated one)",
        responses={200: PersonSerializer, **one_errors()},
    ),
)
class PersonViewSet(ListFiltersOnly, viewsets.ReadOnlyModelViewSet):
    """The people of the organisation with their manager and teams. A person's own
    record (and, for admins, everyone's) includes the e-mail address."""

    serializer_class = PersonSerializer
    filterset_class = PersonFilter
    ordering_fields = ["username", "first_name", "last_name", "id"]
    ordering = ["last_name", "first_name", "username", "id"]

    def get_queryset(self) -> QuerySet[User]:
        memberships = Membership.objects.only("pk", "user_id", "team_id").order_by("team_id")
        return User.objects.prefetch_related(Prefetch("memberships", queryset=memberships))


def register(router) -> None:
    """Add this app's endpoints to the API router."""
    router.register("teams", TeamViewSet, basename="team")
    router.register("people", PersonViewSet, basename="person")
