"""The permission matrix: persona × action × objective, through the real URLs.

Reading: public for everyone signed in; private for the team, leads above and admins
(others get 404, as if it did not exist). Writing: the owner, leads of the team or above,
and admins; a closed cycle only admins. A refused write changes nothing.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from goals.models import Cycle, Initiative, KeyResult, Objective
from tests import factories

PERSONAS = ["owner", "teammate", "lead", "outsider", "admin"]
# Expected status of a write, per persona, on a public / private / closed-cycle objective.
WRITE = {
    "public": {"owner": "ok", "teammate": 403, "lead": "ok", "outsider": 403, "admin": "ok"},
    "private": {"owner": "ok", "teammate": 403, "lead": "ok", "outsider": 404, "admin": "ok"},
    "closed": {"owner": 403, "teammate": 403, "lead": 403, "outsider": 403, "admin": "ok"},
}
READ = {
    "public": dict.fromkeys(PERSONAS, 200),
    "private": {"owner": 200, "teammate": 200, "lead": 200, "outsider": 404, "admin": 200},
    "closed": dict.fromkeys(PERSONAS, 200),
}


@pytest.fixture(params=["public", "private", "closed"])
def case(request, org):
    kind = request.param
    cycle = org.cycle
    if kind == "closed":
        cycle = factories.CycleFactory(name="2026 Q3", state=Cycle.State.CLOSED)
    objective = factories.ObjectiveFactory(
        cycle=cycle,
        team=org.product,
        owner=org.owner,
        title="Guarded objective",
        visibility="private" if kind == "private" else "public",
    )
    key_result = factories.KeyResultFactory(objective=objective, title="Guarded KR")
    initiative = factories.InitiativeFactory(key_result=key_result, owner=org.lead)
    return kind, objective, key_result, initiative


def snapshot(objective: Objective) -> tuple:
    return (
        tuple(Objective.objects.filter(pk=objective.pk).values_list("title", "archived_at")),
        tuple(
            KeyResult.objects.filter(objective=objective)
            .order_by("pk")
            .values_list("title", "target_value", "position", "archived_at")
        ),
        tuple(Initiative.objects.order_by("pk").values_list("title", "status")),
    )


def write_requests(objective, key_result, initiative, org):
    """(name, url, data) for every write of the manager's surface."""
    objective_data = {
        "title": "Hijacked",
        "description": "",
        "team": objective.team_id,
        "owner": "owner",
        "cycle": org.cycle.pk,
        "kind": "committed",
        "visibility": "public",
    }
    kr_data = {
        "title": "Hijacked KR",
        "owner": "",
        "kind": "number",
        "unit": "",
        "start_value": "0",
        "target_value": "100",
        "weight": "1",
        "progress_source": "checkins",
        "reason": "",
    }
    prefix = f"initiative-{key_result.pk}"
    return [
        ("edit objective", reverse("goals:objective-edit", args=[objective.pk]), objective_data),
        ("add key result", reverse("goals:key-result-create", args=[objective.pk]), kr_data),
        ("edit key result", reverse("goals:key-result-edit", args=[key_result.pk]), kr_data),
        (
            "move key result",
            reverse("goals:key-result-move", args=[key_result.pk]),
            {"direction": "down"},
        ),
        ("archive key result", reverse("goals:key-result-archive", args=[key_result.pk]), {}),
        (
            "add initiative",
            reverse("goals:initiative-create", args=[key_result.pk]),
            {f"{prefix}-title": "Hijacked work", f"{prefix}-status": "planned"},
        ),
        (
            "edit initiative",
            reverse("goals:initiative-edit", args=[initiative.pk]),
            {"title": "Hijacked work", "status": "done"},
        ),
        # Last: an archived objective takes no more writes.
        ("archive objective", reverse("goals:objective-archive", args=[objective.pk]), {}),
    ]


@pytest.mark.parametrize("persona", PERSONAS)
def test_reading_the_objective_page(org, login, case, persona):
    kind, objective, _, _ = case
    response = login(getattr(org, persona)).get(reverse("goals:objective", args=[objective.pk]))
    assert response.status_code == READ[kind][persona]


@pytest.mark.parametrize("persona", PERSONAS)
def test_writes_are_allowed_or_refused_and_refused_ones_change_nothing(org, login, case, persona):
    kind, objective, key_result, initiative = case
    client = login(getattr(org, persona))
    expected = WRITE[kind][persona]
    for name, url, data in write_requests(objective, key_result, initiative, org):
        before = snapshot(objective)
        response = client.post(url, data)
        if expected == "ok":
            assert response.status_code in (200, 302), f"{name}: {response.status_code}"
            continue
        assert response.status_code == expected, f"{persona} may not {name}"
        assert snapshot(objective) == before, f"{persona}'s refused {name} changed something"
        if expected == 403:
            assert "You can’t do that here" in response.content.decode()


def test_key_result_owner_may_add_initiatives_but_not_edit_the_objective(org, login):
    objective = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.lead)
    key_result = factories.KeyResultFactory(objective=objective, owner=org.teammate)
    client = login(org.teammate)
    prefix = f"initiative-{key_result.pk}"
    client.post(
        reverse("goals:initiative-create", args=[key_result.pk]),
        {f"{prefix}-title": "My work", f"{prefix}-status": "planned"},
    )
    assert Initiative.objects.get().owner == org.teammate
    response = client.get(reverse("goals:objective-edit", args=[objective.pk]))
    assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_login_for_every_page(client, org):
    objective = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner)
    for url in [
        reverse("goals:objective", args=[objective.pk]),
        reverse("goals:objective-create"),
        reverse("goals:objective-edit", args=[objective.pk]),
        reverse("goals:coach-report", args=[org.cycle.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response.url, url
