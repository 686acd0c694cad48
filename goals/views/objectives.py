from __future__ import annotations

from django.http import Http404

# Placeholder until this module's views are written.


def objective_create(request, *args, **kwargs):
    raise Http404


def objective_detail(request, *args, **kwargs):
    raise Http404


def objective_edit(request, *args, **kwargs):
    raise Http404


def objective_archive(request, *args, **kwargs):
    raise Http404


def key_result_create(request, *args, **kwargs):
    raise Http404


def key_result_row(request, *args, **kwargs):
    raise Http404


def key_result_edit(request, *args, **kwargs):
    raise Http404


def key_result_move(request, *args, **kwargs):
    raise Http404


def key_result_archive(request, *args, **kwargs):
    raise Http404


def initiative_create(request, *args, **kwargs):
    raise Http404


def initiative_edit(request, *args, **kwargs):
    raise Http404
