"""Background work of check-ins: the nudge tick and the delivery of nudges.

Thin tasks: the tick plans what is due (``planning``) and hands the unsent rows out in
batches; each batch is claimed and sent by ``delivery``. Without Redis the batches run
in-process at once. Delivery is safe to run twice (claims), so tasks acknowledge late.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from checkins import delivery, planning


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def nudge_tick() -> dict:
    """Plan what is due now, then hand out everything waiting to be sent."""
    return run_nudges()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def deliver_nudges(nudge_ids: list[int]) -> dict:
    counts = delivery.deliver(nudge_ids)
    return vars(counts)


def run_nudges(*, plan_at: dt.datetime | None = None) -> dict:
    """Plan what is due at ``plan_at`` (default: now), then dispatch what is waiting."""
    planned = planning.plan_due(plan_at or timezone.now())
    batches = dispatch(timezone.now())
    return {**vars(planned), "batches": batches}


def dispatch(now: dt.datetime) -> int:
    """Queue the unsent nudges in batches (or send them now, in-process); returns the
    number of batches."""
    ids = delivery.due_ids(now)
    size = settings.WAYMARK["NUDGE_BATCH_SIZE"]
    batches = [ids[start : start + size] for start in range(0, len(ids), size)]
    for batch in batches:
        deliver_nudges.delay(batch)
    return len(batches)
