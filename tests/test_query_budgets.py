"""Every page and API list of the benchmark costs the same number of queries in a
generated organisation of 50 people (tier S) and in one twenty times larger (tier M,
1,000 people, one level deeper): what a page reads never grows with the data."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from goals.seeding.scale import TIERS, seed_scale
from okr_site.bench import cases
from okr_site.bench.scenario import Scenario


def _query_counts(tier: str) -> dict[str, int]:
    """Build ``tier``, fetch every page and list twice (the first warms the session),
    count the second's queries; then roll it all back."""
    counts = {}
    with transaction.atomic():
        seed_scale(tier_name=tier, today=timezone.localdate(), log=lambda line: None)
        scenario = Scenario.load()
        scenario.add_fixtures()
        for case in [*cases.page_cases(scenario), cases.submit_case(scenario)]:
            case.run()
            with CaptureQueriesContext(connection) as queries:
                case.run()
            counts[case.name] = len(queries)
        transaction.set_rollback(True)
    return counts


@pytest.fixture
def bench_urls(settings):
    settings.ROOT_URLCONF = "okr_site.bench.urls"


def test_every_page_and_list_costs_the_same_queries_at_twenty_times_the_data(db, bench_urls):
    assert TIERS["M"].people == 20 * TIERS["S"].people
    small = _query_counts("S")
    large = _query_counts("M")
    pages = {name: count for name, count in small.items() if "submit" not in name}
    assert {name: large[name] for name in pages} == pages
    # A check-in climbs the cascade: one more level (M is one deeper) costs a few
    # queries more, never a query per row.
    submit = "check-in submit (with roll-up)"
    assert small[submit] < large[submit] <= small[submit] + 6
