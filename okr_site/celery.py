"""Celery application.

With ``REDIS_URL`` set, tasks go to Redis and run in ``make worker``; without it the
settings make every task run eagerly in-process, so the embedded default needs no broker.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okr_site.settings")

app = Celery("waymark")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
