"""Writes to check-ins. The browser, the API, the admin and imports all record
check-ins through ``checkin_record`` so validation and roll-up are the same for all."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from alignment import rollup
from alignment.tasks import schedule_rollup
from checkins.models import CheckIn, WeeklyUpdate
from goals.models import KeyResult


@transaction.atomic
def checkin_record(
    *,
    key_result: KeyResult,
    author,
    value: Decimal,
    confidence: int,
    note: str = "",
    blocker: str = "",
    weekly_update: WeeklyUpdate | None = None,
    corrects: CheckIn | None = None,
) -> CheckIn:
    """Append a check-in and make it the key result's current state.

    The key result row is locked first, so concurrent check-ins on it queue up: every
    one is recorded, and the current value is the one committed last.
    """
    locked = KeyResult.objects.select_for_update().get(pk=key_result.pk)
    checkin = CheckIn(
        key_result=locked,
        author=author,
        value=value,
        confidence=confidence,
        note=note,
        blocker=blocker,
        weekly_update=weekly_update,
        corrects=corrects,
        created_at=timezone.now(),
    )
    checkin.full_clean()
    checkin.save()

    locked.current_value = checkin.value
    locked.confidence = checkin.confidence
    locked.last_checkin_at = checkin.created_at
    if locked.progress_source == KeyResult.ProgressSource.CHECKINS:
        locked.progress = locked.computed_progress()
    KeyResult.objects.filter(pk=locked.pk).update(
        current_value=locked.current_value,
        confidence=locked.confidence,
        last_checkin_at=locked.last_checkin_at,
        progress=locked.progress,
    )
    # The key result's own objective follows at once; the climb above it is background
    # work (in-process when there is no broker).
    rollup.refresh_objectives({locked.objective_id})
    schedule_rollup(locked.objective_id)
    return checkin
