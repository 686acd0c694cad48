"""manage.py bench: its figures, its verdicts, and a run on a generated organisation."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from goals.seeding.scale import seed_scale
from okr_site.bench import report
from okr_site.bench.cases import Kind
from okr_site.bench.measure import Figures, measure, measure_with_floor, percentile


def test_percentile_interpolates_between_ranks():
    samples = [0.4, 0.1, 0.3, 0.2, 0.5]
    assert percentile(samples, 0) == 0.1
    assert percentile(samples, 50) == 0.3
    assert percentile(samples, 95) == pytest.approx(0.48)
    assert percentile([], 95) == 0.0


def test_spread_is_the_interquartile_range_over_the_median():
    figures = Figures(samples=(1.0, 2.0, 2.0, 2.0, 3.0, 10.0), queries=4)
    assert figures.median == 2.0
    assert figures.spread == pytest.approx((4.75 - 1.75) / 2.0)
    assert Figures(samples=(1.0, 1.0), queries=0).spread == 0.0


def test_measure_counts_a_runs_queries_and_can_take_the_runs_own_seconds(db):
    from alignment.models import Team

    figures = measure(lambda: list(Team.objects.all()), repeat=3, warmup=1)
    assert figures.queries == 1 and len(figures.samples) == 3
    assert measure(lambda: 0.25, repeat=2, self_timed=True).samples == (0.25, 0.25)


def test_a_page_and_its_floor_are_timed_in_turn(db):
    from alignment.models import Team

    calls = []

    def page():
        calls.append("page")
        return list(Team.objects.all())

    def floor():
        calls.append("floor")

    figures, floor_figures = measure_with_floor(page, floor, repeat=5, warmup=1, block=2)

    # One warm-up each, then turns of an untimed run and two (the last: one) timed.
    turns = ["page"] * 3 + ["floor"] * 3
    assert calls == ["page", "floor", *turns, *turns, "page", "page", "floor", "floor"]
    assert (len(figures.samples), len(floor_figures.samples)) == (5, 5)
    assert (figures.queries, floor_figures.queries) == (1, 0)


def _result(kind: Kind, median: float, p95: float, floor: float | None = None) -> report.Result:
    return report.Result("x", kind.value, median, p95, 0.0, 3, floor)


@pytest.mark.parametrize(
    ("result", "met"),
    [
        (_result(Kind.PAGE, 0.014, 0.150, floor=0.001), True),
        (_result(Kind.PAGE, 0.016, 0.150, floor=0.001), False),  # 16× its floor
        (_result(Kind.PAGE, 0.010, 0.250, floor=0.001), False),  # p95 over 200 ms
        (_result(Kind.JSON, 0.005, 0.005, floor=0.001), True),
        (_result(Kind.JSON, 0.006, 0.006, floor=0.001), False),
        (_result(Kind.SUBMIT, 0.050, 0.101), False),
        (_result(Kind.ROLLUP, 0.240, 0.300), True),
        (_result(Kind.FANOUT, 31.0, 31.0), False),
        (_result(Kind.OVERHEAD, 0.0001, 0.0002), None),
    ],
)
def test_each_kind_is_judged_by_its_target(result, met):
    assert result.met is met


def test_table_marks_a_page_whose_queries_differ_from_the_smaller_tier():
    small = {"home": _result(Kind.PAGE, 0.01, 0.01, 0.001)}
    small["home"].name = "home"
    large = _result(Kind.PAGE, 0.01, 0.01, 0.001)
    large.name, large.queries = "home", 4
    submit = _result(Kind.SUBMIT, 0.02, 0.02)
    submit.name, submit.queries = "home submit", 9
    table = report.table([large, submit], "L", ("S", {**small, "home submit": submit}))
    home_line = next(line for line in table.splitlines() if line.startswith("home "))
    assert "QUERIES DIFFER FROM S" in home_line
    assert "QUERIES DIFFER" not in table.splitlines()[-1]


@pytest.mark.postgres
def test_bench_times_pages_and_lists_of_a_generated_organisation(db, tmp_path, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    seed_scale(tier_name="S", today=timezone.localdate(), log=lambda line: None)
    saved = tmp_path / "S.json"
    out = StringIO()
    call_command(
        "bench", "--repeat", "2", "--skip-jobs", "--only", "API c", "--label", "S",
        "--save", str(saved), stdout=out,
    )  # fmt: skip
    printed = out.getvalue()
    assert "Tier S" in printed and "API cycles" in printed and "API check-ins" in printed
    rows = {row["name"]: row for row in json.loads(saved.read_text())["results"]}
    assert set(rows) == {"API cycles", "API check-ins"}
    assert all(row["floor"] > 0 and row["queries"] > 0 for row in rows.values())
    out = StringIO()
    call_command("bench", "--repeat", "2", "--skip-jobs", "--only", "API cycles",
                 "--compare", str(saved), stdout=out)  # fmt: skip
    assert "at S" in out.getvalue() and "QUERIES DIFFER" not in out.getvalue()


def test_bench_refuses_anything_but_postgresql(db, settings):
    from django.core.management.base import CommandError
    from django.db import connection

    if connection.vendor == "postgresql":
        pytest.skip("refuses SQLite only")
    with pytest.raises(CommandError, match="measures PostgreSQL"):
        call_command("bench", "--repeat", "1")
