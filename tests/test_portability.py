"""The organisation export: what it holds, that an import into an empty instance gives
back the same organisation, that a bad document or a non-empty instance changes nothing,
the commands, the admins' download, and a query count that does not grow with the data."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alignment import rollup
from alignment.models import Membership, Team, User
from checkins.models import ActionItem, CheckIn
from goals.models import (
    Cycle,
    Dependency,
    GoalpostChange,
    KeyResult,
    Objective,
    ObjectiveSnapshot,
    Reflection,
)
from goals.seeding.common import SEED_PASSWORD
from okr_site.portability import (
    FORMAT,
    SECTIONS,
    VERSION,
    ImportRefused,
    export_organisation,
    import_organisation,
    iter_export_json,
    load_document,
)
from okr_site.portability.spec import LEFT_OUT_FIELDS, LEFT_OUT_MODELS
from tests import factories

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WEBHOOK = "https://hooks.example.org/services/T000/B000/secret"


def _enrich() -> None:
    """What the demo lacks, so that every section and every kind of link is exercised."""
    coaches = Group.objects.create(name="Coaches")
    coaches.permissions.add(Permission.objects.get(codename="view_objective"))
    tomasz = User.objects.get(username="tomasz")
    tomasz.groups.add(coaches)
    tomasz.user_permissions.add(Permission.objects.get(codename="change_team"))
    company = Team.objects.get(parent=None)
    Team.objects.filter(pk=Team.objects.exclude(parent=None).order_by("pk")[0].pk).update(
        webhook_url=WEBHOOK
    )
    Team.objects.create(
        name="Old Skunkworks", slug="old-skunkworks", parent=company, archived_at=timezone.now()
    )
    active = list(Objective.objects.filter(cycle__state=Cycle.State.ACTIVE).order_by("pk")[:3])
    active[1].supports.add(active[2], active[0])
    key_result = KeyResult.objects.filter(objective=active[0]).order_by("pk")[0]
    GoalpostChange.objects.create(
        key_result=key_result,
        field=GoalpostChange.Field.TARGET,
        old_value=key_result.target_value - 1,
        new_value=key_result.target_value,
        reason="The board raised the bar.",
        changed_by=key_result.owner,
    )
    rollup.take_snapshots(day=timezone.localdate())
    wrong = CheckIn.objects.filter(key_result=key_result).order_by("pk")[0]
    CheckIn.objects.create(
        key_result=key_result,
        author=wrong.author,
        value=wrong.value,
        confidence=wrong.confidence,
        note="Typo in the note.",
        corrects=wrong,
        created_at=wrong.created_at + dt.timedelta(hours=1),
    )
    closed = Objective.objects.filter(cycle__state=Cycle.State.CLOSED).order_by("pk")[0]
    Objective.objects.filter(pk=active[2].pk).update(carried_from=closed)
    item = ActionItem.objects.order_by("pk")[0]
    ActionItem.objects.create(
        one_on_one=item.one_on_one, text="Still to do", owner=item.owner, carried_from=item
    )


def _db_counts() -> dict[str, int]:
    counts = {section.name: section.model.objects.count() for section in SECTIONS}
    for section in SECTIONS:
        for name in section.many:
            through = section.fields[name].remote_field.through
            counts[f"{section.name}.{name}"] = through.objects.count()
    return counts


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[tuple[dict[str, Any], dict]]:
    """The demo company, enriched, exported; then the database is emptied again. Gives
    the document and the row counts the database held."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        call_command("seed_demo", public_passwords=True, stdout=StringIO())
        _enrich()
        document, counts = export_organisation(), _db_counts()
        call_command("flush", interactive=False)
    yield document, counts


@pytest.fixture
def document(demo) -> dict[str, Any]:
    """A fresh copy of the demo's export, free to break."""
    return copy.deepcopy(demo[0])


