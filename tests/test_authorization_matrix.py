"""The authorization matrix: every route that names a row (pages, htmx partials and the
API, read from the URL configuration), requested with every method by people who may not
read or change that row, is refused and changes nothing.

- Private rows: a private objective of Product's and what hangs off it (key results,
  initiatives, check-ins, dependencies); one-to-ones and API tokens are somebody else's.
  Whoever may not read them gets 404 for every method the route takes (403 would tell
  that the row exists), 404 or 405 for the others.
- Rows everyone signed in reads: cycles, teams, people, KPIs, and a public objective of
  Product's with what hangs off it. There the matrix is about writes. The API reads with
  GET and refuses the rest (403); a page either only reads (``READS``, whatever the
  method), or is a form of the rows' writers (``REFUSED``: 403 whatever the method), or
  reads with GET and refuses a POST (``WRITES``), or writes only the person's own rows
  (``SCOPED``); a page nobody sorted fails the test, saying which.
- Nothing any of them answers changes a row of any table, or shows a private row's text.
- Writes about one's own rows that name a private row (align to it, serve its key result,
  guard it with a KPI, add a key result or a check-in to it…) are refused and change
  nothing, where the same write naming a row one may read goes through.

Who asks: ``outsider`` (Sales), and ``near``, as close to Product as one gets without
reading its private goals: a member of the company team (not a lead) and the lead of a
team below Product. Teammates read their team's private goals, so for one-to-ones and
tokens, which are one or two people's, the teammate asks too; and the public objective,
the owner's, the teammate may read but not change. The outsider asks the API with the
browser's session and with a personal token and asks pages as a page and as an htmx
request; the others through the main channel.

A new route is in the matrix on its own; one whose parameter names a row this test cannot
provide (tests/routes.py) fails it, saying which.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from alignment.models import Membership, User
from checkins.models import ActionItem
from goals.models import Dependency, KeyResult, Kpi, Objective, Reflection
from tests import factories
from tests.routes import (
    METHODS,
    NOT_ROWS,
    allowed_methods,
    is_api,
    kind_of,
    kinds,
    parameters,
    path_of,
    route_patterns,
    url_names,
)

pytestmark = pytest.mark.django_db

# Kinds of rows: those objectives hang off (private or public, as the objective is), those
# of one or two people (never the asker's here), and those everyone signed in reads.
GOALS = frozenset({"objective", "key_result", "initiative", "checkin", "dependency"})
PERSONAL = frozenset({"one_on_one", "action_item", "api_token"})
READABLE = frozenset({"cycle", "team", "person", "kpi"})

# Pages of rows the person may read, by URL name: what each does with them. The API
# needs no list: there GET reads and the other methods write.
READS = frozenset(
    {
        "goals:cycle",
        "goals:team",
        "goals:person",
        "goals:kpi",
        "goals:coach-report",
        "goals:cycle-export",
        "goals:retrospective",
        "goals:objective",
        "goals:objective-history",
        "goals:key-result",
        "checkins:history",
        "checkins:team-review",
        "alignment:tree",
        "alignment:tree-team",
        "alignment:tree-objective",
        "alignment:gaps",
    }
)
REFUSED = frozenset(
    {
        "goals:cycle-close",
        "goals:cycle-next",
        "goals:kpi-edit",
        "goals:kpi-reading-add",
        "goals:objective-edit",
        "goals:objective-archive",
        "goals:key-result-create",
        "goals:key-result-edit",
        "goals:key-result-move",
        "goals:key-result-archive",
        "goals:initiative-create",
        "goals:initiative-edit",
        "alignment:team-settings",
        "alignment:align",
        "alignment:supports",
        "alignment:cascade",
        "alignment:dependency-request",
        "alignment:dependency-respond",
        "alignment:dependency-withdraw",
        "checkins:row",
        "checkins:correct",
    }
)
WRITES = frozenset({"goals:reflection"})  # anyone reads a reflection; its writers write it
SCOPED = {
    "goals:grading": "grades only the key results the person may grade",
    "goals:carry-over": "offers only the objectives the person may carry forward",
    "goals:cycle-import": "team leads import, each row checked against what they may write",
    "goals:cycle-import-commit": "commits only the file the same person previewed",
}
NAMES = url_names()

# Text of the private rows: no answer to someone who may not read them shows any of it.
SECRETS = (
    "Zanzibar merger",
    "Quietly buy Zanzibar Ltd",
    "Zanzibar diligence done",
    "Zanzibar site visit",
    "Zanzibar board said yes",
    "Zanzibar lawyers slow",
    "Zanzibar contract review",
    "Zanzibar lead wanted",
    "Zanzibar offer draft",
)
TAKEN_OVER = "Taken over"
# The requester's own session is theirs to change (a message for them, a preview they
# uploaded): it is no one else's row, and it holds no domain data.
TABLES = sorted(
    set(connection.introspection.django_table_names(include_views=False)) - {"django_session"}
)


@dataclass
class World:
    outsider: User
    near: User
    teammate: User
    rows: dict[str, dict[str, object]]  # what each kind of parameter names, private or public
    pointing: dict[str, object]  # public rows that point at the private ones


def _goal_rows(objective, legal, *, secrets: tuple[str, ...] = ()) -> dict[str, object]:
    """A key result of ``objective``, an initiative, a check-in and a request to Legal,
    all the owner's; titled with ``secrets`` when given."""
    texts = dict(enumerate(secrets))
    key_result = factories.KeyResultFactory(objective=objective, **_title(texts.get(2)))
    return {
        "objective": objective,
        "key_result": key_result,
        "initiative": factories.InitiativeFactory(key_result=key_result, **_title(texts.get(3))),
        "checkin": factories.CheckInFactory(
            key_result=key_result, note=texts.get(4, ""), blocker=texts.get(5, "")
        ),
        "dependency": Dependency.objects.create(
            requesting_objective=objective,
            providing_team=legal,
            requested_by=objective.owner,
            description=texts.get(6, "Review the terms"),
            needed_by=timezone.localdate() + dt.timedelta(days=30),
        ),
    }


