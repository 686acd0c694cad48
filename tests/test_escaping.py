"""What people type is shown as text, never run as markup: every text field of goals,
check-ins and alignment, filled with HTML, attribute injections (``hx-get`` among them),
template syntax and unusual Unicode, comes out of every page escaped, and out of the API
verbatim as JSON.

The fields are found, not listed: every ``CharField`` and ``TextField`` (URL and e-mail
fields included) of those apps' models, less fields with choices (their values come from
a fixed list), the historical copies (filled here alongside their originals, as the
history pages show them) and ``NOT_TYPED``. So a new text field is covered on its own, and
one that no page shows must be named in ``NOT_SHOWN``, saying where it goes instead.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from knox.models import AuthToken

from checkins.models import ActionItem
from goals.models import Dependency, GoalpostChange, Reflection
from tests import factories
from tests.routes import admin_urls, is_api, path_of, routes

pytestmark = pytest.mark.django_db

APPS = ("goals", "checkins", "alignment")
NOT_TYPED = {
    "alignment.User.password": "a hash, never shown",
    "alignment.User.username": "names a person in URLs: letters, digits and @.+-_ only",
    "alignment.Team.slug": "names a team in URLs: a slug",
    "checkins.Nudge.period": "an ISO week the app computes",
    "checkins.Nudge.scope": "a key the app computes",
    "checkins.Nudge.subject": "composed by the app from its e-mail templates",
    "checkins.Nudge.body": "composed by the app from its e-mail templates",
    "checkins.Nudge.html_body": "composed by the app from its e-mail templates, HTML by design",
    "checkins.Nudge.last_error": "the mail server's answer, shown in the admin only",
}
# Fields no page of the site or the admin shows; where they go instead.
NOT_SHOWN: dict[str, str] = {}


def _text_fields() -> list[tuple[type[models.Model], models.Field]]:
    found = []
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            if model.__name__.startswith("Historical"):
                continue
            for field in model._meta.concrete_fields:
                label = f"{model._meta.label}.{field.name}"
                if (
                    isinstance(field, models.CharField | models.TextField)
                    and not field.choices
                    and label not in NOT_TYPED
                ):
                    found.append((model, field))
    return found


FIELDS = _text_fields()

# The payloads, and what no page may contain raw whatever surrounds or truncates them: the
# start of a tag or an attribute only a payload brings (each with a character escaping
# changes, so that the escaped form never matches).
PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)' x='",
    '" hx-get="/pwned" hx-trigger="load',
    "<b>bold</b></textarea></title>",
    "{{ 7|add:35 }}{% now 'Y' %}{% csrf_token %}",
    "Ünïcødé ✓ 🚀 \u202eRTL\u202c zero\u200bwidth 中文 &amp; & <",
)
SIGNATURES = (
    "<script>alert",
    "<img src=x",
    "onmouseover='alert",
    'hx-get="/pwned"',
    "<b>bold",
    "</textarea></title>",
)
COMBINED = "".join(PAYLOADS[:5]) + PAYLOADS[6] + PAYLOADS[5]
UNSAFE = set("<>&\"'")
assert all(UNSAFE & set(signature) for signature in SIGNATURES)


def _tag(index: int) -> str:
    """Marks which field a value came from; nothing escaping changes."""
    return f"⟦{index:02d}⟧"


def _values(payload: str) -> dict[str, str]:
    """Each field's value: its tag and ``payload``, cut to the field's length."""
    values = {}
    for index, (model, field) in enumerate(FIELDS):
        value = _tag(index) + payload
        values[f"{model._meta.label}.{field.name}"] = value[: field.max_length]
    return values


def _write(values: dict[str, str]) -> None:
    """Every row's text fields hold the values, in the historical copies too."""
    for model, field in FIELDS:
        value = values[f"{model._meta.label}.{field.name}"]
        model._base_manager.update(**{field.name: value})
        history = getattr(model, "history", None)
        if history is not None:
            history.model._base_manager.update(**{field.name: value})


