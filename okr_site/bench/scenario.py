"""Who the benchmark acts as, and on what: picked from a ``seed_scale`` organisation.

The same choices at every tier: the company's lead (the CEO) for the views of the whole
organisation, and the lead of the last team of the lowest level for everyday pages (the
most common reader). What the generated organisation lacks (a one-to-one, a KPI with
readings, initiatives, a superuser) is added by ``add_fixtures``, inside the
benchmark's transaction, which is rolled back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.management.base import CommandError
from django.utils import timezone

from alignment.models import Membership, Team, User
from checkins.models import OneOnOne
from goals.models import Cycle, Initiative, KeyResult, Kpi, KpiReading, Objective

KPI_READINGS = 120


@dataclass
class Scenario:
    cycle: Cycle
    company: Team
    ceo: User
    team: Team  # the last team of the lowest level
    lead: User  # its lead
    report: User  # a member of it, reporting to the lead
    objective: Objective  # one of the team's objectives in the active cycle
    key_result: KeyResult  # a measured one the lead owns there
    division: Team  # a team right below the company, for a tree expansion
    company_objective: Objective  # one of the company's, for a tree expansion
    admin: User | None = None
    one_on_one: OneOnOne | None = None
    kpi: Kpi | None = None

    @classmethod
    def load(cls) -> Scenario:
        cycle = Cycle.objects.filter(state=Cycle.State.ACTIVE).order_by("start_date").first()
        company = Team.objects.filter(parent=None, slug__startswith="scale-").first()
        if cycle is None or company is None:
            raise CommandError(
                "No generated organisation here: build one with `manage.py seed_scale --tier S` "
                "(or `make bench`, which builds the S and L tiers)."
            )
        team = Team.objects.filter(slug__startswith=company.slug).order_by("-pk").first()
        lead = _lead_of(team)
        key_result = (
            KeyResult.objects.filter(owner=lead, objective__cycle=cycle, objective__team=team)
            .exclude(kind=KeyResult.Kind.MILESTONE)
            .select_related("objective")
            .order_by("pk")
            .first()
        )
        if key_result is None:
            raise CommandError(f"{lead.username} owns no key result in {cycle.name}.")
        return cls(
            cycle=cycle,
            company=company,
            ceo=_lead_of(company),
            team=team,
            lead=lead,
            report=User.objects.filter(manager=lead).order_by("pk").first(),
            objective=key_result.objective,
            key_result=key_result,
            division=Team.objects.filter(parent=company).order_by("pk").first(),
            company_objective=Objective.objects.filter(team=company, cycle=cycle)
            .order_by("pk")
            .first(),
        )

    def add_fixtures(self) -> None:
        """What every tier needs and generation does not make; the same at each tier."""
        today = timezone.localdate()
        self.admin = User.objects.create_superuser("bench-admin", "bench-admin@example.com")
        self.one_on_one = OneOnOne.objects.create(
            manager=self.lead, report=self.report, scheduled_for=today
        )
        self.kpi = Kpi.objects.create(
            team=self.team,
            name="Weekly active riders",
            direction=Kpi.Direction.HIGHER_IS_BETTER,
            green_threshold=Decimal(900),
            red_threshold=Decimal(700),
        )
        KpiReading.objects.bulk_create(
            KpiReading(
                kpi=self.kpi,
                read_on=today - dt.timedelta(days=day),
                value=Decimal(800 + day % 50),
                recorded_by=self.lead,
            )
            for day in range(KPI_READINGS)
        )
        Kpi.objects.filter(pk=self.kpi.pk).update(latest_read_on=today, latest_value=800)
        Initiative.objects.bulk_create(
            Initiative(key_result=self.key_result, title=f"Initiative {n}", owner=self.lead)
            for n in range(1, 6)
        )


def _lead_of(team: Team) -> User:
    membership = (
        Membership.objects.filter(team=team, role=Membership.Role.LEAD)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise CommandError(f"The team {team.name} has no lead.")
    return membership.user