def _canonical(document: dict[str, Any]) -> dict[str, Any]:
    """The document with the export time dropped and file-local ids replaced by row
    positions, so that two exports of the same organisation compare equal."""
    position = {
        section.name: {row["id"]: index for index, row in enumerate(document[section.name])}
        for section in SECTIONS
        if section.keyed_by_id
    }

    def local(target: str, value: Any) -> Any:
        if target not in position or value is None:
            return value
        if isinstance(value, list):
            return [position[target][item] for item in value]
        return position[target][value]

    canonical = {key: value for key, value in document.items() if key != "exported_at"}
    for section in SECTIONS:
        rows = []
        for row in document[section.name]:
            row = {name: local(section.refs.get(name), value) for name, value in row.items()}
            row = {name: local(section.many.get(name), value) for name, value in row.items()}
            if section.keyed_by_id:
                row["id"] = position[section.name][row["id"]]
            rows.append(row)
        canonical[section.name] = rows
    return canonical


# --- What the export holds ---------------------------------------------------------------


def test_export_holds_every_row_and_link_of_every_section(demo):
    document, counts = demo
    assert document["format"] == FORMAT
    assert document["version"] == VERSION
    assert document["exported_at"].endswith("+00:00")
    found = {section.name: len(document[section.name]) for section in SECTIONS}
    for section in SECTIONS:
        for name in section.many:
            found[f"{section.name}.{name}"] = sum(len(row[name]) for row in document[section.name])
    assert found == counts
    # The enrichment reached every section the demo leaves empty.
    assert all(counts[name] for name in counts if name != "groups.permissions"), counts


def test_values_are_exact_and_times_carry_their_offset(demo):
    document, _ = demo
    key_result = document["key_results"][0]
    assert isinstance(key_result["target_value"], str)
    assert Decimal(key_result["target_value"]) == Decimal(key_result["target_value"]).quantize(
        Decimal("0.0001")
    )
    checkin = document["checkins"][0]
    assert dt.datetime.fromisoformat(checkin["created_at"]).utcoffset() is not None
    assert dt.date.fromisoformat(document["cycles"][0]["start_date"])
    assert {row["username"] for row in document["people"]} >= {"maren", "tomasz"}
    tomasz = next(row for row in document["people"] if row["username"] == "tomasz")
    assert tomasz["groups"] == ["Coaches"]
    assert tomasz["user_permissions"] == ["alignment.change_team"]
    assert tomasz["manager"] == "maren"


def test_export_never_holds_a_password(demo):
    document, _ = demo
    text = json.dumps(document)
    assert all("password" not in row for row in document["people"])
    assert "md5$" not in text
    assert SEED_PASSWORD not in text


def test_every_field_of_every_model_is_exported_or_deliberately_left_out():
    carried = {section.model: set(section.columns) for section in SECTIONS}
    missing = []
    for app in ("alignment", "goals", "checkins"):
        for model in apps.get_app_config(app).get_models():
            if hasattr(model, "instance_type") or model in LEFT_OUT_MODELS:
                continue  # django-simple-history's tables; the send log
            meta = model._meta
            for field in [*meta.concrete_fields, *meta.many_to_many]:
                if field.primary_key or field.name in LEFT_OUT_FIELDS.get(model, {}):
                    continue
                if field.name not in carried.get(model, set()):
                    missing.append(f"{model.__name__}.{field.name}")
    assert not missing, f"Neither exported nor in spec.LEFT_OUT_FIELDS: {missing}"


# --- Round trip ----------------------------------------------------------------------------


def test_import_into_an_empty_instance_gives_back_the_same_organisation(demo, db):
    document, counts = demo
    imported = import_organisation(copy.deepcopy(document))

    assert imported == {section.name: len(document[section.name]) for section in SECTIONS}
    assert _db_counts() == counts
    assert _canonical(export_organisation()) == _canonical(document)