@pytest.fixture
def rows(org):
    """Something in every text field, all of it readable by the lead of Product, in a
    cycle whose grading window is open (grades, their reasons and reflections show)."""
    today = timezone.localdate()
    org.cycle.start_date, org.cycle.end_date = today - dt.timedelta(80), today + dt.timedelta(10)
    org.cycle.save()
    objective = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.lead)
    theirs = factories.ObjectiveFactory(cycle=org.cycle, team=org.sales, owner=org.outsider)
    key_result = factories.KeyResultFactory(
        objective=objective, owner=org.lead, unit="%", grade=Decimal("0.7")
    )
    owners = factories.KeyResultFactory(objective=objective, owner=org.owner)
    GoalpostChange.objects.create(
        key_result=key_result,
        field=GoalpostChange.Field.TARGET,
        old_value=Decimal(90),
        new_value=Decimal(100),
        reason="x",
        changed_by=org.lead,
    )
    initiative = factories.InitiativeFactory(key_result=key_result, link="https://example.org/")
    kpi = factories.KpiFactory(team=org.product, unit="ms", description="x")
    factories.KpiReadingFactory(kpi=kpi)
    kpi.guarded_objectives.add(objective)
    checkin = factories.CheckInFactory(key_result=key_result, note="x", blocker="x")
    factories.CheckInFactory(key_result=owners, note="x", blocker="x")
    now = timezone.now()
    Dependency.objects.create(
        requesting_objective=objective,
        providing_team=org.sales,
        providing_objective=theirs,
        requested_by=org.lead,
        description="x",
        needed_by=today + dt.timedelta(days=5),
        state=Dependency.State.ACCEPTED,
        response_note="x",
        responded_by=org.outsider,
        responded_at=now,
    )
    for asking, asked, by in (
        (objective, org.sales, org.lead),
        (theirs, org.product, org.outsider),
    ):
        # Waiting for an answer: the forms to answer and to withdraw show.
        Dependency.objects.create(
            requesting_objective=asking,
            providing_team=asked,
            requested_by=by,
            description="x",
            needed_by=today + dt.timedelta(days=3),
        )
    Reflection.objects.create(objective=objective, author=org.lead)
    factories.WeeklyUpdateFactory(author=org.lead)
    factories.WeeklyUpdateFactory(author=org.owner)
    one_on_one = factories.OneOnOneFactory(manager=org.lead, report=org.owner, notes="x")
    token, _ = AuthToken.objects.create(user=org.lead)
    ActionItem.objects.create(one_on_one=one_on_one, text="x", owner=org.owner)
    org.product.webhook_url = "https://chat.example.org/hook"
    org.product.save()
    return {
        "org": org,
        "cycle": org.cycle,
        "team": org.product,
        "person": org.lead,
        "objective": objective,
        "key_result": key_result,
        "initiative": initiative,
        "kpi": kpi,
        "checkin": checkin,
        "dependency": Dependency.objects.filter(requesting_objective=objective).first(),
        "one_on_one": one_on_one,
        "action_item": one_on_one.action_items.get(),
        "api_token": token,
    }


def _pages(rows: dict) -> list[str]:
    """Every page of the site read with GET, filled with the fixture's rows."""
    return [
        path_of(route, rows)
        for route in routes()
        if not route.startswith("admin/") and not is_api(route)
    ]


def _unescaped(html: str, values: dict[str, str]) -> list[str]:
    """The fields whose value shows raw in ``html``, and the payload signatures that do."""
    raw = [label for label, value in values.items() if UNSAFE & set(value) and value in html]
    return raw + [signature for signature in SIGNATURES if signature in html]


