"""What the benchmark measures: every page and API list a person waits for, the check-in
submit, and the organisation-wide jobs, each with its floor and its target.

The same catalogue drives ``manage.py bench`` and the test that holds every page's
query count equal at a small tier and one twenty times larger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import partial

from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from knox.models import AuthToken

from alignment import rollup
from goals.models import Cycle, KeyResult, Objective
from okr_site.bench import fanout, floors
from okr_site.bench.measure import QueryCounter
from okr_site.bench.scenario import Scenario
from okr_site.bench.urls import API_NULL_PATH, NULL_PATH


class Kind(Enum):
    """What a measured thing is, which says its target (see ``Target``)."""

    OVERHEAD = "overhead"
    PAGE = "page"
    JSON = "json"
    SUBMIT = "submit"
    ROLLUP = "roll-up"
    FANOUT = "fan-out"


@dataclass(frozen=True)
class Case:
    name: str
    kind: Kind
    run: Callable[[], object]
    floor: Callable[[], object] | None = None
    client: Client | None = None  # a page's or list's, to weigh its answer
    # Jobs time themselves: ``run`` returns the seconds that count (e.g. database writes).
    self_timed: bool = False
    repeat: int | None = None  # fewer runs for the long jobs


class UnexpectedStatus(AssertionError):
    pass


def _getter(client: Client, path: str, **headers: str) -> Callable[[], object]:
    def get() -> object:
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise UnexpectedStatus(f"GET {path} answered {response.status_code}.")
        return response

    return get


def _with_null_request(client: Client, floor: Callable[[], object]) -> Callable[[], object]:
    """A page's floor: the request overhead (the null view) and the rows themselves."""
    null = _getter(client, NULL_PATH)

    def run() -> object:
        null()
        return floor()

    return run


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def with_token(user) -> Client:
    """An integrator's client: a personal API token, no session."""
    _, token = AuthToken.objects.create(user=user)
    return Client(headers={"Authorization": f"Token {token}"})


def page_cases(scenario: Scenario) -> list[Case]:
    """Pages and API lists, each fetched by the person who reads it most."""
    lead, ceo = signed_in(scenario.lead), signed_in(scenario.ceo)
    api_client = with_token(scenario.lead)
    cycle, team = scenario.cycle, scenario.team
    pages: list[tuple[str, Client, str, dict, Callable[[], object]]] = [
        ("home", lead, reverse("goals:home"), {}, floors.home(scenario.lead.pk)),
        ("weekly check-in", lead, reverse("checkins:weekly"), {}, floors.weekly(scenario.lead.pk)),
        ("team page", lead, reverse("goals:team", args=[team.slug]), {}, floors.team(team.pk)),
        (
            "cycle overview (CEO)",
            ceo,
            reverse("goals:cycle", args=[cycle.pk]),
            {},
            floors.cycle_overview(cycle.pk),
        ),
        (
            "alignment tree, two levels (CEO)",
            ceo,
            reverse("alignment:tree", args=[cycle.pk]),
            {},
            floors.tree(cycle.pk, scenario.company.pk, root=True),
        ),
        (
            "alignment tree, open a team",
            ceo,
            reverse("alignment:tree-team", args=[cycle.pk, scenario.division.pk]),
            {"HX-Request": "true"},
            floors.tree(cycle.pk, scenario.division.pk, root=False),
        ),
        (
            "objective page",
            lead,
            reverse("goals:objective", args=[scenario.objective.pk]),
            {},
            floors.objective(scenario.objective.pk),
        ),
        (
            "team review",
            lead,
            reverse("checkins:team-review", args=[team.slug]),
            {},
            floors.team_review(team.pk),
        ),
        (
            "one-to-one",
            lead,
            reverse("checkins:one-on-one", args=[scenario.one_on_one.pk]),
            {},
            floors.one_on_one(scenario.one_on_one.pk, scenario.report.pk),
        ),
    ]
    cases = [
        Case("request overhead (null view)", Kind.OVERHEAD, _getter(lead, NULL_PATH)),
        *(
            Case(
                name,
                Kind.PAGE,
                _getter(client, path, **headers),
                _with_null_request(client, floor),
                client,
            )
            for name, client, path, headers, floor in pages
        ),
        Case("API overhead (token, no rows)", Kind.OVERHEAD, _getter(api_client, API_NULL_PATH)),
        *_api_cases(scenario, api_client),
        _admin_case(scenario),
    ]
    return cases


