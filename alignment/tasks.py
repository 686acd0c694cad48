"""Background work of the cascade: thin tasks that take ids and call ``rollup``.

With Redis configured they run in the worker; without it (the embedded default) Celery
runs them in-process, and ``schedule_rollup`` runs the climb at once.
"""

from __future__ import annotations

import logging

from celery import current_app, shared_task
from django.db import OperationalError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from alignment import rollup

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def rollup_from(objective_id: int) -> None:
    """Climb from one objective after its key results changed."""
    rollup.refresh_upwards({objective_id})


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def recompute_progress() -> int:
    """Nightly repair: every objective and roll-up key result from the leaves up."""
    with transaction.atomic():
        return rollup.recompute_all()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def snapshot_progress() -> int:
    """Nightly: today's progress of the active objectives, for charts."""
    with transaction.atomic():
        return rollup.take_snapshots(day=timezone.localdate())


def schedule_rollup(objective_id: int) -> None:
    """Roll up above ``objective_id``: in the worker once this transaction commits (so
    it reads what was committed), or right now when tasks run in-process. If Redis
    refuses the task, the climb runs in this process after the commit."""
    if current_app.conf.task_always_eager:
        rollup.refresh_upwards({objective_id})
        return
    transaction.on_commit(lambda: _queue_rollup(objective_id))


def _queue_rollup(objective_id: int) -> None:
    try:
        rollup_from.delay(objective_id)
    except BrokerUnavailable as error:
        # Redis is down and what triggered the climb is committed already: climb here, as
        # without Redis, rather than answer a server error for a saved check-in or leave
        # the cascade behind until the nightly repair.
        logger.warning("Roll-up of objective %s run in-process: %s", objective_id, error)
        rollup.refresh_upwards({objective_id})
