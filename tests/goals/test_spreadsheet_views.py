"""The browser side of spreadsheets: export downloads scoped to the reader, the import's
upload → preview → commit for admins and leads, and clear messages for bad files."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from defusedxml import DefusedXmlException
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from goals.models import Cycle, KeyResult, Objective
from goals.spreadsheets.layout import HEADERS, HOW_TO_FILL, MAX_FILE_BYTES, SHEET, text_cell
from goals.spreadsheets.reading import FileRefused, read_upload
from goals.views.spreadsheets import MAX_BODY_BYTES, SESSION_KEY
from tests import factories
from tests.goals.test_spreadsheets import csv_file, row


def _upload(client, org, data: bytes, name: str = "goals.csv"):
    return client.post(
        reverse("goals:cycle-import", args=[org.cycle.pk]),
        {"file": SimpleUploadedFile(name, data)},
    )


def _commit(client, org, digest: str):
    return client.post(
        reverse("goals:cycle-import-commit", args=[org.cycle.pk]), {"digest": digest}
    )


# --- Export ----------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_login(client, org):
    for url in (
        reverse("goals:cycle-export", args=[org.cycle.pk, "xlsx"]),
        reverse("goals:cycle-import", args=[org.cycle.pk]),
        reverse("goals:import-template", args=["csv"]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_outsider_export_leaves_out_private_objectives(org, login):
    factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="Public goal"
    )
    factories.ObjectiveFactory(
        cycle=org.cycle,
        team=org.product,
        owner=org.owner,
        title="Private goal",
        visibility=Objective.Visibility.PRIVATE,
    )

    response = login(org.outsider).get(reverse("goals:cycle-export", args=[org.cycle.pk, "xlsx"]))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="waymark-2026-q4-')
    assert response["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(response.content), read_only=True)[SHEET]
    titles = {values[1] for values in sheet.iter_rows(min_row=2, values_only=True)}
    assert titles == {"Public goal"}


def test_csv_export_downloads_a_zip(org, login):
    response = login(org.owner).get(reverse("goals:cycle-export", args=[org.cycle.pk, "csv"]))

    assert response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert names[0] == "objectives-and-key-results.csv"


@pytest.mark.parametrize(
    ("started_by", "status"), [("cross-site", 403), ("same-origin", 200), ("none", 200)]
)
def test_an_export_another_site_started_is_refused(org, login, started_by, status):
    url = reverse("goals:cycle-export", args=[org.cycle.pk, "xlsx"])

    response = login(org.owner).get(url, headers={"Sec-Fetch-Site": started_by})

    assert response.status_code == status


def test_unknown_format_or_cycle_is_404(org, login):
    client = login(org.owner)

    assert client.get(reverse("goals:cycle-export", args=[org.cycle.pk, "pdf"])).status_code == 404
    assert client.get(reverse("goals:cycle-export", args=[999, "xlsx"])).status_code == 404
    assert client.get(reverse("goals:import-template", args=["ods"])).status_code == 404


def test_templates_download(org, login):
    client = login(org.owner)

    csv_response = client.get(reverse("goals:import-template", args=["csv"]))
    xlsx_response = client.get(reverse("goals:import-template", args=["xlsx"]))

    assert csv_response.content.decode("utf-8-sig").startswith("team,objective,")
    workbook = load_workbook(io.BytesIO(xlsx_response.content))
    assert workbook.sheetnames == [SHEET, HOW_TO_FILL]


def test_cycle_overview_links_to_export_for_everyone_and_import_for_admins(org, login):
    url = reverse("goals:cycle", args=[org.cycle.pk])
    export = reverse("goals:cycle-export", args=[org.cycle.pk, "xlsx"])
    import_url = reverse("goals:cycle-import", args=[org.cycle.pk])

    outsider_page = login(org.outsider).get(url).content.decode()
    admin_page = login(org.admin).get(url).content.decode()

    assert export in outsider_page and import_url not in outsider_page
    assert export in admin_page and import_url in admin_page


# --- Who may import -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["outsider", "teammate", "owner"])
def test_people_who_lead_nothing_get_403(org, login, persona):
    client = login(getattr(org, persona))

    page = client.get(reverse("goals:cycle-import", args=[org.cycle.pk]))
    upload = _upload(client, org, csv_file([row()]))
    commit = _commit(client, org, "anything")

    assert page.status_code == upload.status_code == commit.status_code == 403
    assert "Only admins and team leads can import goals." in page.content.decode()
    assert not Objective.objects.exists()


@pytest.mark.parametrize("persona", ["lead", "admin"])
def test_leads_and_admins_see_the_upload_form_and_templates(org, login, persona):
    response = login(getattr(org, persona)).get(reverse("goals:cycle-import", args=[org.cycle.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'type="file"' in page
    assert reverse("goals:import-template", args=["xlsx"]) in page
    assert "<code>objective_owner</code>" in page


def test_closed_cycle_shows_why_instead_of_the_form(org, login):
    org.cycle.state = Cycle.State.CLOSED
    org.cycle.save()
    client = login(org.lead)

    response = client.get(reverse("goals:cycle-import", args=[org.cycle.pk]))

    assert "This cycle is closed" in response.content.decode()
    assert 'type="file"' not in response.content.decode()


def test_lead_importing_another_teams_rows_sees_the_problem(org, login):
    response = _upload(login(org.lead), org, csv_file([row(team="sales")]))

    page = response.content.decode()
    assert "only into teams you lead" in page
    assert "Import 1 row" not in page


# --- Upload → preview → commit ---------------------------------------------------------------


def test_upload_preview_then_commit_imports_the_file(org, login):
    client = login(org.lead)

    preview = _upload(client, org, csv_file([row(), row(key_result="Failures")]))

    page = preview.content.decode()
    assert preview.status_code == 200
    assert "Import 2 rows" in page
    assert "Faster unlocks" in page
    assert not Objective.objects.exists()  # the check saved nothing
    digest = client.session[SESSION_KEY]["digest"]
    assert f'value="{digest}"' in page

    response = _commit(client, org, digest)

    assert response.status_code == 302
    assert response["Location"] == reverse("goals:cycle", args=[org.cycle.pk])
    assert Objective.objects.get().key_results.count() == 2
    assert SESSION_KEY not in client.session
    followed = client.get(response["Location"]).content.decode()
    assert "Imported goals.csv: 1 objective and 2 key results created" in followed


def test_committing_twice_imports_once(org, login):
    client = login(org.lead)
    _upload(client, org, csv_file([row()]))
    digest = client.session[SESSION_KEY]["digest"]
    _commit(client, org, digest)

    response = _commit(client, org, digest)

    assert response.status_code == 302
    assert response["Location"] == reverse("goals:cycle-import", args=[org.cycle.pk])
    assert KeyResult.objects.count() == 1


def test_commit_with_a_digest_not_previewed_imports_nothing(org, login):
    client = login(org.lead)
    _upload(client, org, csv_file([row()]))

    response = _commit(client, org, "0" * 64)

    assert response.status_code == 302
    assert not Objective.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "upload the file again" in page


def test_commit_checks_the_file_again(org, login):
    client = login(org.lead)
    _upload(client, org, csv_file([row()]))
    digest = client.session[SESSION_KEY]["digest"]
    org.owner.is_active = False  # the owner left between the check and the import
    org.owner.save()

    response = _commit(client, org, digest)

    assert response.status_code == 200
    assert "No active person has the username “owner”" in response.content.decode()
    assert not Objective.objects.exists()


def test_preview_lists_each_problem_with_row_and_column(org, login):
    data = csv_file([row(), row(key_result="B", start_value="lots")])

    response = _upload(login(org.lead), org, data)

    page = response.content.decode()
    assert "1 problem found: nothing was saved." in page
    assert '<td class="number">3</td>' in page
    assert "<code>start_value</code>" in page
    assert "“lots” is not a number" in page
    assert SESSION_KEY not in response.wsgi_request.session


def test_file_already_imported_has_nothing_to_import(org, login):
    client = login(org.lead)
    data = csv_file([row()])
    _upload(client, org, data)
    _commit(client, org, client.session[SESSION_KEY]["digest"])

    page = _upload(client, org, data).content.decode()

    assert "there is nothing to import" in page
    assert "1 unchanged row" in page


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"\x00\x01\x02garbage\xff\xfe", "goals.csv", "not a spreadsheet"),
        (b"PK\x03\x04 broken", "goals.xlsx", "not a readable XLSX"),
        (b"%PDF-1.7 \xe2\x28\xa1", "goals.pdf", "Only .xlsx, .csv and .zip files"),
        (b"%PDF-1.7 \xe2\x28\xa1", "goals.csv", "not UTF-8"),
        (b"team,objective\n", "goals.xlsx", "named .xlsx but is not one"),
        (b"team,objective\n", "goals.zip", "named .zip but is not one"),
        (b"PK\x03\x04 broken", "goals.csv", "named .csv but is an XLSX workbook"),
        (b"\xd0\xcf\x11\xe0 old excel", "goals.xls", "Only .xlsx, .csv and .zip files"),
        (b"", "goals.csv", "The file is empty."),
        (b"x" * (10 * 1024 * 1024 + 1), "big.csv", "larger than 10 MB"),
    ],
)
def test_bad_uploads_get_a_clear_message(org, login, data, name, message):
    response = _upload(login(org.admin), org, data, name)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Objective.objects.exists()


def test_browser_import_caps_the_rows_it_writes_in_one_request(org, login, monkeypatch):
    monkeypatch.setattr("goals.views.spreadsheets.BROWSER_MAX_WRITES", 2)

    response = _upload(login(org.lead), org, csv_file([row(), row(key_result="Failures")]))

    assert "creates or changes 3 objectives, key results and check-ins" in (
        response.content.decode()
    )
    assert not Objective.objects.exists()


def test_upload_without_a_file_asks_for_one(org, login):
    response = login(org.lead).post(reverse("goals:cycle-import", args=[org.cycle.pk]), {})

    assert response.status_code == 200
    assert "Choose the spreadsheet to import." in response.content.decode()


def test_extensions_are_matched_without_regard_to_case(org, login):
    response = _upload(login(org.lead), org, csv_file([row()]), "GOALS.CSV")

    assert "Import 1 row" in response.content.decode()


# --- Unsafe uploads --------------------------------------------------------------------------


def _csrf_client(org) -> tuple[Client, str]:
    """A client that is held to the CSRF check like a browser, and its form's token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.admin)
    client.get(reverse("goals:cycle-import", args=[org.cycle.pk]))
    return client, client.cookies[settings.CSRF_COOKIE_NAME].value