def _title(text: str | None) -> dict[str, str]:
    return {} if text is None else {"title": text}


@pytest.fixture
def world(org) -> World:
    """Product's private objective and its public one (the owner's), each with a row of
    every kind hanging off it; a one-to-one of the lead with the owner, the lead's API
    token; public rows pointing at the private objective; and the people who ask."""
    design = factories.TeamFactory(name="Design", slug="design", parent=org.product)
    legal = factories.TeamFactory(name="Legal", slug="legal", parent=org.company)
    near = factories.UserFactory(username="near", first_name="Nea", last_name="R")
    factories.MembershipFactory(user=near, team=org.company)
    factories.MembershipFactory(user=near, team=design, role=Membership.Role.LEAD)

    secret = factories.ObjectiveFactory(
        cycle=org.cycle,
        team=org.product,
        owner=org.owner,
        visibility=Objective.Visibility.PRIVATE,
        title=SECRETS[0],
        description=SECRETS[1],
    )
    public = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner)
    Reflection.objects.create(objective=public, author=org.owner, learned="Start earlier")
    one_on_one = factories.OneOnOneFactory(manager=org.lead, report=org.owner, notes=SECRETS[7])
    kpi = factories.KpiFactory(team=org.product, name="Activation")
    kpi.guarded_objectives.add(secret, public)
    shared = {
        "cycle": org.cycle,
        "team": org.product,
        "person": org.owner,
        "kpi": kpi,
        "one_on_one": one_on_one,
        "action_item": ActionItem.objects.create(
            one_on_one=one_on_one, text=SECRETS[8], owner=org.owner
        ),
        "api_token": AuthToken.objects.create(user=org.lead)[0],
    }
    private_rows = {**shared, **_goal_rows(secret, legal, secrets=SECRETS)}

    # A public objective of Sales pointing at the private one every way it can: aligned to
    # its key result, supporting it, and depending on it (accepted, delivered by it).
    theirs = factories.ObjectiveFactory(
        cycle=org.cycle,
        team=org.sales,
        owner=org.outsider,
        title="Public Sales goal",
        parent=secret,
        parent_key_result=private_rows["key_result"],
    )
    theirs.supports.add(secret)
    Dependency.objects.create(
        requesting_objective=theirs,
        providing_team=org.product,
        providing_objective=secret,
        requested_by=org.outsider,
        description="A public request",
        needed_by=timezone.localdate() + dt.timedelta(days=30),
        state=Dependency.State.ACCEPTED,
    )
    rows = {"private": private_rows, "public": {**shared, **_goal_rows(public, legal)}}
    pointing = {**private_rows, **_goal_rows(theirs, legal)}
    return World(org.outsider, near, org.teammate, rows, pointing)


