"""A cycle's goals as spreadsheets in the browser: export for everyone who can see the
cycle, import for admins and team leads, and the templates to fill.

Importing takes two steps. The upload is checked (a dry run through the services,
rolled back) and the preview lists every problem, or what would be created, updated and
left alone. A clean file is kept in the person's session (compressed, keyed by its
SHA-256), and "Import" posts that digest back: the stored file is checked again and
committed only if it is still clean. Nothing the browser sends besides the digest is
trusted, and a digest that does not match the stored file (another tab previewed
another file) asks to upload again.
"""

from __future__ import annotations

import base64
import hashlib
import zlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from alignment.queries import team_access_for
from goals.forms import SpreadsheetUploadForm
from goals.models import Cycle
from goals.spreadsheets import (
    COLUMNS,
    FORMATS,
    ImportReport,
    export_cycle,
    import_goals,
    import_refusal,
    template_csv,
    template_xlsx,
)
from goals.spreadsheets.exporter import CONTENT_TYPES
from goals.spreadsheets.importer import NOT_ALLOWED
from goals.spreadsheets.layout import MAX_FILE_BYTES, MAX_ROWS, NOTES
from okr_site.fetch_metadata import started_here

SESSION_KEY = "goals_import"
SHOWN_PROBLEMS = 500  # a file full of problems lists this many; fixing them shows the rest
# Creating or changing a row costs its services' queries (about 25 each): 1,000 take
# 10-25 s, within a web server's usual 30 s timeout. Unchanged rows cost nothing, and
# the import_goals command has no cap.
BROWSER_MAX_WRITES = 1000
# What the reverse proxy should let through (README): the file and the form around it.
MAX_BODY_BYTES = MAX_FILE_BYTES + 1024 * 1024


class FileSizeLimit(FileUploadHandler):
    """Stops taking in an upload at ``MAX_FILE_BYTES``: without it Django would receive
    the whole body, however large, before the form could refuse the file. The handlers
    after it (memory, temporary file) never hold more than the limit."""

    too_large = False
    body_length = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None) -> None:
        self.body_length = content_length  # new_file() sets content_length to the part's

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > MAX_FILE_BYTES:
            self.too_large = True
            # A body a little over the limit is drained so that the browser gets the
            # page saying why; a far bigger one (no proxy in front) is cut off unread.
            raise StopUpload(connection_reset=self.body_length > MAX_BODY_BYTES)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler keeps the file