def _api_cases(scenario: Scenario, client: Client) -> list[Case]:
    first_page = floors.first_page
    lists = [
        ("cycles", "cycle", "", first_page("goals_cycle", "*", "start_date DESC, id")),
        (
            "teams",
            "team",
            "",
            first_page(
                "alignment_team",
                "id, name, slug, parent_id, checkin_weekday, checkin_hour, digest_weekday, "
                "archived_at",
                "name, id",
            ),
        ),
        (
            "people",
            "person",
            "",
            first_page(
                "alignment_user",
                "id, username, first_name, last_name, job_title, manager_id",
                "last_name, first_name, username, id",
                "is_active",
            ),
        ),
        (
            "objectives",
            "objective",
            f"?cycle={scenario.cycle.pk}",
            first_page(
                "goals_objective o JOIN alignment_team t ON t.id = o.team_id "
                "JOIN alignment_user u ON u.id = o.owner_id",
                "o.id, o.title, o.description, o.cycle_id, o.team_id, t.slug AS team_slug, "
                "o.owner_id, u.username AS owner_username, o.kind, o.visibility, o.parent_id, "
                "o.parent_key_result_id, o.parent_weight, o.progress, o.archived_at",
                "o.id",
                "o.cycle_id = %s AND o.visibility = 'public' AND o.archived_at IS NULL",
                [scenario.cycle.pk],
            ),
        ),
        (
            "key-results",
            "key-result",
            f"?cycle={scenario.cycle.pk}",
            first_page(
                "goals_keyresult kr JOIN goals_objective o ON o.id = kr.objective_id "
                "JOIN alignment_user u ON u.id = kr.owner_id",
                "kr.*, u.username AS owner_username",
                "kr.objective_id, kr.position, kr.id",
                "o.cycle_id = %s AND o.visibility = 'public' AND kr.archived_at IS NULL",
                [scenario.cycle.pk],
            ),
        ),
        (
            "check-ins",
            "checkin",
            f"?cycle={scenario.cycle.pk}",
            first_page(
                "checkins_checkin ci JOIN goals_keyresult kr ON kr.id = ci.key_result_id "
                "JOIN goals_objective o ON o.id = kr.objective_id",
                "ci.*",
                "ci.created_at DESC, ci.id DESC",
                "o.cycle_id = %s AND o.visibility = 'public'",
                [scenario.cycle.pk],
            ),
        ),
        (
            "initiatives",
            "initiative",
            "",
            first_page("goals_initiative", "*", "id", "archived_at IS NULL"),
        ),
        (
            "kpis",
            "kpi",
            "",
            first_page(
                "goals_kpi k JOIN alignment_team t ON t.id = k.team_id",
                "k.*, t.slug AS team_slug, ARRAY(SELECT g.objective_id "
                "FROM goals_kpi_guarded_objectives g "
                "JOIN goals_objective o ON o.id = g.objective_id "
                "WHERE g.kpi_id = k.id AND o.visibility = 'public' ORDER BY 1) "
                "AS guarded_objectives",
                "k.id",
                "k.archived_at IS NULL",
            ),
        ),
        (
            "kpi readings",
            "kpi-reading",
            "",
            first_page("goals_kpireading", "*", "read_on DESC", "kpi_id = %s", [scenario.kpi.pk]),
        ),
    ]
    cases = []
    for name, basename, query, floor in lists:
        args = [scenario.kpi.pk] if basename == "kpi-reading" else []
        path = reverse(f"{basename}-list", args=args) + query
        cases.append(
            Case(
                f"API {name}",
                Kind.JSON,
                _getter(client, path),
                _with_null_request(client, floor),
                client,
            )
        )
    return cases


def _admin_case(scenario: Scenario) -> Case:
    client = signed_in(scenario.admin)
    path = reverse("admin:checkins_checkin_changelist")
    return Case(
        "admin: check-ins changelist",
        Kind.PAGE,
        _getter(client, path),
        _with_null_request(client, floors.admin_checkins()),
        client,
    )


def submit_case(scenario: Scenario) -> Case:
    """The lead saves one row of the weekly check-in (htmx), roll-up included; each run
    is rolled back, so every one starts from the same state."""
    client = signed_in(scenario.lead)
    key_result = scenario.key_result
    path = reverse("checkins:row", args=[key_result.pk])
    prefix = f"kr-{key_result.pk}"
    data = {
        f"{prefix}-value": str(key_result.current_value),
        f"{prefix}-confidence": "7",
        f"{prefix}-note": "On it.",
    }

    def run() -> object:
        with transaction.atomic():
            response = client.post(path, data, headers={"HX-Request": "true"})
            if response.status_code != 200 or b"errorlist" in response.content:
                raise UnexpectedStatus(f"POST {path} did not save: {response.status_code}.")
            transaction.set_rollback(True)
        return response

    return Case("check-in submit (with roll-up)", Kind.SUBMIT, run)


def job_cases() -> list[Case]:
    """The organisation-wide jobs: the full roll-up (every stored number stale, and the
    nightly repair that finds them right) and a check-in day's fan-out."""

    def full_rollup(*, stale: bool) -> float:
        writes = QueryCounter(only=lambda sql: sql.startswith("UPDATE"))
        with transaction.atomic():
            if stale:  # untimed: every number of the open cycles needs rewriting
                _make_rolled_up_numbers_stale()
            with connection.execute_wrapper(writes):
                rollup.recompute_all()
            transaction.set_rollback(True)
        return writes.seconds

    def fan_out() -> float:
        with fanout.contained():
            day = fanout.run_day(fanout.next_monday_morning())
        return day.stages["total"].seconds

    return [
        Case(
            "full roll-up, all stale (db writes)",
            Kind.ROLLUP,
            partial(full_rollup, stale=True),
            self_timed=True,
        ),
        Case(
            "nightly roll-up, none stale (db writes)",
            Kind.ROLLUP,
            partial(full_rollup, stale=False),
            self_timed=True,
        ),
        Case("reminder fan-out (plan + send)", Kind.FANOUT, fan_out, self_timed=True, repeat=3),
    ]


def _make_rolled_up_numbers_stale() -> None:
    objectives = Objective.objects.exclude(cycle__state=Cycle.State.CLOSED)
    objectives.update(progress=0, lowest_confidence=None, stalest_checkin_at=None)
    KeyResult.objects.filter(
        objective__in=objectives, progress_source=KeyResult.ProgressSource.ROLLUP
    ).update(progress=0)
