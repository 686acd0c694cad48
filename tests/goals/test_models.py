"""Invariants refused with a clear message by ``full_clean`` and, for those the database
can hold, by the database itself (a raw write that skips Python)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from goals.models import Cycle, KeyResult, Kpi, Objective
from tests import factories


def messages_of(error: ValidationError) -> list[str]:
    return [message for messages in error.message_dict.values() for message in messages]


@pytest.mark.django_db
class TestKeyResultRules:
    def test_target_equal_to_start_is_refused_with_a_message(self):
        key_result = factories.KeyResultFactory.build(
            objective=factories.ObjectiveFactory(), start_value=5, target_value=5
        )
        with pytest.raises(ValidationError) as error:
            key_result.full_clean()
        assert "The target must differ from the start value." in messages_of(error.value)

    def test_database_refuses_target_equal_to_start(self):
        key_result = factories.KeyResultFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            KeyResult.objects.filter(pk=key_result.pk).update(target_value=key_result.start_value)
        key_result.refresh_from_db()
        assert key_result.target_value == Decimal(100)  # what was saved is untouched

    @pytest.mark.parametrize("confidence", [0, 11])
    def test_confidence_outside_1_to_10_is_refused(self, confidence):
        key_result = factories.KeyResultFactory()
        key_result.confidence = confidence
        with pytest.raises(ValidationError) as error:
            key_result.full_clean()
        assert "confidence" in error.value.message_dict
        with pytest.raises(IntegrityError), transaction.atomic():
            KeyResult.objects.filter(pk=key_result.pk).update(confidence=confidence)

    @pytest.mark.parametrize("weight", [Decimal(0), Decimal(-1)])
    def test_weight_must_be_positive(self, weight):
        key_result = factories.KeyResultFactory.build(
            objective=factories.ObjectiveFactory(), weight=weight
        )
        with pytest.raises(ValidationError) as error:
            key_result.full_clean()
        assert "The weight must be greater than zero." in messages_of(error.value)

    def test_milestone_goes_from_0_to_1(self):
        key_result = factories.KeyResultFactory.build(
            objective=factories.ObjectiveFactory(),
            kind=KeyResult.Kind.MILESTONE,
            start_value=0,
            target_value=5,
        )
        with pytest.raises(ValidationError) as error:
            key_result.full_clean()
        assert "A milestone goes from 0 (not done) to 1 (done)." in messages_of(error.value)

    def test_absurd_magnitude_is_refused_beside_the_field(self):
        key_result = factories.KeyResultFactory.build(
            objective=factories.ObjectiveFactory(), target_value=Decimal("1e20")
        )
        with pytest.raises(ValidationError) as error:
            key_result.full_clean()
        assert "target_value" in error.value.message_dict

    def test_owner_and_current_value_default_from_objective_and_start(self):
        objective = factories.ObjectiveFactory()
        key_result = KeyResult(objective=objective, title="NPS", start_value=30, target_value=50)
        key_result.full_clean()
        assert key_result.owner == objective.owner
        assert key_result.current_value == 30

    def test_decreasing_key_result_is_valid(self):
        key_result = factories.KeyResultFactory(start_value=8, target_value=4, current_value=6)
        key_result.full_clean()
        assert key_result.computed_progress() == pytest.approx(0.5)


@pytest.mark.django_db
class TestAlignmentForest:
    def test_objective_cannot_be_its_own_parent(self):
        objective = factories.ObjectiveFactory()
        objective.parent = objective
        with pytest.raises(ValidationError) as error:
            objective.full_clean()
        assert "parent" in error.value.message_dict

    def test_aligning_to_a_descendant_is_refused(self):
        top = factories.ObjectiveFactory()
        middle = factories.ObjectiveFactory(parent=top, cycle=top.cycle)
        bottom = factories.ObjectiveFactory(parent=middle, cycle=top.cycle)
        top.parent = bottom
        with pytest.raises(ValidationError) as error:
            top.full_clean()
        assert error.value.message_dict["parent"] == [
            "That objective is aligned below this one: it would make a loop."
        ]

    def test_parent_key_result_must_belong_to_the_parent(self):
        parent = factories.ObjectiveFactory()
        other_key_result = factories.KeyResultFactory()
        child = factories.ObjectiveFactory.build(
            cycle=parent.cycle,
            team=parent.team,
            owner=parent.owner,
            parent=parent,
            parent_key_result=other_key_result,
        )
        with pytest.raises(ValidationError) as error:
            child.full_clean()
        assert "parent_key_result" in error.value.message_dict

    def test_parent_key_result_alone_sets_the_parent(self):
        parent_key_result = factories.KeyResultFactory()
        parent = parent_key_result.objective
        child = factories.ObjectiveFactory.build(
            cycle=parent.cycle,
            team=parent.team,
            owner=parent.owner,
            parent_key_result=parent_key_result,
        )
        child.full_clean()
        assert child.parent_id == parent.pk

    def test_database_refuses_self_parent(self):
        objective = factories.ObjectiveFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            Objective.objects.filter(pk=objective.pk).update(parent=objective.pk)


@pytest.mark.django_db
class TestOtherRules:
    def test_cycle_must_end_after_it_starts(self):
        cycle = Cycle(
            name="Backwards", start_date=dt.date(2026, 3, 1), end_date=dt.date(2026, 1, 1)
        )
        with pytest.raises(ValidationError) as error:
            cycle.full_clean()
        assert "A cycle must end after it starts." in messages_of(error.value)

    def test_kpi_thresholds_must_be_ordered_by_direction(self):
        kpi = factories.KpiFactory.build(
            team=factories.TeamFactory(),
            direction=Kpi.Direction.LOWER_IS_BETTER,
            green_threshold=90,
            red_threshold=70,
        )
        with pytest.raises(ValidationError) as error:
            kpi.full_clean()
        assert any("green threshold" in message for message in messages_of(error.value))

    @pytest.mark.parametrize(
        ("direction", "value", "health"),
        [
            ("higher", 95, "green"),
            ("higher", 80, "yellow"),
            ("higher", 70, "red"),
            ("lower", 2, "green"),
            ("lower", 5, "yellow"),
            ("lower", 9, "red"),
        ],
    )
    def test_kpi_health_follows_thresholds_and_direction(self, direction, value, health):
        green, red = (90, 70) if direction == "higher" else (3, 8)
        kpi = Kpi(direction=direction, green_threshold=green, red_threshold=red)
        assert kpi.health_of(Decimal(value)) == health

    def test_only_one_team_is_the_company(self):
        factories.TeamFactory(name="Company", slug="company")
        second_root = factories.TeamFactory.build(name="Other", slug="other")
        with pytest.raises(ValidationError) as error:
            second_root.full_clean()
        assert "Only the company has no parent" in error.value.message_dict["parent"][0]

    def test_team_cannot_move_below_its_own_descendant(self):
        company = factories.TeamFactory(slug="company")
        product = factories.TeamFactory(parent=company)
        squad = factories.TeamFactory(parent=product)
        product.parent = squad
        with pytest.raises(ValidationError) as error:
            product.full_clean()
        assert "loop" in error.value.message_dict["parent"][0]

    def test_manager_chain_cannot_loop(self):
        boss = factories.UserFactory()
        report = factories.UserFactory(manager=boss)
        boss.manager = report
        with pytest.raises(ValidationError) as error:
            boss.full_clean()
        assert "manager" in error.value.message_dict

    def test_check_ins_cannot_be_lost_by_deleting_their_key_result(self):
        checkin = factories.CheckInFactory()
        with pytest.raises(IntegrityError):
            checkin.key_result.delete()
