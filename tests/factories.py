"""factory_boy factories: the one place tests build rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from alignment import rollup
from alignment.models import Membership, Team, User
from checkins.models import CheckIn, OneOnOne, WeeklyUpdate
from goals.models import Cycle, Initiative, KeyResult, Kpi, KpiReading, Objective

TEST_PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    parent = None


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Membership.Role.MEMBER


class CycleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cycle

    name = factory.Sequence(lambda n: f"Cycle {n}")
    start_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=45))
    end_date = factory.LazyAttribute(lambda c: c.start_date + dt.timedelta(days=91))
    state = Cycle.State.ACTIVE


class ObjectiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Objective

    cycle = factory.SubFactory(CycleFactory)
    team = factory.SubFactory(TeamFactory)
    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Objective {n}")
    kind = Objective.Kind.COMMITTED


class KeyResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KeyResult

    objective = factory.SubFactory(ObjectiveFactory)
    owner = factory.LazyAttribute(lambda kr: kr.objective.owner)
    title = factory.Sequence(lambda n: f"Key result {n}")
    kind = KeyResult.Kind.NUMBER
    start_value = Decimal(0)
    target_value = Decimal(100)
    current_value = factory.LazyAttribute(lambda kr: kr.start_value)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        # What the services' roll-up does after every change of a key result, but for
        # the objective's progress, which tests often set themselves.
        if create:
            rollup.refresh_attention([instance.objective_id])


class InitiativeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Initiative

    key_result = factory.SubFactory(KeyResultFactory)
    owner = factory.LazyAttribute(lambda i: i.key_result.owner)
    title = factory.Sequence(lambda n: f"Initiative {n}")


class KpiFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Kpi

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"KPI {n}")
    direction = Kpi.Direction.HIGHER_IS_BETTER
    green_threshold = Decimal(90)
    red_threshold = Decimal(70)


class KpiReadingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KpiReading

    kpi = factory.SubFactory(KpiFactory)
    read_on = factory.Sequence(lambda n: timezone.localdate() - dt.timedelta(days=n))
    value = Decimal(80)


class WeeklyUpdateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WeeklyUpdate

    author = factory.SubFactory(UserFactory)
    week_start = factory.LazyFunction(
        lambda: timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
    )


class CheckInFactory(factory.django.DjangoModelFactory):
    """A bare row. Tests of behaviour record check-ins with ``checkin_record``."""

    class Meta:
        model = CheckIn

    key_result = factory.SubFactory(KeyResultFactory)
    author = factory.LazyAttribute(lambda c: c.key_result.owner)
    value = Decimal(10)
    confidence = 7


class OneOnOneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OneOnOne

    manager = factory.SubFactory(UserFactory)
    report = factory.SubFactory(UserFactory)
    scheduled_for = factory.LazyFunction(timezone.localdate)
