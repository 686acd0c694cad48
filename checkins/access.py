"""Who may check in and correct check-ins. Reading follows the key result's objective
(``goals.access``); writing adds the rules of check-ins."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from checkins.models import CheckIn
from goals.access import CLOSED_CYCLE, objective_write_refusal
from goals.models import Cycle, KeyResult


def checkin_refusal(user, key_result: KeyResult) -> str | None:
    """Why ``user`` may not check in on ``key_result``, or None. Its owner may, in an
    active cycle; so may whoever may change its objective (``goals.access``)."""
    if key_result.archived_at is not None:
        return "This key result is archived."
    if key_result.progress_source == KeyResult.ProgressSource.ROLLUP:
        return "This key result rolls up from the objectives aligned to it: nothing to enter."
    objective = key_result.objective
    if objective.cycle.is_closed:
        return CLOSED_CYCLE
    if key_result.owner_id == user.pk and objective.archived_at is None:
        if objective.cycle.state == Cycle.State.ACTIVE:
            return None
        return "Check-ins are recorded in active cycles only."
    refusal = objective_write_refusal(user, objective)
    if refusal is None and objective.cycle.state != Cycle.State.ACTIVE:
        return "Check-ins are recorded in active cycles only."
    return refusal and "Only the key result's owner and the objective's writers can check in."


def correction_refusal(user, checkin: CheckIn, *, today: date | None = None) -> str | None:
    """Why ``user`` may not correct ``checkin``: only its author, on the same local day."""
    if checkin.author_id != user.pk:
        return "Only the person who checked in can correct a check-in."
    if timezone.localdate(checkin.created_at) != (today or timezone.localdate()):
        return "A check-in can be corrected only on the day it was made; check in again instead."
    if checkin.key_result.archived_at is not None or checkin.key_result.objective.cycle.is_closed:
        return "This key result is read-only now."
    return None