def _get(client: Client, url: str, **headers) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code < 500, url
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def test_every_page_shows_every_text_field_escaped(rows, login):
    """Each page of the site (as a page and as an htmx fragment) and of the admin, with
    every text field holding all the payloads at once: nothing shows raw, and every field
    shows, in full and escaped, somewhere."""
    values = _values(COMBINED)
    _write(values)
    org = rows["org"]
    shown: set[str] = set()
    escaped = {label: escape(value) for label, value in values.items()}
    requests = [
        (login(org.lead), url, headers)
        for url in _pages(rows)
        for headers in ({}, {"HX-Request": "true"})
    ]
    admin = Client()
    admin.force_login(org.admin)
    requests += [(admin, url, {}) for url in admin_urls()]
    for client, url, headers in requests:
        html = _get(client, url, **headers)
        assert not _unescaped(html, values), f"{url} {headers}: {_unescaped(html, values)}"
        shown |= {label for label, value in escaped.items() if value in html}
    missing = set(values) - shown - set(NOT_SHOWN)
    assert not missing, f"shown nowhere in full (add a page, or say why in NOT_SHOWN): {missing}"
    assert len(requests) > 150


# The pages people read every day, for the property test: the objective and its
# fragments, my week, the weekly check-in, the team, the tree, the review, a one-to-one.
def _daily_pages(rows: dict) -> list[tuple[str, dict]]:
    cycle, team = rows["cycle"], rows["team"]
    objective, key_result = rows["objective"], rows["key_result"]
    htmx = {"HX-Request": "true"}
    return [
        (reverse("goals:home"), {}),
        (objective.get_absolute_url(), {}),
        (reverse("goals:key-result", args=[key_result.pk]), htmx),
        (reverse("goals:objective-history", args=[objective.pk]), htmx),
        (reverse("checkins:history", args=[key_result.pk]), {}),
        (reverse("checkins:weekly"), {}),
        (reverse("goals:team", args=[team.slug]), {}),
        (reverse("alignment:tree", args=[cycle.pk]), {}),
        (reverse("alignment:tree-team", args=[cycle.pk, team.pk]), htmx),
        (reverse("checkins:team-review", args=[team.slug]), {}),
        (reverse("checkins:one-on-one", args=[rows["one_on_one"].pk]), {}),
        (reverse("goals:retrospective", args=[cycle.pk, team.slug]), {}),
        (reverse("goals:kpi", args=[rows["kpi"].pk]), {}),
    ]


# What the API answers for each of its rows: a field's value comes back as it was typed.
API_ROWS = {
    "objective-detail": "objective",
    "key-result-detail": "key_result",
    "initiative-detail": "initiative",
    "kpi-detail": "kpi",
    "checkin-detail": "checkin",
    "cycle-detail": "cycle",
    "team-detail": "team",
    "person-detail": "person",
}

# Text that people type: any Unicode but control characters (which forms refuse and
# PostgreSQL cannot store in text) and lone surrogates.
typed = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=12)


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(before=typed, payload=st.sampled_from(PAYLOADS), after=typed)
def test_typed_text_never_runs_as_markup(rows, login, before, payload, after):
    """Any text around each payload, in every field: the daily pages show none of it raw,
    and the API gives each value back verbatim, as JSON (not HTML-escaped)."""
    values = _values(before + payload + after)
    _write(values)
    client = login(rows["org"].lead)
    for url, headers in _daily_pages(rows):
        html = _get(client, url, **headers)
        assert not _unescaped(html, values), f"{url}: {_unescaped(html, values)}"
    compared = 0
    for name, kind in API_ROWS.items():
        row = rows[kind]
        response = client.get(reverse(name, args=[row.pk]))
        assert response.status_code == 200, name
        assert response["Content-Type"].split(";")[0] == "application/json", name
        body = json.loads(response.content)
        for field_label, value in values.items():
            label, field_name = field_label.rsplit(".", 1)
            if label == row._meta.label and field_name in body:
                assert body[field_name] == value, (name, field_name, body[field_name])
                compared += 1
    assert compared >= 12  # titles, descriptions, notes, names… not an empty comparison
