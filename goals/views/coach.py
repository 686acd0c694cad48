from __future__ import annotations

from django.http import Http404

# Placeholder until this module's views are written.


def objective_hints(request, *args, **kwargs):
    raise Http404


def coach_report(request, *args, **kwargs):
    raise Http404
