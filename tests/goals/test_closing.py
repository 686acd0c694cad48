"""Closing a cycle, carrying its unfinished objectives forward and opening the next one;
and a closed cycle refusing every write, from pages, admin and API alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from alignment.models import Membership
from checkins.models import Nudge
from checkins.planning import plan_planning_reminders
from checkins.tasks import run_nudges
from goals import services
from goals.access import CLOSED_CYCLE
from goals.models import Cycle, KeyResult, Objective, Reflection
from tests import factories

API = "/api/v1"


@pytest.fixture
def ceo(org):
    """A lead of the company team: leads every team, is no admin."""
    person = factories.UserFactory(username="ceo", first_name="Cleo")
    factories.MembershipFactory(user=person, team=org.company, role=Membership.Role.LEAD)
    return person


def _objective(org, *, team=None, owner=None, cycle=None, **fields) -> Objective:
    return factories.ObjectiveFactory(
        cycle=cycle or org.cycle, team=team or org.product, owner=owner or org.owner, **fields
    )


def _key_result(objective, *, current, start=0, target=100, **fields) -> KeyResult:
    key_result = KeyResult(
        objective=objective,
        title=fields.pop("title", "Weekly riders"),
        start_value=Decimal(start),
        target_value=Decimal(target),
        current_value=Decimal(current),
        **fields,
    )
    return services.key_result_save(key_result=key_result)


def _close(org, cycle=None) -> Cycle:
    return services.cycle_close(cycle=cycle or org.cycle, actor=org.admin)


# Closing


@pytest.mark.parametrize("who", ["admin", "ceo"])
def test_admins_and_company_leads_close_a_cycle(org, ceo, login, who):
    person = org.admin if who == "admin" else ceo
    response = login(person).post(reverse("goals:cycle-close", args=[org.cycle.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("goals:carry-over", args=[org.cycle.pk])
    org.cycle.refresh_from_db()
    assert org.cycle.state == Cycle.State.CLOSED
    assert org.cycle.closed_by == person
    assert org.cycle.closed_at is not None


@pytest.mark.parametrize("who", ["lead", "owner", "outsider"])
def test_team_leads_and_members_may_not_close(org, login, who):
    client = login(getattr(org, who))
    for method in (client.get, client.post):
        response = method(reverse("goals:cycle-close", args=[org.cycle.pk]))
        assert response.status_code == 403
        assert b"Only admins and the company" in response.content
    org.cycle.refresh_from_db()
    assert org.cycle.state == Cycle.State.ACTIVE


def test_closing_twice_is_refused(org):
    _close(org)
    with pytest.raises(ValidationError, match="already closed"):
        _close(org)


def test_close_page_lists_ungraded_key_results_per_team_and_missing_reflections(org, ceo, login):
    graded = _objective(org, title="Riders love the app")
    _key_result(graded, current=80, grade=Decimal("0.8"))
    Reflection.objects.create(objective=graded, author=org.owner, learned="Ship smaller.")
    open_one = _objective(org, title="Faster checkout")
    _key_result(open_one, current=30)
    _key_result(open_one, current=50, grade=Decimal("0.5"))
    sales = _objective(org, team=org.sales, owner=org.outsider, title="More dealers")
    _key_result(sales, current=10)

    response = login(ceo).get(reverse("goals:cycle-close", args=[org.cycle.pk]))

    assert response.status_code == 200
    rows = {row["objective__team__slug"]: row for row in response.context["ungraded"]}
    assert {slug: (row["ungraded"], row["total"]) for slug, row in rows.items()} == {
        "product": (1, 3),
        "sales": (1, 1),
    }
    assert [o.title for o in response.context["unreflected"]] == [
        "Faster checkout",
        "More dealers",
    ]
    assert b'name="confirm"' in response.content


def test_closing_with_open_items_needs_the_confirmation(org, ceo, login):
    _key_result(_objective(org), current=30)
    client = login(ceo)
    url = reverse("goals:cycle-close", args=[org.cycle.pk])

    response = client.post(url)
    assert response.status_code == 400
    assert "tick the box to close the cycle anyway" in response.content.decode()
    org.cycle.refresh_from_db()
    assert not org.cycle.is_closed

    response = client.post(url, {"confirm": "1"}, follow=True)
    assert "is closed: its goals are read-only now" in response.content.decode()
    org.cycle.refresh_from_db()
    assert org.cycle.is_closed


def test_close_page_of_a_closed_cycle_leads_to_carrying_forward(org, ceo, login):
    _close(org)
    response = login(ceo).get(reverse("goals:cycle-close", args=[org.cycle.pk]))
    assert response["Location"] == reverse("goals:carry-over", args=[org.cycle.pk])


# Carrying forward


@pytest.fixture
def next_cycle(org):
    start = org.cycle.end_date + dt.timedelta(days=1)
    return factories.CycleFactory(
        name="2027 Q1",
        start_date=start,
        end_date=start + dt.timedelta(days=90),
        state=Cycle.State.PLANNING,
    )


def test_carry_forward_copies_the_objective_with_baselines_at_the_old_values(org, next_cycle):
    parent = _objective(org, team=org.company, owner=org.lead, title="Grow riders")
    parent_kr = _key_result(parent, current=40, title="Riders")
    old = _objective(
        org,
        title="Faster checkout",
        description="Because it hurts.",
        kind=Objective.Kind.ASPIRATIONAL,
        visibility=Objective.Visibility.PRIVATE,
        parent=parent,
        parent_key_result=parent_kr,
    )
    first = _key_result(old, current=35, start=10, target=60, unit="s", weight=Decimal(2))
    done = _key_result(old, current=100, title="Done already")
    archived = _key_result(old, current=5, title="Dropped")
    services.key_result_archive(key_result=archived)
    assert done.progress == 1.0
    _close(org)

    [copy] = services.objective_carry_forward(objectives=[old], into=next_cycle, actor=org.lead)

    copy.refresh_from_db()
    assert copy.cycle == next_cycle
    assert copy.carried_from == old
    assert (copy.team, copy.owner, copy.title, copy.description) == (
        old.team,
        old.owner,
        old.title,
        old.description,
    )
    assert (copy.kind, copy.visibility) == (old.kind, old.visibility)
    assert copy.parent is None and copy.parent_key_result is None  # parent not carried
    [kr] = copy.key_results.all()
    assert (kr.title, kr.owner, kr.unit, kr.weight) == (first.title, first.owner, "s", 2)
    assert kr.start_value == Decimal(35) == kr.current_value
    assert kr.target_value == Decimal(60)
    assert kr.progress == 0.0
    assert kr.grade is None
    old.refresh_from_db()
    assert old.cycle == org.cycle  # the original stays as it was


def test_carry_forward_re_links_the_parent_carried_in_the_same_call(org, next_cycle):
    parent = _objective(org, team=org.company, owner=org.lead, title="Grow riders")
    parent_kr = _key_result(parent, current=40, title="Riders")
    child = _objective(org, parent=parent, parent_key_result=parent_kr, title="Child")
    _key_result(child, current=20)
    _close(org)

    child_copy, parent_copy = services.objective_carry_forward(
        objectives=[child, parent], into=next_cycle, actor=org.admin
    )

    child_copy.refresh_from_db()
    assert child_copy.parent == parent_copy
    assert child_copy.parent_key_result == parent_copy.key_results.get()
    assert child_copy.parent_key_result.start_value == Decimal(40)


def test_an_objective_is_not_carried_twice(org, next_cycle, login):
    old = _objective(org, title="Faster checkout")
    _key_result(old, current=20)
    _close(org)
    services.objective_carry_forward(objectives=[old], into=next_cycle, actor=org.lead)

    with pytest.raises(ValidationError, match="Already carried into 2027 Q1"):
        services.objective_carry_forward(objectives=[old], into=next_cycle, actor=org.lead)

    client = login(org.lead)
    page = client.get(reverse("goals:carry-over", args=[org.cycle.pk]))
    assert f'value="{old.pk}"'.encode() not in page.content
    assert "carried into" in page.content.decode()
    response = client.post(
        reverse("goals:carry-over", args=[org.cycle.pk]),
        {"objective": [old.pk], "into": next_cycle.pk},
    )
    assert response.status_code == 400
    assert Objective.objects.filter(carried_from=old).count() == 1


def test_carry_over_page_carries_the_chosen_objectives(org, next_cycle, login):
    one = _objective(org, title="Faster checkout")
    _key_result(one, current=20)
    two = _objective(org, title="Happier riders")
    _key_result(two, current=90)
    finished = _objective(org, title="Finished")
    _key_result(finished, current=100)
    _close(org)
    client = login(org.lead)
    url = reverse("goals:carry-over", args=[org.cycle.pk])

    page = client.get(url)
    offered = [o.pk for g in page.context["groups"] for o in g["objectives"]]
    assert sorted(offered) == sorted([one.pk, two.pk])  # the finished one is not offered

    response = client.post(url, {"objective": [one.pk, two.pk], "into": next_cycle.pk}, follow=True)

    copies = Objective.objects.filter(cycle=next_cycle).order_by("title")
    assert [c.carried_from for c in copies] == [one, two]
    content = response.content.decode()
    assert "Carried into 2027 Q1" in content
    assert f'href="/objectives/{copies[0].pk}/"' in content
    assert "carried into" in content


def test_a_graded_objective_below_one_is_unfinished_even_at_full_progress(org, next_cycle, login):
    honest = _objective(org, title="Hit the number, missed the point")
    _key_result(honest, current=100, grade=Decimal("0.6"), grade_reason="Wrong metric")
    _close(org)
    page = login(org.lead).get(reverse("goals:carry-over", args=[org.cycle.pk]))
    assert [o.pk for g in page.context["groups"] for o in g["objectives"]] == [honest.pk]


def test_carry_over_can_create_the_next_cycle(org, ceo, login):
    org.cycle.name = "2026 Q4"
    org.cycle.save()
    old = _objective(org)
    _key_result(old, current=20)
    _close(org)

    response = login(ceo).post(
        reverse("goals:carry-over", args=[org.cycle.pk]), {"objective": [old.pk], "into": "new"}
    )

    assert response.status_code == 302
    created = Cycle.objects.get(name="2027 Q1")
    assert created.start_date == org.cycle.end_date + dt.timedelta(days=1)
    assert Objective.objects.get(carried_from=old).cycle == created


def test_team_leads_may_not_create_the_next_cycle_while_carrying(org, login):
    old = _objective(org)
    _key_result(old, current=20)
    _close(org)
    client = login(org.lead)
    page = client.get(reverse("goals:carry-over", args=[org.cycle.pk]))
    assert not page.context["can_create"]
    response = client.post(
        reverse("goals:carry-over", args=[org.cycle.pk]), {"objective": [old.pk], "into": "new"}
    )
    assert response.status_code == 400
    assert not Cycle.objects.filter(name="2027 Q1").exists()


@pytest.mark.parametrize(
    ("who", "product", "sales"),
    [
        ("admin", True, True),
        ("ceo", True, True),
        ("lead", True, False),  # leads Product only
        ("owner", False, False),
        ("outsider", False, False),
    ],
)
def test_who_may_carry_which_objectives(org, ceo, next_cycle, login, who, product, sales):
    product_objective = _objective(org, title="Product goal")
    sales_objective = _objective(org, team=org.sales, owner=org.outsider, title="Sales goal")
    _close(org)
    person = ceo if who == "ceo" else getattr(org, who)
    client = login(person)
    url = reverse("goals:carry-over", args=[org.cycle.pk])

    page = client.get(url)
    offered = {o.pk for g in page.context["groups"] for o in g["objectives"]}
    assert (product_objective.pk in offered, sales_objective.pk in offered) == (product, sales)

    client.post(
        url, {"objective": [product_objective.pk, sales_objective.pk], "into": next_cycle.pk}
    )
    carried = set(Objective.objects.filter(cycle=next_cycle).values_list("carried_from", flat=True))
    expected = {pk for pk, ok in [(product_objective.pk, product), (sales_objective.pk, sales)]}
    assert carried == {pk for pk in expected if pk in offered}


def test_nothing_is_carried_from_a_cycle_still_running(org, login):
    response = login(org.admin).get(reverse("goals:carry-over", args=[org.cycle.pk]))
    assert response.status_code == 403
    assert b"once their cycle is closed or has ended" in response.content


def test_an_ended_cycle_can_be_carried_from_before_it_is_closed(org, login):
    org.cycle.start_date = timezone.localdate() - dt.timedelta(days=100)
    org.cycle.end_date = timezone.localdate() - dt.timedelta(days=2)
    org.cycle.save()
    _objective(org)
    response = login(org.lead).get(reverse("goals:carry-over", args=[org.cycle.pk]))
    assert response.status_code == 200
    assert len(response.context["groups"]) == 1


def test_close_and_carry_over_pages_run_a_fixed_number_of_queries(
    org, ceo, login, django_assert_max_num_queries
):
    def grow(count: int) -> None:
        for _ in range(count):
            team = factories.TeamFactory(parent=org.company)
            objective = _objective(org, team=team)
            _key_result(objective, current=10)
            _key_result(objective, current=20)

    client = login(ceo)

    def measure(name: str) -> int:
        with django_assert_max_num_queries(20) as captured:
            assert client.get(reverse(name, args=[org.cycle.pk])).status_code == 200
        return len(captured)

    grow(2)
    small = measure("goals:cycle-close")
    grow(40)
    assert measure("goals:cycle-close") == small

    _close(org)
    small = measure("goals:carry-over")
    grow(40)
    assert measure("goals:carry-over") == small


# The next cycle and its planning reminders


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("2026 Q4", "2027 Q1"),
        ("2027 Q1", "2027 Q2"),
        ("2027 Q3", "2027 Q4"),
        ("FY26 H2", "FY26 H2 (next)"),
    ],
)
def test_the_next_cycle_is_named_after_this_one(name, expected):
    assert services.next_cycle_name(name) == expected


def test_next_cycle_has_the_same_length_and_starts_the_day_after(org):
    created = services.cycle_create_next(cycle=org.cycle, actor=org.admin)
    assert created.name == "2027 Q1"
    assert created.start_date == org.cycle.end_date + dt.timedelta(days=1)
    assert created.end_date - created.start_date == org.cycle.end_date - org.cycle.start_date
    assert created.state == Cycle.State.PLANNING


def test_planning_reminders_go_once_to_leads_and_owners(org, ceo, login, settings):
    _objective(org, owner=org.owner)
    _objective(org, team=org.sales, owner=org.outsider)
    client = login(ceo)

    response = client.post(reverse("goals:cycle-next", args=[org.cycle.pk]), follow=True)

    created = Cycle.objects.get(name="2027 Q1")
    assert "2027 Q1 is created, in planning; 4 new reminders" in response.content.decode()
    nudges = Nudge.objects.filter(kind=Nudge.Kind.PLANNING)
    assert sorted(n.recipient.username for n in nudges) == ["ceo", "lead", "outsider", "owner"]
    assert {n.period for n in nudges} == {f"cycle:{created.pk}"}
    # Again, from the page or the planner: nobody gets a second one.
    client.post(reverse("goals:cycle-next", args=[org.cycle.pk]))
    assert plan_planning_reminders(created, now=timezone.now(), previous=org.cycle) == 0
    assert nudges.count() == 4

    mail.outbox.clear()
    run_nudges()
    run_nudges()

    assert sorted(m.to[0] for m in mail.outbox) == [
        "ceo@example.org",
        "lead@example.org",
        "outsider@example.org",
        "owner@example.org",
    ]
    message = next(m for m in mail.outbox if m.to == ["owner@example.org"])
    assert message.subject == "2027 Q1: time to draft your objectives"
    assert "Please draft your objectives" in message.body
    assert f"/cycles/{created.pk}/" in message.body
    assert "2026 Q4" in message.body


def test_only_admins_and_company_leads_plan_the_next_cycle(org, login):
    response = login(org.lead).post(reverse("goals:cycle-next", args=[org.cycle.pk]))
    assert response.status_code == 403
    assert not Cycle.objects.filter(name="2027 Q1").exists()


def test_cycle_overview_links_the_end_of_cycle_pages_for_those_allowed(org, ceo, login):
    url = reverse("goals:cycle", args=[org.cycle.pk])
    content = login(ceo).get(url).content.decode()
    assert "Close the cycle" in content and "Plan the next cycle" in content
    assert "Close the cycle" not in login(org.lead).get(url).content.decode()


# A closed cycle refuses every write


@pytest.fixture
def closed(org):
    objective = _objective(org)
    key_result = _key_result(objective, current=20)
    initiative = factories.InitiativeFactory(key_result=key_result)
    _close(org)
    return objective, key_result, initiative


def _page_writes(objective, key_result, initiative) -> list[tuple[str, str, dict]]:
    return [
        ("get", reverse("goals:objective-edit", args=[objective.pk]), {}),
        ("post", reverse("goals:objective-edit", args=[objective.pk]), {"title": "x"}),
        ("post", reverse("goals:objective-archive", args=[objective.pk]), {}),
        ("get", reverse("goals:key-result-create", args=[objective.pk]), {}),
        ("post", reverse("goals:key-result-create", args=[objective.pk]), {"title": "x"}),
        ("get", reverse("goals:key-result-edit", args=[key_result.pk]), {}),
        ("post", reverse("goals:key-result-edit", args=[key_result.pk]), {"title": "x"}),
        ("post", reverse("goals:key-result-move", args=[key_result.pk]), {"up": "1"}),
        ("post", reverse("goals:key-result-archive", args=[key_result.pk]), {}),
        ("post", reverse("goals:initiative-create", args=[key_result.pk]), {}),
        ("post", reverse("goals:initiative-edit", args=[initiative.pk]), {"title": "x"}),
        ("post", reverse("alignment:align", args=[objective.pk]), {}),
        ("post", reverse("alignment:supports", args=[objective.pk]), {}),
        ("post", reverse("alignment:dependency-request", args=[objective.pk]), {}),
    ]


@pytest.mark.parametrize("who", ["owner", "lead"])
def test_closed_cycle_pages_refuse_writes_with_the_reason(org, closed, login, who):
    client = login(getattr(org, who))
    failures = []
    for method, url, data in _page_writes(*closed):
        response = getattr(client, method)(url, data)
        if response.status_code != 403 or CLOSED_CYCLE not in response.content.decode():
            failures.append((method, url, response.status_code))
    assert failures == []
    objective, key_result, _ = closed
    objective.refresh_from_db()
    key_result.refresh_from_db()
    assert objective.archived_at is None and key_result.current_value == Decimal(20)


@pytest.mark.parametrize("who", ["owner", "lead"])
def test_closed_cycle_check_in_page_refuses_with_the_reason(org, closed, login, who):
    _, key_result, _ = closed
    response = login(getattr(org, who)).post(
        reverse("checkins:row", args=[key_result.pk]), {"value": "30", "confidence": "5"}
    )
    assert response.status_code == 403
    assert CLOSED_CYCLE in response.content.decode()


@pytest.mark.parametrize("who", ["owner", "lead"])
def test_closed_cycle_check_in_api_refuses_with_the_reason(org, closed, who):
    _, key_result, _ = closed
    api = APIClient()
    api.force_authenticate(getattr(org, who))
    response = api.post(
        f"{API}/check-ins/", {"key_result": key_result.pk, "value": 30, "confidence": 5}
    )
    assert response.status_code == 403
    assert CLOSED_CYCLE in response.content.decode()


@pytest.mark.parametrize("who", ["owner", "lead"])
def test_closed_cycle_api_refuses_writes_with_the_reason(org, closed, who):
    objective, key_result, initiative = closed
    api = APIClient()
    api.force_authenticate(getattr(org, who))
    writes = [
        ("patch", f"{API}/objectives/{objective.pk}/", {"title": "x"}),
        ("delete", f"{API}/objectives/{objective.pk}/", {}),
        (
            "post",
            f"{API}/objectives/",
            {"title": "x", "team": org.product.pk, "cycle": org.cycle.pk},
        ),
        ("patch", f"{API}/key-results/{key_result.pk}/", {"title": "x"}),
        (
            "post",
            f"{API}/key-results/",
            {"objective": objective.pk, "title": "x", "start_value": 0, "target_value": 5},
        ),
        ("patch", f"{API}/initiatives/{initiative.pk}/", {"title": "x"}),
        ("post", f"{API}/initiatives/", {"key_result": key_result.pk, "title": "x"}),
    ]
    failures = []
    for method, url, data in writes:
        response = getattr(api, method)(url, data, format="json")
        if response.status_code != 403 or CLOSED_CYCLE not in response.content.decode():
            failures.append((method, url, response.status_code, response.content[:120]))
    assert failures == []


def test_admins_may_still_correct_a_closed_cycle(org, closed, login):
    objective, _, _ = closed
    response = login(org.admin).post(
        reverse("goals:objective-edit", args=[objective.pk]),
        {
            "title": "Corrected",
            "cycle": org.cycle.pk,
            "team": org.product.pk,
            "owner": org.owner.username,
            "kind": objective.kind,
            "visibility": objective.visibility,
        },
    )
    assert response.status_code in (200, 302)


@pytest.fixture
def staff(org):
    person = factories.UserFactory(username="staff", is_staff=True)
    person.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="goals",
            codename__in=[
                f"{action}_{model}"
                for action in ("view", "change", "add")
                for model in ("objective", "keyresult", "initiative")
            ],
        )
    )
    return person


def test_admin_change_forms_are_read_only_for_staff_in_a_closed_cycle(org, closed, staff, login):
    objective, key_result, initiative = closed
    client = login(staff)
    pages = [
        reverse("admin:goals_objective_change", args=[objective.pk]),
        reverse("admin:goals_keyresult_change", args=[key_result.pk]),
        reverse("admin:goals_initiative_change", args=[initiative.pk]),
    ]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200
        assert page.context["has_change_permission"] is False, url
        assert client.post(url, {"title": "x"}).status_code == 403, url
    objective.refresh_from_db()
    assert objective.title != "x"


def test_admin_change_forms_stay_editable_for_staff_in_an_open_cycle(org, staff, login):
    objective = _objective(org)
    page = login(staff).get(reverse("admin:goals_objective_change", args=[objective.pk]))
    assert page.context["has_change_permission"] is True


def test_admin_change_forms_stay_editable_for_superusers_in_a_closed_cycle(org, closed, login):
    objective, _, _ = closed
    page = login(org.admin).get(reverse("admin:goals_objective_change", args=[objective.pk]))
    assert page.context["has_change_permission"] is True


def test_admin_refuses_staff_adding_an_objective_into_a_closed_cycle(org, closed, staff, login):
    before = Objective.objects.count()
    response = login(staff).post(
        reverse("admin:goals_objective_add"),
        {
            "cycle": org.cycle.pk,
            "team": org.product.pk,
            "owner": org.owner.pk,
            "title": "Sneaked in",
            "kind": "committed",
            "visibility": "public",
            "parent_weight": "1",
            "key_results-TOTAL_FORMS": "0",
            "key_results-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert CLOSED_CYCLE in response.content.decode()
    assert Objective.objects.count() == before


def test_admin_archive_action_leaves_a_closed_cycles_goals_alone_for_staff(
    org, closed, staff, login
):
    objective, _, _ = closed
    staff.user_permissions.add(Permission.objects.get(codename="delete_objective"))
    response = login(staff).post(
        reverse("admin:goals_objective_changelist"),
        {"action": "archive_selected", "_selected_action": [objective.pk]},
        follow=True,
    )

    assert CLOSED_CYCLE in response.content.decode()
    objective.refresh_from_db()
    assert objective.archived_at is None