def test_imported_goals_keep_their_owners_teams_values_progress_and_links(demo, db):
    document, _ = demo
    import_organisation(copy.deepcopy(document))

    child = Objective.objects.filter(parent_key_result__isnull=False).select_related(
        "parent_key_result", "owner", "team", "cycle"
    )[0]
    original = next(row for row in document["objectives"] if row["title"] == child.title)
    assert child.owner.username == original["owner"]
    assert child.team.slug == original["team"]
    assert child.cycle.name == original["cycle"]
    assert child.progress == original["progress"]
    assert child.parent_key_result.objective_id == child.parent_id
    assert child.created_at.isoformat() == original["created_at"]
    # The stored progress is what the roll-up computes: recomputing changes nothing.
    before = dict(Objective.objects.values_list("pk", "progress"))
    rollup.recompute_all(closed_too=True)
    after = dict(Objective.objects.values_list("pk", "progress"))
    assert after == pytest.approx(before)
    correction = CheckIn.objects.get(corrects__isnull=False)
    assert correction.note == "Typo in the note."
    assert correction.corrects.key_result_id == correction.key_result_id


def test_grades_reflections_closing_and_carry_over_survive_the_round_trip(demo, db):
    document, _ = demo
    import_organisation(copy.deepcopy(document))

    closed = Cycle.objects.get(state=Cycle.State.CLOSED)
    assert closed.closed_by.username == "maren"
    assert closed.closed_at is not None
    graded = KeyResult.objects.filter(objective__cycle=closed).select_related("graded_by")
    assert graded and all(kr.grade is not None and kr.graded_by_id for kr in graded)
    with_reason = next(row for row in document["key_results"] if row["grade_reason"])
    imported = KeyResult.objects.get(title=with_reason["title"])
    assert str(imported.grade) == with_reason["grade"]
    assert imported.grade_reason == with_reason["grade_reason"]
    assert imported.graded_by.username == with_reason["graded_by"]
    assert imported.graded_at.isoformat() == with_reason["graded_at"]
    reflection = Reflection.objects.select_related("objective", "author").get(
        objective__title="Make unlocking the bike instant"
    )
    assert reflection.author.username == "aisha"
    assert reflection.learned.startswith("Instrument first")
    carried = Objective.objects.get(carried_from__isnull=False)
    assert carried.carried_from.cycle == closed