def _unread(response) -> int:
    """How many bytes of the request body the server never read."""
    return len(response.wsgi_request.META["wsgi.input"])


def test_too_large_file_is_not_taken_in_past_the_limit(org):
    client, token = _csrf_client(org)
    data = b"x" * (MAX_FILE_BYTES + 1)

    response = client.post(
        reverse("goals:cycle-import", args=[org.cycle.pk]),
        {"csrfmiddlewaretoken": token, "file": SimpleUploadedFile("big.csv", data)},
    )

    assert response.status_code == 200
    assert "The file is larger than 10 MB: split it into several files." in (
        response.content.decode()
    )
    # The handler ran before the CSRF check read the body: the file was never kept.
    assert "file" not in response.wsgi_request.FILES
    assert _unread(response) == 0  # a little over: drained, so the browser gets the page
    assert not Objective.objects.exists()


def test_far_larger_body_is_cut_off_unread(org):
    client, token = _csrf_client(org)
    data = b"x" * (MAX_BODY_BYTES + 1024 * 1024)

    response = client.post(
        reverse("goals:cycle-import", args=[org.cycle.pk]),
        {"csrfmiddlewaretoken": token, "file": SimpleUploadedFile("huge.csv", data)},
    )

    assert "larger than 10 MB" in response.content.decode()
    assert _unread(response) > 1024 * 1024
    assert not Objective.objects.exists()