@require_GET
@login_required
@started_here
def cycle_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The cycle as XLSX or a zip of CSV files, holding only what the person may read."""
    cycle = get_object_or_404(Cycle, pk=pk)
    if fmt not in FORMATS:
        raise Http404("No such format.")
    export = export_cycle(cycle=cycle, user=request.user, fmt=fmt)
    return _download(export.content, export.filename, export.content_type)


@require_GET
@login_required
def import_template(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt == "csv":
        return _download(template_csv(), "waymark-import-template.csv", "text/csv; charset=utf-8")
    if fmt == "xlsx":
        return _download(template_xlsx(), "waymark-import-template.xlsx", CONTENT_TYPES["xlsx"])
    raise Http404("No such format.")


def _download(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # private goals must not linger in caches
    return response


def _cycle_for_import(request: HttpRequest, pk: int) -> tuple[Cycle, str | None]:
    """The cycle and why importing into it is refused (None when it is not); 403 for
    people who may never import."""
    cycle = get_object_or_404(Cycle, pk=pk)
    refusal = import_refusal(request.user, cycle, team_access=team_access_for(request.user))
    if refusal == NOT_ALLOWED:
        raise PermissionDenied(refusal)
    return cycle, refusal


@csrf_exempt  # checked by _cycle_import, once the size limit is in place
@login_required
def cycle_import(request: HttpRequest, pk: int) -> HttpResponse:
    """The upload form; a posted file is checked and its preview shown."""
    # Django reads the body the first time request.POST or FILES is touched, the CSRF
    # check included, so the limit goes in before.
    limit = FileSizeLimit(request)
    request.upload_handlers.insert(0, limit)
    return _cycle_import(request, pk, limit=limit)


@csrf_protect
def _cycle_import(request: HttpRequest, pk: int, *, limit: FileSizeLimit) -> HttpResponse:
    cycle, refusal = _cycle_for_import(request, pk)
    form = SpreadsheetUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        too_large=limit.too_large,
    )
    if request.method == "POST" and refusal is None and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        report = import_goals(
            data=data,
            filename=upload.name,
            cycle=cycle,
            user=request.user,
            commit=False,
            max_writes=BROWSER_MAX_WRITES,
        )
        digest = _keep(request, cycle, upload.name, data) if _committable(report) else ""
        if not digest:
            request.session.pop(SESSION_KEY, None)
        return _preview(request, cycle, report, digest=digest)
    context = {
        "cycle": cycle,
        "form": form,
        "refusal": refusal,
        "columns": COLUMNS,
        "notes": NOTES,
        "max_rows": f"{MAX_ROWS:,}",
        "max_writes": f"{BROWSER_MAX_WRITES:,}",
    }
    return render(request, "goals/import_upload.html", context)


@require_POST
@login_required
def cycle_import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    """Check the previewed file again and import it, all rows or none."""
    cycle, _refusal = _cycle_for_import(request, pk)
    stored = request.session.get(SESSION_KEY)
    if (
        not stored
        or stored.get("cycle") != cycle.pk
        or stored.get("digest") != request.POST.get("digest", "")
    ):
        messages.error(
            request,
            "That preview is no longer available (it was imported, or another file was "
            "checked since): upload the file again.",
        )
        return redirect("goals:cycle-import", cycle.pk)
    data = zlib.decompress(base64.b64decode(stored["data"]))
    report = import_goals(
        data=data,
        filename=stored["name"],
        cycle=cycle,
        user=request.user,
        commit=True,
        max_writes=BROWSER_MAX_WRITES,
    )
    if not report.committed:
        request.session.pop(SESSION_KEY, None)
        return _preview(request, cycle, report, digest="")
    request.session.pop(SESSION_KEY, None)
    counts = report.counts
    updated = counts["objectives_updated"] + counts["key_results_updated"]
    messages.success(
        request,
        f"Imported {report.filename}: "
        f"{_count(counts['objectives_created'], 'objective')} and "
        f"{_count(counts['key_results_created'], 'key result')} created, "
        f"{updated} updated, {_count(counts['checkins'], 'check-in')} recorded.",
    )
    return redirect(reverse("goals:cycle", args=[cycle.pk]))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _committable(report: ImportReport) -> bool:
    return report.clean and report.changing > 0


def _keep(request: HttpRequest, cycle: Cycle, name: str, data: bytes) -> str:
    """Keep a clean file in the session until it is imported; returns its digest."""
    digest = hashlib.sha256(data).hexdigest()
    request.session[SESSION_KEY] = {
        "cycle": cycle.pk,
        "name": name,
        "digest": digest,
        "data": base64.b64encode(zlib.compress(data)).decode("ascii"),
    }
    return digest


def _preview(request: HttpRequest, cycle: Cycle, report: ImportReport, *, digest: str):
    problems = report.sorted_problems()
    context = {
        "cycle": cycle,
        "report": report,
        "problems": problems[:SHOWN_PROBLEMS],
        "hidden_problems": max(0, len(problems) - SHOWN_PROBLEMS),
        "changing_rows": [row for row in report.rows if row.action != "unchanged"],
        "unchanged_rows": [row for row in report.rows if row.action == "unchanged"],
        "counts": report.counts,
        "digest": digest,
        "form": SpreadsheetUploadForm(),
    }
    return render(request, "goals/import_preview.html", context)
