"""Recording check-ins: history is appended and the key result and its cascade follow."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest
from django.core.exceptions import ValidationError

from checkins.models import CheckIn
from checkins.services import checkin_record
from goals.models import KeyResult
from tests import factories
from tests.concurrency import raised, run_in_threads


@pytest.mark.django_db
def test_checkin_becomes_the_key_results_current_state():
    key_result = factories.KeyResultFactory(start_value=0, target_value=200)
    checkin_record(key_result=key_result, author=key_result.owner, value=Decimal(50), confidence=6)
    key_result.refresh_from_db()
    assert key_result.current_value == 50
    assert key_result.confidence == 6
    assert key_result.progress == pytest.approx(0.25)
    assert key_result.last_checkin_at is not None
    key_result.objective.refresh_from_db()
    assert key_result.objective.progress == pytest.approx(0.25)


@pytest.mark.django_db
def test_every_checkin_is_kept_and_the_latest_one_counts():
    key_result = factories.KeyResultFactory()
    for value in (10, 30, 20):
        checkin_record(key_result=key_result, author=key_result.owner, value=value, confidence=7)
    assert list(
        key_result.checkins.order_by("created_at", "pk").values_list("value", flat=True)
    ) == [
        10,
        30,
        20,
    ]
    key_result.refresh_from_db()
    assert key_result.current_value == 20


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "confidence"),
    [("confidence", Decimal(5), 11), ("confidence", Decimal(5), 0), ("value", Decimal("1e15"), 5)],
)
def test_bad_checkin_is_refused_and_nothing_changes(field, value, confidence):
    key_result = factories.KeyResultFactory(current_value=Decimal(40))
    with pytest.raises(ValidationError) as error:
        checkin_record(
            key_result=key_result, author=key_result.owner, value=value, confidence=confidence
        )
    assert field in error.value.message_dict
    key_result.refresh_from_db()
    assert key_result.current_value == 40
    assert not CheckIn.objects.exists()


@pytest.mark.django_db
def test_milestone_checkin_must_be_done_or_not_done():
    key_result = factories.KeyResultFactory(
        kind=KeyResult.Kind.MILESTONE, start_value=0, target_value=1, current_value=0
    )
    with pytest.raises(ValidationError) as error:
        checkin_record(
            key_result=key_result, author=key_result.owner, value=Decimal(2), confidence=5
        )
    assert error.value.message_dict["value"] == ["A milestone is either done (1) or not done (0)."]
    checkin_record(key_result=key_result, author=key_result.owner, value=Decimal(1), confidence=9)
    key_result.refresh_from_db()
    assert key_result.progress == 1.0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkins_on_one_key_result_are_all_recorded():
    """Two real transactions at once: both rows land, the current value is the last commit."""
    key_result = factories.KeyResultFactory()
    outcomes = run_in_threads(
        *(
            partial(
                checkin_record,
                key_result=key_result,
                author=key_result.owner,
                value=Decimal(value),
                confidence=5,
            )
            for value in (30, 70)
        )
    )

    assert raised(outcomes) == []
    assert key_result.checkins.count() == 2
    latest = key_result.checkins.latest()
    key_result.refresh_from_db()
    assert key_result.current_value == latest.value
    assert key_result.progress == pytest.approx(float(latest.value) / 100)