def test_upload_without_a_csrf_token_is_refused(org):
    client, _token = _csrf_client(org)

    response = client.post(
        reverse("goals:cycle-import", args=[org.cycle.pk]),
        {"file": SimpleUploadedFile("goals.csv", csv_file([row()]))},
    )

    assert response.status_code == 403
    assert SESSION_KEY not in client.session


def _with_member(name: str, content: bytes) -> bytes:
    """A valid import workbook holding one more member."""
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        source = zipfile.ZipFile(io.BytesIO(_workbook(row())))
        for info in source.infolist():
            archive.writestr(info, source.read(info.filename))
        archive.writestr(name, content)
    return stream.getvalue()


def test_zip_bomb_workbook_is_refused(org, login):
    bomb = _with_member("xl/media/image1.png", bytes(60 * 1024 * 1024))
    assert len(bomb) < 200 * 1024  # 60 MB of zeros pack into a few KB

    response = _upload(login(org.admin), org, bomb, "bomb.xlsx")

    assert response.status_code == 200
    assert "The workbook unpacks into more than 50 MB" in response.content.decode()
    assert not Objective.objects.exists()


def test_zip_of_csv_files_is_read_only_as_far_as_its_first_file(org, login):
    # The export's .zip: a big check-ins file after the import layout is never unpacked.
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("objectives-and-key-results.csv", csv_file([row()]))
        archive.writestr("check-ins.csv", bytes(60 * 1024 * 1024))

    response = _upload(login(org.lead), org, stream.getvalue(), "export.zip")

    assert "Import 1 row" in response.content.decode()


