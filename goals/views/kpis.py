from __future__ import annotations

from django.http import Http404

# Placeholder until this module's views are written.


def kpi_create(request, *args, **kwargs):
    raise Http404


def kpi_detail(request, *args, **kwargs):
    raise Http404


def kpi_edit(request, *args, **kwargs):
    raise Http404


def kpi_add_reading(request, *args, **kwargs):
    raise Http404