def test_imported_people_need_a_password_before_they_sign_in(demo, db, client):
    import_organisation(copy.deepcopy(demo[0]))

    maren = User.objects.get(username="maren")
    assert not maren.has_usable_password()
    response = client.post("/login/", {"username": "maren", "password": SEED_PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_imported_goals_get_one_imported_version_dated_at_their_creation(demo, db):
    import_organisation(copy.deepcopy(demo[0]))

    objective = Objective.objects.order_by("pk")[0]
    versions = list(Objective.history.filter(id=objective.pk))
    assert len(versions) == 1
    assert versions[0].history_type == "+"
    assert versions[0].history_date == objective.created_at
    assert versions[0].history_change_reason.startswith("Imported from ")
    assert Cycle.history.count() == Cycle.objects.count()


def test_the_admin_running_the_import_keeps_their_password_and_rights(demo, db):
    document = copy.deepcopy(demo[0])
    row = next(row for row in document["people"] if row["username"] == "admin")
    row["is_staff"] = row["is_superuser"] = False  # the file would demote them
    admin = factories.UserFactory(username="admin", is_staff=True, is_superuser=True)

    import_organisation(document)

    admin.refresh_from_db()
    assert admin.check_password(factories.TEST_PASSWORD)
    assert admin.is_superuser and admin.is_staff
    assert admin.job_title == row["job_title"]  # the rest comes from the file
    assert admin.manager.username == row["manager"]
    assert User.objects.filter(username="admin").count() == 1


# --- Refusals ------------------------------------------------------------------------------


def _assert_nothing_written() -> None:
    for section in SECTIONS:
        if section.model is not User:
            assert not section.model.objects.exists(), section.name
    assert not User.objects.exclude(username="existing").exists()


def test_import_into_an_instance_with_an_organisation_refuses_and_changes_nothing(demo, org):
    before = _db_counts()

    with pytest.raises(ImportRefused, match="already holds an organisation") as refusal:
        import_organisation(copy.deepcopy(demo[0]))

    assert "3 teams" in str(refusal.value)
    assert "new, empty instance" in str(refusal.value)
    assert _db_counts() == before


def _team_loop(document: dict) -> None:
    company = next(row for row in document["teams"] if row["parent"] is None)
    child = next(row for row in document["teams"] if row["parent"] == company["slug"])
    company["parent"] = child["slug"]


def _parent_key_result_elsewhere(document: dict) -> None:
    child = next(row for row in document["objectives"] if row["parent"] is not None)
    other = next(row for row in document["key_results"] if row["objective"] != child["parent"])
    child["parent_key_result"] = other["id"]


def _duplicate_username(document: dict) -> None:
    document["people"][3]["username"] = document["people"][2]["username"]


BROKEN = {
    "missing column": (
        lambda d: d["objectives"][3].pop("title"),
        "objectives[3].title: is missing",
    ),
    "dangling reference": (
        lambda d: d["objectives"][4].update(parent=987654),
        "objectives[4].parent: no row of objectives has id 987654 in this file",
    ),
    "unknown person": (
        lambda d: d["key_results"][0].update(owner="nobody"),
        'key_results[0].owner: no row of people has username "nobody" in this file',
    ),
    "wrong version": (lambda d: d.update(version=2), "version: this Waymark reads version 1"),
    "not an export": (lambda d: d.update(format="csv"), "format: must be “waymark-organisation”"),
    "missing section": (lambda d: d.pop("checkins"), "checkins: is missing"),
    "unknown column": (
        lambda d: d["teams"][0].update(colour="red"),
        "teams[0].colour: is not a column of teams",
    ),
    "bad decimal": (
        lambda d: d["key_results"][1].update(target_value="NaN"),
        "key_results[1].target_value: “NaN” value must be a decimal number.",
    ),
    "too many digits": (
        lambda d: d["key_results"][1].update(target_value="1" * 20),
        "key_results[1].target_value: Ensure that there are no more than 18 digits in total.",
    ),
    "naive time": (
        lambda d: d["checkins"][2].update(created_at="2026-01-05T09:30:00"),
        "checkins[2].created_at: needs its UTC offset",
    ),
    "unknown choice": (
        lambda d: d["cycles"][0].update(state="paused"),
        "cycles[0].state: Value 'paused' is not a valid choice.",
    ),
    "a list where a value goes": (
        lambda d: d["teams"][0].update(name=["a"]),
        "teams[0].name: must be a single value",
    ),
    "duplicate username": (_duplicate_username, "people[3].username: "),
    "duplicate membership": (
        lambda d: d["memberships"].append(dict(d["memberships"][0])),
        "same user and team as memberships[0]",
    ),
    "loop in the teams": (_team_loop, "makes a loop"),
    "two companies": (
        lambda d: d["teams"][-1].update(parent=None),
        "only the company has no parent, and that is “kestrel”",
    ),
    "parent key result of another objective": (
        _parent_key_result_elsewhere,
        "parent_key_result: key result",
    ),
}


@pytest.mark.parametrize("broken", BROKEN, ids=list(BROKEN))
def test_a_broken_document_is_refused_with_its_path_and_changes_nothing(document, db, broken):
    factories.UserFactory(username="existing")
    breaking, message = BROKEN[broken]
    breaking(document)

    with pytest.raises(ImportRefused) as refusal:
        import_organisation(document)

    assert message in str(refusal.value)
    _assert_nothing_written()


def test_a_rule_only_the_database_holds_rolls_everything_back_with_its_message(document, db):
    milestone = next(row for row in document["key_results"] if row["kind"] != "milestone")
    milestone["kind"] = "milestone"  # its values are not 0 → 1

    with pytest.raises(ImportRefused) as refusal:
        import_organisation(document)

    assert str(refusal.value).startswith("key_results: A milestone goes from 0 (not done) to 1")
    _assert_nothing_written()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "The file is not JSON: Expecting property name"),
        ('{"version": NaN}', "NaN is not a number JSON allows"),
        (b'{"format": "\x80"}', "The file is not JSON: it is not UTF-8 text."),
        ("[]", "document: must be a JSON object"),
    ],
)
def test_what_is_not_an_export_is_refused_clearly(db, text, message):
    with pytest.raises(ImportRefused, match=message):
        import_organisation(load_document(text))