def test_a_csv_in_a_zip_unpacking_past_the_limit_is_refused_not_cut(org, login):
    # Deflated, 11 MB of rows fit in a small upload; cut at 10 MB, the last row would
    # be imported half read.
    rows = csv_file([row(objective_description="Long enough. " * 200)] * 5_000)
    assert len(rows) > MAX_FILE_BYTES
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("objectives-and-key-results.csv", rows)

    response = _upload(login(org.lead), org, stream.getvalue(), "export.zip")

    html = response.content.decode()
    assert "“objectives-and-key-results.csv” in the zip file: The file is larger than 10 MB" in html
    assert "Import 1 row" not in html and not Objective.objects.exists()


def _workbook(values: dict[str, str], *, prolog: bytes = b"", cell: bytes = b"") -> bytes:
    """An import workbook of one row, its sheet's XML opened by ``prolog`` and its
    description cell replaced by ``cell``."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET)
    sheet.append([text_cell(sheet, name) for name in HEADERS])
    values = {**values, "objective_description": "DESCRIPTION"}
    sheet.append([text_cell(sheet, values.get(name, "")) for name in HEADERS])
    stream = io.BytesIO()
    workbook.save(stream)
    source = zipfile.ZipFile(io.BytesIO(stream.getvalue()))
    doctored = io.BytesIO()
    with zipfile.ZipFile(doctored, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml" and prolog:
                content = prolog + content.replace(b"DESCRIPTION", cell)
            archive.writestr(info, content)
    return doctored.getvalue()


# The billion laughs: each entity is ten of the one before, so lol9 is 10⁹ "lol"s.
LAUGHS = (
    b'<!DOCTYPE worksheet [<!ENTITY lol0 "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (n, b"&lol%d;" % (n - 1) * 10) for n in range(1, 10))
    + b"]>"
)
EXTERNAL = b'<!DOCTYPE worksheet [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


def test_openpyxl_parses_through_defusedxml():
    # Installed with Waymark; OPENPYXL_DEFUSEDXML=False in the environment would turn it off.
    assert openpyxl.DEFUSEDXML


@pytest.mark.parametrize(
    ("prolog", "cell"), [(LAUGHS, b"&lol9;"), (EXTERNAL, b"&secret;")], ids=["laughs", "xxe"]
)
def test_workbook_declaring_xml_entities_is_refused(org, login, prolog, cell):
    data = _workbook(row(), prolog=prolog, cell=cell)

    response = _upload(login(org.admin), org, data, "goals.xlsx")

    assert response.status_code == 200
    assert "The file is not a readable XLSX workbook" in response.content.decode()
    assert not Objective.objects.exists()
    # Refused by defusedxml at the declaration, before any entity is expanded or fetched.
    with pytest.raises(FileRefused) as refused:
        read_upload(data)
    cause = refused.value
    while cause.__cause__ is not None:
        cause = cause.__cause__
    assert isinstance(cause, DefusedXmlException)


def test_same_workbook_without_the_entities_imports(org, login):
    response = _upload(login(org.admin), org, _workbook(row()), "goals.xlsx")

    assert "Import 1 row" in response.content.decode()
