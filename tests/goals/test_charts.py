"""Chart geometry (goals.charts), checked against coordinates computed by hand.

Most tests draw in a small frame whose plot area is x 10..110 and y 10..60 (100 × 50
units), so that a value's place is easy to work out: x = 10 + 100 × (days from the
start / days across), y = 60 − 50 × (value − low) / (high − low).
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pytest

from goals import charts

FRAME = charts.Frame(width=120, height=70, left=10, right=10, top=10, bottom=10)
JAN_1, JAN_3, JAN_5, JAN_6, JAN_11 = (date(2026, 1, day) for day in (1, 3, 5, 6, 11))


# --- Value ticks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "max_ticks", "expected"),
    [
        (7000, 9100, 6, [7000, 7500, 8000, 8500, 9000, 9500]),
        (0, 1, 6, [0, 0.2, 0.4, 0.6, 0.8, 1]),
        (0, 1, 5, [0, 0.25, 0.5, 0.75, 1]),
        (120, 310, 6, [100, 150, 200, 250, 300, 350]),
        (-3, -1, 6, [-3, -2.5, -2, -1.5, -1]),
        (0.3, 0.7, 6, [0.3, 0.4, 0.5, 0.6, 0.7]),  # no extra tick from 0.3 / 0.1 = 2.999…
        (9100, 7000, 6, [7000, 7500, 8000, 8500, 9000, 9500]),  # ends in either order
    ],
)
def test_nice_ticks_are_round_and_cover_the_range(low, high, max_ticks, expected):
    assert charts.nice_ticks(low, high, max_ticks=max_ticks) == expected


def test_nice_ticks_widen_a_single_value_by_a_tenth():
    assert charts.nice_ticks(80, 80) == [70, 75, 80, 85, 90]


def test_nice_ticks_widen_zero_by_one():
    assert charts.nice_ticks(0, 0) == [-1, -0.5, 0, 0.5, 1]


def test_nice_ticks_accept_decimals():
    assert charts.nice_ticks(Decimal("18"), Decimal("25.5")) == [18, 20, 22, 24, 26]


def test_nice_ticks_need_room_for_two_ticks():
    with pytest.raises(ValueError, match="at least two ticks"):
        charts.nice_ticks(0, 1, max_ticks=1)


# --- Date ticks -------------------------------------------------------------------------


def _labels(ticks) -> str:
    return ", ".join(label for _, label in ticks)


def test_date_ticks_within_a_week_are_days():
    assert charts.date_ticks(date(2026, 1, 6), date(2026, 1, 8)) == [
        (date(2026, 1, 6), "6 Jan"),
        (date(2026, 1, 7), "7 Jan"),
        (date(2026, 1, 8), "8 Jan"),
    ]


def test_date_ticks_over_ten_days_are_every_other_day():
    assert _labels(charts.date_ticks(JAN_1, JAN_11)) == "1 Jan, 3 Jan, 5 Jan, 7 Jan, 9 Jan, 11 Jan"


def test_date_ticks_over_six_weeks_are_mondays():
    ticks = charts.date_ticks(date(2026, 1, 6), date(2026, 2, 20))
    assert _labels(ticks) == "12 Jan, 19 Jan, 26 Jan, 2 Feb, 9 Feb, 16 Feb"
    assert all(day.weekday() == 0 for day, _ in ticks)


def test_date_ticks_over_a_quarter_are_every_other_monday():
    ticks = charts.date_ticks(date(2026, 1, 1), date(2026, 3, 31))
    assert _labels(ticks) == "5 Jan, 19 Jan, 2 Feb, 16 Feb, 2 Mar, 16 Mar, 30 Mar"


def test_date_ticks_over_months_are_month_starts_with_the_year_where_it_turns():
    ticks = charts.date_ticks(date(2025, 11, 3), date(2026, 5, 25))
    assert ticks == [
        (date(2025, 12, 1), "Dec 2025"),
        (date(2026, 1, 1), "Jan 2026"),
        (date(2026, 2, 1), "Feb"),
        (date(2026, 3, 1), "Mar"),
        (date(2026, 4, 1), "Apr"),
        (date(2026, 5, 1), "May"),
    ]


def test_date_ticks_over_two_years_are_quarters():
    ticks = charts.date_ticks(date(2025, 1, 1), date(2026, 12, 31))
    assert _labels(ticks) == "Jan 2025, Apr, Jul, Oct, Jan 2026, Apr, Jul, Oct"


def test_date_ticks_over_decades_are_round_years():
    ticks = charts.date_ticks(date(1900, 1, 6), date(2026, 2, 20))
    assert _labels(ticks) == "1920, 1940, 1960, 1980, 2000, 2020"


def test_date_ticks_of_one_day_are_that_day():
    assert charts.date_ticks(JAN_5, JAN_5) == [(JAN_5, "5 Jan")]


def test_date_ticks_never_exceed_the_limit():
    for days in range(0, 800, 7):
        end = date.fromordinal(JAN_1.toordinal() + days)
        assert 1 <= len(charts.date_ticks(JAN_1, end, max_ticks=5)) <= 5


# --- Formatting -------------------------------------------------------------------------


def test_coordinates_are_written_short():
    assert charts.coordinate(37.5) == "37.5"
    assert charts.coordinate(100.0) == "100"
    assert charts.coordinate(12.345) == "12.35"
    assert charts.coordinate(-0.001) == "0"


def test_number_labels_separate_thousands_and_never_read_minus_zero():
    assert charts.number_label(8500) == "8,500"
    assert charts.number_label(0.25, 2) == "0.25"
    assert charts.number_label(-0.5, 1) == "-0.5"
    assert charts.number_label(-0.04, 1) == "0.0"


def test_frame_view_box_and_plot_area():
    assert FRAME.view_box == "0 0 120 70"
    assert (FRAME.left, FRAME.plot_right, FRAME.top, FRAME.plot_bottom) == (10, 110, 10, 60)
    assert (FRAME.plot_width, FRAME.plot_height) == (100, 50)


def test_scale_puts_a_range_of_zero_width_in_the_middle():
    scale = charts.Scale(FRAME, JAN_5, JAN_5, 3, 3)
    assert (scale.x(JAN_5), scale.y(3)) == (60, 35)


# --- Charts -----------------------------------------------------------------------------


def test_no_points_make_an_empty_chart():
    chart = charts.line_chart([], frame=FRAME)
    assert chart.is_empty
    assert chart.line == ""
    assert chart.dots == []
    assert chart.x_ticks == []
    assert [tick.value for tick in chart.y_ticks] == [0, 0.2, 0.4, 0.6, 0.8, 1]


def test_points_are_drawn_in_date_order_across_the_plot():
    # Given out of order: 0 on 1 Jan, 5 on 6 Jan, 10 on 11 Jan. Ticks 0..10 by 2.
    chart = charts.line_chart([(JAN_11, 10), (JAN_1, 0), (JAN_6, 5)], frame=FRAME)
    assert chart.line == "10,60 60,35 110,10"
    assert [(dot.x, dot.y, dot.day, dot.value) for dot in chart.dots] == [
        (10, 60, JAN_1, 0),
        (60, 35, JAN_6, 5),
        (110, 10, JAN_11, 10),
    ]
    assert [(tick.position, tick.label) for tick in chart.y_ticks] == [
        (60, "0"),
        (50, "2"),
        (40, "4"),
        (30, "6"),
        (20, "8"),
        (10, "10"),
    ]
    assert [(tick.position, tick.label) for tick in chart.x_ticks] == [
        (10, "1 Jan"),
        (30, "3 Jan"),
        (50, "5 Jan"),
        (70, "7 Jan"),
        (90, "9 Jan"),
        (110, "11 Jan"),
    ]


def test_one_point_sits_in_the_middle():
    # 10 alone: the scale is widened to 9..11 (ticks every 0.5), 10 is its middle.
    chart = charts.line_chart([(JAN_5, 10)], frame=FRAME)
    assert chart.line == "60,35"
    assert [tick.label for tick in chart.y_ticks] == ["9.0", "9.5", "10.0", "10.5", "11.0"]
    assert [(tick.position, tick.label) for tick in chart.x_ticks] == [(60, "5 Jan")]


def test_equal_values_draw_a_flat_line_through_the_middle():
    # 5 and 5: widened to 4.5..5.5, ticks every 0.25.
    chart = charts.line_chart([(JAN_1, 5), (JAN_11, 5)], frame=FRAME)
    assert chart.line == "10,35 110,35"
    assert [tick.value for tick in chart.y_ticks] == [4.5, 4.75, 5, 5.25, 5.5]
    assert chart.y_ticks[1].label == "4.75"


def test_a_decreasing_negative_series_runs_downhill():
    # -2 on 1 Jan, -6 on 5 Jan: ticks -6..-2 by 1; -2 at the top, -6 at the bottom.
    chart = charts.line_chart([(JAN_1, -2), (JAN_5, -6)], frame=FRAME)
    assert chart.line == "10,10 110,60"
    assert [tick.label for tick in chart.y_ticks] == ["-6", "-5", "-4", "-3", "-2"]


def test_decimal_values_keep_their_type_on_the_dots():
    chart = charts.line_chart([(JAN_1, Decimal("1.5")), (JAN_11, Decimal("2.5"))], frame=FRAME)
    assert chart.dots[0].value == Decimal("1.5")
    assert isinstance(chart.dots[0].value, Decimal)


def test_references_and_bands_take_their_place_on_the_value_scale():
    chart = charts.line_chart(
        [(JAN_1, 0), (JAN_11, 10)],
        frame=FRAME,
        references={"green": 8, "red": Decimal(2)},
        bands={"good": (8, math.inf), "bad": (-math.inf, 2)},
    )
    assert chart.rules == [
        charts.Rule("green", 8.0, 20, 10, 110),
        charts.Rule("red", 2.0, 50, 10, 110),
    ]
    assert chart.bands == [
        charts.Band("good", 10, 10, 100, 10),
        charts.Band("bad", 10, 50, 100, 10),
    ]


def test_references_stretch_the_value_scale_to_show_them():
    # Values 4..6, a red threshold at 0 and a green one at 10: the scale runs 0..10.
    chart = charts.line_chart(
        [(JAN_1, 4), (JAN_11, 6)], frame=FRAME, references={"red": 0, "green": 10}
    )
    assert (chart.y_ticks[0].value, chart.y_ticks[-1].value) == (0, 10)
    assert chart.line == "10,40 110,30"


def test_a_band_outside_the_plot_is_left_out():
    chart = charts.line_chart([(JAN_1, 1)], frame=FRAME, y_range=(0, 10), bands={"off": (20, 30)})
    assert chart.bands == []


def test_a_margin_keeps_values_off_the_edges():
    values = [(JAN_1, 18), (JAN_11, 25)]
    assert charts.line_chart(values, frame=FRAME).y_ticks[0].value == 18
    with_margin = charts.line_chart(values, frame=FRAME, y_margin=0.1)
    assert [tick.value for tick in with_margin.y_ticks] == [16, 18, 20, 22, 24, 26]


def test_key_result_progress_steps_until_today_against_the_expected_pace():
    # A cycle from 1 to 11 Jan, progress 0..1; check-ins 0.2 on 1 Jan and 0.6 on 5 Jan,
    # held until 11 Jan; the expected pace runs from (1 Jan, 0) to (11 Jan, 1).
    chart = charts.line_chart(
        [(JAN_1, 0.2), (JAN_5, 0.6)],
        frame=FRAME,
        x_range=(JAN_1, JAN_11),
        y_range=(0, 1),
        step=True,
        hold_until=JAN_11,
        expected=((JAN_1, 0), (JAN_11, 1)),
        y_label=lambda value: f"{value:.0%}",
    )
    assert chart.line == "10,50 50,50 50,30 110,30"
    assert [(dot.x, dot.y) for dot in chart.dots] == [(10, 50), (50, 30)]
    assert chart.expected == charts.Segment(10, 60, 110, 10)
    assert [tick.label for tick in chart.y_ticks] == ["0%", "20%", "40%", "60%", "80%", "100%"]


def test_a_cycle_without_check_ins_still_has_its_axes_and_expected_pace():
    chart = charts.line_chart(
        [],
        frame=FRAME,
        x_range=(JAN_1, JAN_11),
        y_range=(0, 1),
        step=True,
        expected=((JAN_1, 0), (JAN_11, 1)),
    )
    assert chart.is_empty
    assert chart.line == ""
    assert chart.expected == charts.Segment(10, 60, 110, 10)
    assert len(chart.x_ticks) == 6


def test_a_fixed_value_range_keeps_only_ticks_inside_it():
    chart = charts.line_chart([(JAN_1, 0.5)], frame=FRAME, y_range=(0, 0.9))
    assert [tick.value for tick in chart.y_ticks] == [0, 0.2, 0.4, 0.6, 0.8]


def test_default_frame_is_600_by_200():
    chart = charts.line_chart([(JAN_1, 0), (JAN_11, 10)])
    assert chart.frame.view_box == "0 0 600 200"
    assert chart.line == "48,176 588,10"