@pytest.fixture(scope="module")
def clients() -> dict[str, Client]:
    """The module's test clients, one signed in by session and one sending tokens: each
    new client loads the middleware again, which would cost more than the requests."""
    return {"session": Client(), "token": Client()}


def _sign_in(clients: dict[str, Client], user: User, channel: str) -> tuple[Client, dict]:
    """The client of ``channel`` acting as ``user`` (by session, or with a token of
    theirs), and the headers of the channel."""
    if channel == "token":
        client = clients["token"]
        client.cookies.clear()
        _, secret = AuthToken.objects.create(user=user)
        return client, {"Authorization": f"Token {secret}"}
    client = clients["session"]
    client.cookies.clear()
    client.force_login(user)
    return client, {"HX-Request": "true"} if channel == "htmx" else {}


def _body(rows: dict) -> dict[str, object]:
    """What a write sends: the fields of the site's forms and of the API, filled so that a
    write nobody refused would go through and show."""
    kr = rows["key_result"].pk
    return {
        "title": TAKEN_OVER,
        "description": TAKEN_OVER,
        "visibility": Objective.Visibility.PUBLIC,
        "name": TAKEN_OVER,
        "note": TAKEN_OVER,
        "notes": TAKEN_OVER,
        "text": TAKEN_OVER,
        "response_note": TAKEN_OVER,
        "value": "42",
        "confidence": "9",
        "decision": "accept",
        "direction": "up",
        "held": "on",
        "objective": rows["objective"].pk,
        "parent": rows["objective"].pk,
        "add": rows["objective"].pk,
        "key_result": kr,
        "into": rows["cycle"].pk,
        f"kr-{kr}-value": "42",
        f"kr-{kr}-confidence": "9",
        f"kr-{kr}-note": TAKEN_OVER,
        f"kr-{kr}-grade": "0.9",
        f"kr-{kr}-reason": TAKEN_OVER,
        "week-what_moved": TAKEN_OVER,
    }


def _send(client: Client, method: str, path: str, body: dict, headers: dict, *, api: bool):
    if method == "GET":
        return client.get(path, headers=headers)
    if api:
        return client.generic(
            method, path, json.dumps(body), content_type="application/json", headers=headers
        )
    form = urlencode(body, doseq=True)
    return client.generic(
        method, path, form, content_type="application/x-www-form-urlencoded", headers=headers
    )


def _text(response) -> str:
    """The answer's text; a download's, unpacked (an XLSX, a zip of CSV files)."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            content = b"".join(archive.read(name) for name in archive.namelist())
    return content.decode("utf-8", "replace")


def _snapshot() -> dict[str, list[tuple]]:
    """Every row of every table (history and link tables included), so that a write of
    any column shows, not only an added or deleted row. Plain SQL: the ORM would cost
    more than the requests it watches."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        snapshot = {}
        for table in TABLES:
            cursor.execute(f"SELECT * FROM {quote(table)} ORDER BY 1")  # noqa: S608
            snapshot[table] = cursor.fetchall()
    return snapshot