def test_the_refusal_lists_at_most_fifty_problems_and_counts_the_rest(document, db):
    for row in document["checkins"][:80]:
        row["confidence"] = 11

    with pytest.raises(ImportRefused) as refusal:
        import_organisation(document)

    lines = str(refusal.value).splitlines()
    assert len(lines) == 51
    assert lines[-1] == "… and 30 more problems."


# --- Commands --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_export_command_writes_the_file_the_import_command_restores(demo, tmp_path):
    path = tmp_path / "organisation.json"
    call_command("import_organisation", _write(tmp_path / "demo.json", demo[0]), stdout=StringIO())

    out = StringIO()
    call_command("export_organisation", "-o", str(path), stdout=out)

    assert "groups 1, people 25, teams 8, memberships 25" in out.getvalue()
    assert _canonical(json.loads(path.read_text())) == _canonical(demo[0])
    assert {p.name for p in tmp_path.iterdir()} == {"demo.json", "organisation.json"}


def _write(path, document: dict) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def test_export_command_writes_to_standard_output_with_a_dash(org):
    out, err = StringIO(), StringIO()
    call_command("export_organisation", "-o", "-", stdout=out, stderr=err)

    document = json.loads(out.getvalue())
    assert [row["slug"] for row in document["teams"]] == ["company", "product", "sales"]
    assert "to standard output" in err.getvalue()


def test_streamed_export_is_the_same_document(org):
    factories.KeyResultFactory(objective__team=org.product, objective__cycle=org.cycle)
    streamed = json.loads("".join(iter_export_json()))
    assert _canonical(streamed) == _canonical(export_organisation())


def test_import_command_says_what_it_imported_and_about_passwords(demo, db, tmp_path):
    out = StringIO()
    call_command("import_organisation", _write(tmp_path / "x.json", demo[0]), stdout=out)

    assert "groups 1, people 25, teams 8, memberships 25" in out.getvalue()
    assert "manage.py changepassword" in out.getvalue()


def test_import_command_reports_every_problem_and_imports_nothing(document, db, tmp_path):
    document["objectives"][0]["owner"] = "ghost"
    document["teams"][1]["checkin_hour"] = "nine"

    with pytest.raises(CommandError) as refusal:
        call_command("import_organisation", _write(tmp_path / "x.json", document))

    assert str(refusal.value).startswith("Nothing was imported.")
    assert "teams[1].checkin_hour: “nine” value must be an integer." in str(refusal.value)
    assert 'objectives[0].owner: no row of people has username "ghost"' in str(refusal.value)
    _assert_nothing_written()


