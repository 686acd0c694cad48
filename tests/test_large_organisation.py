"""What keeps pages fast in a large organisation (docs/performance.md), and that none of
it changes what a person sees."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from alignment import rollup
from alignment.models import Membership
from alignment.queries import team_access_for
from checkins.admin import CheckInAdmin
from goals import queries
from goals.models import Cycle, KeyResult, Objective
from okr_site import paging
from tests import factories


def test_leading_the_top_team_reads_everything_without_a_team_filter(org):
    ceo = factories.UserFactory()
    factories.MembershipFactory(user=ceo, team=org.product.parent, role=Membership.Role.LEAD)
    private = factories.ObjectiveFactory(
        cycle=org.cycle, team=org.sales, visibility=Objective.Visibility.PRIVATE
    )
    access = team_access_for(ceo)
    assert access.every_team
    visible = Objective.objects.visible_to(ceo, access=access)
    assert "WHERE" not in str(visible.query)
    assert private in visible
    # A lead lower down still filters, and still misses the private goals of others.
    assert not team_access_for(org.lead).every_team
    assert private not in Objective.objects.visible_to(org.lead)


def test_cycle_overview_shows_the_best_teams_and_says_how_many_more(org, login, monkeypatch):
    monkeypatch.setattr(queries, "TEAMS_SHOWN", 1)
    factories.ObjectiveFactory(cycle=org.cycle, team=org.product, progress=0.9)
    factories.ObjectiveFactory(cycle=org.cycle, team=org.sales, progress=0.1)
    page = login(org.admin).get(reverse("goals:cycle", args=[org.cycle.pk])).content.decode()
    scores = page.split('id="scores-heading"')[1].split("</section>")[0]
    assert "Product" in scores and ">Sales<" not in scores
    assert "And 1 more team with lower scores" in scores


def test_nightly_rollup_leaves_closed_cycles_as_they_closed(org):
    closed = factories.CycleFactory(name="2026 Q3", state=Cycle.State.CLOSED)
    old = factories.ObjectiveFactory(cycle=closed, team=org.product)
    factories.KeyResultFactory(objective=old, start_value=0, target_value=10, current_value=5)
    current = factories.ObjectiveFactory(cycle=org.cycle, team=org.product)
    factories.KeyResultFactory(objective=current, start_value=0, target_value=10, current_value=5)
    KeyResult.objects.update(progress=0.5)
    Objective.objects.update(progress=0)

    assert rollup.recompute_all() == 1
    assert Objective.objects.get(pk=old.pk).progress == 0
    assert Objective.objects.get(pk=current.pk).progress == pytest.approx(0.5)
    assert rollup.recompute_all(closed_too=True) == 2
    assert Objective.objects.get(pk=old.pk).progress == pytest.approx(0.5)


def test_admin_check_ins_estimate_the_unfiltered_count_on_postgresql(org, login, monkeypatch):
    assert CheckInAdmin.paginator is paging.EstimatedCountPaginator
    key_result = factories.KeyResultFactory(
        objective=factories.ObjectiveFactory(cycle=org.cycle, team=org.product)
    )
    factories.CheckInFactory.create_batch(3, key_result=key_result, author=org.owner)
    monkeypatch.setattr(paging, "ESTIMATE_ABOVE", -2)  # any estimate counts as large
    client = login(org.admin)
    url = reverse("admin:checkins_checkin_changelist")

    searched = client.get(url, {"q": key_result.title}).context["cl"]
    assert searched.result_count == 3  # a filtered or searched list is counted exactly
    unfiltered = client.get(url).context["cl"]
    assert unfiltered.full_result_count is None  # no second count of the whole table
    if connection.vendor == "postgresql":
        # The planner's estimate of a table never analysed (-1 or 0), not a count.
        assert unfiltered.result_count != 3
    else:
        assert unfiltered.result_count == 3


def test_team_filter_options_are_escaped_and_mark_the_chosen_team(org, login):
    org.sales.name = '<script>alert("x")</script> & Co'
    org.sales.save()
    client = login(org.lead)
    overview = client.get(reverse("goals:cycle", args=[org.cycle.pk]), {"team": "sales"})
    page = overview.content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co</option>" in page
    assert '<option value="sales" selected>' in page
    assert '<option value="product">' in page
    # The tree's filter is a search field: the chosen team's name, escaped, is its value.
    tree = client.get(reverse("alignment:tree", args=[org.cycle.pk]), {"team": "sales"})
    page = tree.content.decode()
    assert "<script>alert" not in page
    assert 'value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co"' in page
