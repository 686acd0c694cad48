"""A script using only the documented API, as an integrator would write it: with a
personal API token, it sets up a cycle and a small cascade, checks in, and reads the
progress back, rolled up to the company objective. Every URL it uses is in the schema."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

API = "/api/v1"


class Script:
    """JSON over HTTP with a token header; remembers which operations it used."""

    def __init__(self, token: str):
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        self.used: set[tuple[str, str]] = set()

    def call(self, method: str, path: str, data: dict | None = None, *, expect: int = 200):
        self.used.add((method, re.sub(r"/\d+/", "/{id}/", path)))
        response = getattr(self.client, method)(path, data, format="json")
        assert response.status_code == expect, response.json()
        return response.json()

    def create(self, endpoint: str, data: dict) -> dict:
        return self.call("post", f"{API}/{endpoint}/", data, expect=201)


def test_script_builds_a_cascade_checks_in_and_reads_rolled_up_progress(org):
    _, token = AuthToken.objects.create(org.admin)
    script = Script(token)
    today = timezone.localdate()

    # A cycle, planned first and then started.
    cycle = script.create(
        "cycles",
        {
            "name": "2027 Q1",
            "start_date": (today - dt.timedelta(days=10)).isoformat(),
            "end_date": (today + dt.timedelta(days=80)).isoformat(),
        },
    )
    assert cycle["state"] == "planning"
    cycle = script.call("patch", f"{API}/cycles/{cycle['id']}/", {"state": "active"})
    assert cycle["state"] == "active"

    # The company objective: one key result rolls up from the team's objective.
    company = script.create(
        "objectives",
        {
            "title": "Riders choose us first",
            "cycle": cycle["id"],
            "team": org.company.pk,
            "owner": org.lead.pk,
        },
    )
    rolled_up = script.create(
        "key-results",
        {
            "objective": company["id"],
            "title": "Onboarding is delightful",
            "start_value": 0,
            "target_value": 1,
            "progress_source": "rollup",
        },
    )
    referrals = script.create(
        "key-results",
        {
            "objective": company["id"],
            "title": "Referral deals",
            "start_value": 0,
            "target_value": 8,
        },
    )

    # The team objective, aligned to the company's key result.
    team = script.create(
        "objectives",
        {
            "title": "Onboard riders in a minute",
            "cycle": cycle["id"],
            "team": org.product.pk,
            "owner": org.owner.pk,
            "parent": company["id"],
            "parent_key_result": rolled_up["id"],
        },
    )
    activations = script.create(
        "key-results",
        {
            "objective": team["id"],
            "title": "Weekly activations from 0 to 200",
            "start_value": "0",
            "target_value": "200",
            "weight": "3",
        },
    )
    drop_off = script.create(
        "key-results",
        {
            "objective": team["id"],
            "title": "Sign-up drop-off from 80% to 40%",
            "kind": "percent",
            "unit": "%",
            "start_value": "80",
            "target_value": "40",
        },
    )
    assert activations["owner"] == drop_off["owner"] == org.owner.pk  # the objective's owner

    # The week's check-ins.
    for key_result, value, confidence, blocker in [
        (activations, "100", 7, ""),
        (drop_off, "50", 5, "Waiting for the analytics export"),
        (referrals, "2", 6, ""),
    ]:
        checkin = script.create(
            "check-ins",
            {
                "key_result": key_result["id"],
                "value": value,
                "confidence": confidence,
                "note": "Weekly update from the script",
                "blocker": blocker,
            },
        )
        assert checkin["key_result"] == key_result["id"]

    # Progress read back: 100 of 200 → 0.5; 80 → 50 of 80 → 40 → 0.75; weighted 3:1 →
    # 0.5625, which the company's roll-up key result takes; with 2 of 8 (0.25) → 0.40625.
    team_krs = script.call("get", f"{API}/key-results/", {"objective": team["id"]})["results"]
    assert [
        (kr["title"], kr["current_value"], kr["confidence"], kr["progress"]) for kr in team_krs
    ] == [
        ("Weekly activations from 0 to 200", "100.0000", 7, 0.5),
        ("Sign-up drop-off from 80% to 40%", "50.0000", 5, 0.75),
    ]
    assert script.call("get", f"{API}/objectives/{team['id']}/")["progress"] == 0.5625
    assert script.call("get", f"{API}/key-results/{rolled_up['id']}/")["progress"] == 0.5625
    assert script.call("get", f"{API}/key-results/{referrals['id']}/")["progress"] == 0.25
    assert script.call("get", f"{API}/objectives/{company['id']}/")["progress"] == 0.40625
    children = script.call("get", f"{API}/objectives/", {"parent": company["id"]})["results"]
    assert [child["id"] for child in children] == [team["id"]]

    # Every operation the script used is documented.
    schema = script.client.get("/api/schema/", {"format": "json"}).json()
    undocumented = {
        (method, path)
        for method, path in script.used
        if method not in schema["paths"].get(path, {})
    }
    assert not undocumented