def test_import_command_names_a_file_it_cannot_read(db, tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read .*missing\.json"):
        call_command("import_organisation", str(tmp_path / "missing.json"))


# --- The browser download ------------------------------------------------------------------


def test_a_download_of_the_organisation_another_site_started_is_refused(org, login):
    client = login(org.admin)

    refused = client.get("/export/organisation.json", headers={"Sec-Fetch-Site": "cross-site"})
    asked = client.get("/export/organisation.json", headers={"Sec-Fetch-Site": "same-origin"})

    assert (refused.status_code, asked.status_code) == (403, 200)


def test_admin_downloads_the_organisation_as_a_json_file(org, login):
    response = login(org.admin).get("/export/organisation.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="waymark-organisation-')
    document = json.loads(b"".join(response.streaming_content))
    assert {row["username"] for row in document["people"]} == {
        "owner",
        "teammate",
        "lead",
        "outsider",
        "admin",
    }


def test_a_lead_is_refused_the_download(org, login):
    response = login(org.lead).get("/export/organisation.json")

    assert response.status_code == 403
    assert "Only administrators can download the whole organisation." in response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/export/organisation.json")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/export/organisation.json"


def test_admin_index_links_the_download_for_superusers_only(org, login):
    page = login(org.admin).get("/admin/").content.decode()
    assert 'href="/export/organisation.json"' in page
    assert "Organisation export" in page

    staff = factories.UserFactory(username="staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_team"))
    page = login(staff).get("/admin/").content.decode()
    assert "/export/organisation.json" not in page


# --- Cost ------------------------------------------------------------------------------------


def _grow(times: int, org) -> None:
    """``times`` teams, each with a bit of everything the export carries."""
    permission = Permission.objects.get(codename="view_kpi")
    today = timezone.localdate()
    for _ in range(times):
        team = factories.TeamFactory(parent=org.company, webhook_url=WEBHOOK)
        lead = factories.UserFactory()
        member = factories.UserFactory(manager=lead)
        group = Group.objects.create(name=f"Group {team.slug}")
        group.permissions.add(permission)
        member.groups.add(group)
        member.user_permissions.add(permission)
        factories.MembershipFactory(user=lead, team=team, role=Membership.Role.LEAD)
        factories.MembershipFactory(user=member, team=team)
        parent = factories.ObjectiveFactory(cycle=org.cycle, team=team, owner=lead)
        parent_kr = factories.KeyResultFactory(objective=parent)
        child = factories.ObjectiveFactory(
            cycle=org.cycle, team=team, owner=member, parent=parent, parent_key_result=parent_kr
        )
        child.supports.add(parent)
        key_result = factories.KeyResultFactory(objective=child)
        factories.InitiativeFactory(key_result=key_result)
        GoalpostChange.objects.create(
            key_result=key_result,
            field=GoalpostChange.Field.START,
            old_value=1,
            new_value=0,
            reason="Measured again.",
            changed_by=member,
        )
        kpi = factories.KpiFactory(team=team)
        kpi.guarded_objectives.add(child)
        factories.KpiReadingFactory(kpi=kpi, recorded_by=lead)
        update = factories.WeeklyUpdateFactory(author=member)
        first = factories.CheckInFactory(key_result=key_result, weekly_update=update)
        factories.CheckInFactory(key_result=key_result, corrects=first)
        one_on_one = factories.OneOnOneFactory(manager=lead, report=member)
        item = ActionItem.objects.create(one_on_one=one_on_one, text="Draft", owner=member)
        ActionItem.objects.create(
            one_on_one=one_on_one, text="Draft", owner=member, carried_from=item
        )
        ObjectiveSnapshot.objects.create(objective=child, day=today, progress=0.5)
        Dependency.objects.create(
            requesting_objective=child,
            providing_team=org.company,
            description="A review",
            needed_by=today,
            requested_by=member,
        )


def test_export_costs_the_same_queries_for_five_times_the_rows(org):
    _grow(1, org)
    with CaptureQueriesContext(connection) as once:
        small = export_organisation()
    _grow(4, org)
    with CaptureQueriesContext(connection) as five_times:
        large = export_organisation()

    assert len(large["checkins"]) == 5 * len(small["checkins"]) == 10
    assert len(five_times) == len(once), "\n".join(q["sql"] for q in five_times.captured_queries)