def _changed(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


# --- What each route must answer --------------------------------------------------------


def _sort(route: str, named: dict[str, str], rows: str) -> str:
    """What ``route`` does with the rows it names, for someone who may change none of
    them: ``unreadable`` (they may not read them either), ``api`` (GET reads, the rest
    write), or, for a page, ``reads``, ``refused``, ``writes`` or ``scoped`` (see above)."""
    values = set(named.values())
    if values & PERSONAL or (rows == "private" and values & GOALS):
        return "unreadable"
    if is_api(route):
        return "api"
    name = NAMES[route]
    for sort, names in (
        ("reads", READS),
        ("refused", REFUSED),
        ("writes", WRITES),
        ("scoped", SCOPED),
    ):
        if name in names:
            return sort
    pytest.fail(
        f"{route} ({name}): does this page only read its rows, is it a form of their "
        "writers, does it read with GET and write with POST, or write only the person's "
        "own? Add it to READS, REFUSED, WRITES or SCOPED."
    )


def _expected(sort: str, method: str, accepted: bool) -> set[int] | None:
    """The statuses allowed, or None for any answer that is not a server error (the
    property then is that nothing changes and nothing private shows)."""
    if not accepted:  # some views refuse before they look at the method: 403 or 404 too
        return {404, 405} if sort == "unreadable" else {403, 404, 405}
    if sort == "unreadable":
        return {404}
    if sort in ("api", "reads", "writes") and method == "GET":
        return {200, 302}  # a fragment's URL opened as a page sends to the page
    if sort in ("api", "refused") or (sort, method) == ("writes", "POST"):
        return {403}
    return None


def _channels(route: str, person: str) -> tuple[str, ...]:
    """The outsider asks through every channel; the others, whose refusals come from the
    same access rules, through the main one (the page; the API with a token)."""
    if person == "outsider":
        return ("session", "token") if is_api(route) else ("page", "htmx")
    return ("token",) if is_api(route) else ("page",)


def _askers(named: set[str | None], rows: str) -> tuple[str, ...]:
    """Who asks for ``rows`` (private or public) through a route naming ``named``."""
    if rows == "private":
        return ("outsider", "near", *(("teammate",) if named & PERSONAL else ()))
    # The public objective's rows, for those who read but may not change them; the rest
    # of such a route's rows are the same as in the private matrix.
    return ("outsider", "teammate") if named & GOALS and not named & PERSONAL else ()


def _cases() -> list:
    cases = []
    for route, pattern in route_patterns():
        if route.startswith("admin/"):
            continue  # staff only (admins): the admin's own tests
        names = [name for name in parameters(route) if name not in NOT_ROWS]
        if not names:
            continue
        named = {kind_of(route, name) for name in names}
        for rows in ("private", "public"):
            for person in _askers(named, rows):
                for channel in _channels(route, person):
                    case_id = f"{rows}-{person}-{channel}-{route}"
                    cases.append(pytest.param(route, pattern, rows, person, channel, id=case_id))
    return cases


CASES = _cases()


def test_the_matrix_holds_every_kind_of_route():
    """Guards the enumeration itself: routes of pages, partials and the API of every app,
    asked for private and public rows."""
    routes = {case.values[0] for case in CASES}
    assert len(routes) > 60, routes
    assert sum(is_api(route) for route in routes) >= 18, routes
    for segment in ("objectives/", "key-results/", "check-ins/", "one-to-ones/", "kpis/"):
        assert any(segment in route for route in routes), segment
    assert sum(case.values[2] == "public" for case in CASES) > 50


@pytest.mark.parametrize(("route", "pattern", "rows", "person", "channel"), CASES)
def test_no_one_reaches_a_row_they_may_not_read_or_change(
    world, clients, route, pattern, rows, person, channel
):
    """One route, every method, one person, one channel: the answers ``_expected``
    allows, no row of any table changed, no private text shown."""
    sort = _sort(route, kinds(route), rows)
    user = getattr(world, person)
    path = path_of(route, world.rows[rows])
    client, headers = _sign_in(clients, user, channel)
    accepted = allowed_methods(pattern)
    body = _body(world.rows[rows])
    before = _snapshot()
    answers = {}
    for method in METHODS:
        response = _send(client, method, path, body, headers, api=is_api(route))
        answers[method] = response.status_code
        asked = f"{method} {path} as {person} ({channel}) answered {response.status_code}"
        text = _text(response)
        assert not [secret for secret in SECRETS if secret in text], f"{asked}: {text[:2000]}"
        expected = _expected(sort, method, method in accepted)
        if expected is None:
            assert response.status_code < 500, asked
        else:
            assert response.status_code in expected, f"{asked}; expected {sorted(expected)}"
        if response.status_code == 302:
            assert not response["Location"].startswith(settings.LOGIN_URL), asked
    changed = _changed(before, _snapshot())
    assert not changed, f"{path} as {person} ({channel}) answered {answers} and changed {changed}"


@pytest.mark.parametrize("person", ["outsider", "near"])
def test_no_page_shows_private_goals_through_public_ones(world, clients, person):
    """Every route read with GET, lists included, its rows a public objective that points
    at the private one (aligned to it, supporting it, depending on it) and what hangs off
    it: none shows a word of the private rows."""
    user = getattr(world, person)
    page, _ = _sign_in(clients, user, "page")
    token_client, token = _sign_in(clients, user, "token")
    channels = {
        "page": (page, {}),
        "htmx": (page, {"HX-Request": "true"}),
        "token": (token_client, token),
    }
    answers = {}
    for route, _pattern in route_patterns():
        if route.startswith(("admin/", "api/schema/", "api/docs/")):
            continue  # staff only; the API's description, which names no rows
        path = path_of(route, world.pointing)
        for channel in ("token",) if is_api(route) else ("page", "htmx"):
            client, headers = channels[channel]
            response = client.get(path, headers=headers)
            text = _text(response)
            asked = f"GET {path} as {person} ({channel}) answered {response.status_code}"
            assert response.status_code < 500, asked
            assert not [secret for secret in SECRETS if secret in text], f"{asked}: {text[:3000]}"
            answers[path, channel] = response.status_code
    # Not a vacuous pass: the public objective's page, as a page and a partial, was shown.
    theirs = world.pointing["objective"].get_absolute_url()
    assert answers[theirs, "page"] == answers[theirs, "htmx"] == 200, answers
    assert sum(status == 200 for status in answers.values()) > 80, answers


def test_the_rows_are_there_for_those_who_may_read_them(world, clients, org):
    """The control: the same paths, read by the private objective's owner (also the
    report of the one-to-one), are not 404, so the matrix's 404s come from who asks."""
    owner = org.owner
    client, _headers = _sign_in(clients, owner, "page")
    token_client, token = _sign_in(clients, owner, "token")
    found = {}
    for route, pattern in route_patterns():
        named = set(kinds(route).values()) if not route.startswith("admin/") else set()
        if not named & (GOALS | PERSONAL) or "GET" not in allowed_methods(pattern):
            continue
        path = path_of(route, world.rows["private"])
        asking, headers = (token_client, token) if is_api(route) else (client, {})
        found[path] = asking.get(path, headers=headers).status_code
    assert len(found) > 20, found
    assert not {path: status for path, status in found.items() if status == 404 or status >= 500}


# --- Links from one's own rows to rows one may not read ---------------------------------


@pytest.fixture
def own(org, world) -> dict[str, object]:
    """The outsider's own rows in Sales: an objective linked to nothing with a key result,
    one aligned to the private objective (no key result of it chosen), a KPI of Sales."""
    objective = factories.ObjectiveFactory(cycle=org.cycle, team=org.sales, owner=org.outsider)
    aligned = factories.ObjectiveFactory(
        cycle=org.cycle,
        team=org.sales,
        owner=org.outsider,
        parent=world.rows["private"]["objective"],
    )
    return {
        "objective": objective,
        "key_result": factories.KeyResultFactory(objective=objective),
        "aligned": aligned,
        "kpi": factories.KpiFactory(team=org.sales, name="Pipeline"),
    }


# What the outsider sends about their own rows, naming ``rows``' objective or key result:
# Product's private ones (refused), or for the control (accepted) Product's public ones or,
# where the link needs a row one may write, the outsider's own. Each case: the method, the
# path, the body, and the rows of the control.
LINKS = {
    "api: a new objective's parent": (
        "POST",
        lambda own: "/api/v1/objectives/",
        lambda own, rows: {
            "title": "North",
            "team": own["objective"].team_id,
            "cycle": own["objective"].cycle_id,
            "parent": rows["objective"].pk,
        },
        "public",
    ),
    "api: an objective's parent": (
        "PATCH",
        lambda own: f"/api/v1/objectives/{own['objective'].pk}/",
        lambda own, rows: {"parent": rows["objective"].pk},
        "public",
    ),
    "api: the key result an objective serves": (
        "PATCH",
        lambda own: f"/api/v1/objectives/{own['aligned'].pk}/",
        lambda own, rows: {
            "parent": rows["objective"].pk,
            "parent_key_result": rows["key_result"].pk,
        },
        "public",
    ),
    "api: a key result's objective": (
        "POST",
        lambda own: "/api/v1/key-results/",
        lambda own, rows: {
            "objective": rows["objective"].pk,
            "title": "Calls",
            "kind": "number",
            "start_value": 0,
            "target_value": 9,
        },
        "own",
    ),
    "api: an initiative's key result": (
        "POST",
        lambda own: "/api/v1/initiatives/",
        lambda own, rows: {"key_result": rows["key_result"].pk, "title": "Call round"},
        "own",
    ),
    "api: a check-in's key result": (
        "POST",
        lambda own: "/api/v1/check-ins/",
        lambda own, rows: {"key_result": rows["key_result"].pk, "value": 5, "confidence": 6},
        "own",
    ),
    "api: a new KPI's guarded objectives": (
        "POST",
        lambda own: "/api/v1/kpis/",
        lambda own, rows: {
            "team": own["kpi"].team_id,
            "name": "NPS",
            "direction": Kpi.Direction.HIGHER_IS_BETTER,
            "green_threshold": 50,
            "red_threshold": 20,
            "guarded_objectives": [rows["objective"].pk],
        },
        "public",
    ),
    "api: a KPI's guarded objectives": (
        "PATCH",
        lambda own: f"/api/v1/kpis/{own['kpi'].pk}/",
        lambda own, rows: {"guarded_objectives": [rows["objective"].pk]},
        "public",
    ),
    "page: an objective's parent": (
        "POST",
        lambda own: f"/objectives/{own['objective'].pk}/align/",
        lambda own, rows: {
            "parent": rows["objective"].pk,
            "key_results_for": rows["objective"].pk,  # its key results were shown
            "parent_weight": "1",
        },
        "public",
    ),
    "page: the key result an objective serves, the parent kept": (
        "POST",
        lambda own: f"/objectives/{own['aligned'].pk}/align/",
        lambda own, rows: {
            "parent": rows["objective"].pk,
            "parent_key_result": rows["key_result"].pk,
            "key_results_for": rows["objective"].pk,
            "parent_weight": "1",
        },
        "public",
    ),
    "page: what an objective supports": (
        "POST",
        lambda own: f"/objectives/{own['objective'].pk}/supports/",
        lambda own, rows: {"add": rows["objective"].pk},
        "public",
    ),
    "page: a KPI's guarded objectives": (
        "POST",
        lambda own: f"/kpis/{own['kpi'].pk}/edit/",
        lambda own, rows: {
            "name": "Pipeline",
            "direction": Kpi.Direction.HIGHER_IS_BETTER,
            "green_threshold": "50",
            "red_threshold": "20",
            "guarded_objectives": [rows["objective"].pk],
        },
        "public",
    ),
}


def _link(client: Client, case: str, own: dict, rows: dict):
    method, path, body, _control = LINKS[case]
    if path(own).startswith("/api/"):
        data = json.dumps(body(own, rows))
        return client.generic(method, path(own), data, content_type="application/json")
    return client.post(path(own), body(own, rows))


@pytest.mark.parametrize("case", LINKS)
def test_no_one_links_their_rows_to_rows_they_may_not_read(world, clients, own, case):
    """Naming a private row in a write about one's own rows is refused like naming no
    row at all (400, or the form again with its message), and changes nothing; the same
    write naming the public row goes through, so it is the private row that was refused."""
    client, _headers = _sign_in(clients, world.outsider, "page")
    before = _snapshot()
    refused = _link(client, case, own, world.rows["private"])
    changed = _changed(before, _snapshot())
    assert not changed, f"{case}: answered {refused.status_code} and changed {changed}"
    assert refused.status_code in {200, 400}, f"{case}: answered {refused.status_code}"
    assert not [secret for secret in SECRETS if secret in _text(refused)], case
    control = own if LINKS[case][3] == "own" else world.rows["public"]
    accepted = _link(client, case, own, control)
    assert accepted.status_code in {200, 201, 302}, f"{case}: {_text(accepted)[:2000]}"
    assert _changed(before, _snapshot()), f"{case}: the control changed nothing"


def test_every_link_the_api_takes_is_in_the_cases(world, own):
    """Every writable field of the API naming an objective or a key result has a case
    above: a new one fails this test until it gets one."""
    from checkins.api import CheckInSerializer
    from goals import api

    related = set()
    for serializer in (
        api.ObjectiveSerializer,
        api.KeyResultSerializer,
        api.InitiativeSerializer,
        api.KpiSerializer,
        CheckInSerializer,
    ):
        model = serializer.Meta.model
        for name, field in serializer().fields.items():
            if field.read_only or field.source == "*":
                continue
            try:
                target = model._meta.get_field(field.source).related_model
            except FieldDoesNotExist:
                continue  # not a column: a reason given with a change, say
            if target in (Objective, KeyResult):
                related.add(name)
    cases = [body(own, world.rows["public"]) for _method, _path, body, _control in LINKS.values()]
    covered = {name for body in cases for name in body}
    assert related, "no relation found: the serializers moved?"
    assert related <= covered, f"no case names {related - covered}"
