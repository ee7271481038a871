"""The SVG charts: well-formed, one named image to assistive technology, every mark where its
figure says, text escaped, and told apart without colour."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest

from web.charts import LINE_STYLES, Series, bar_chart, line_chart, nice_ticks, whole_pounds
from web.kit import money

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def months_chart(**overrides: object) -> str:
    arguments: dict[str, object] = {
        "chart_id": "over-year",
        "title": "The budget over 2026-27",
        "description": "Allocated £60,000.00 by November.",
        "labels": ["Apr", "May", "Jun"],
        "series": [Series("Allocated", [6_000_000, 6_000_000]), Series("Paid", [0, 400_000])],
    }
    arguments.update(overrides)
    return str(line_chart(**arguments))  # type: ignore[arg-type]


def test_ticks_are_round_and_reach_past_the_highest_value():
    assert nice_ticks(6_000_000) == [0, 2_000_000, 4_000_000, 6_000_000]
    assert nice_ticks(6_000_001) == [0, 2_000_000, 4_000_000, 6_000_000, 8_000_000]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(1) == [0, 1]
    assert nice_ticks(0) == [0, 100]
    for highest in (1, 9, 10, 99, 101, 12_345, 999_999_999):
        ticks = nice_ticks(highest)
        assert ticks[0] == 0 and ticks[-1] >= highest and len(ticks) <= 6
        assert len({b - a for a, b in itertools.pairwise(ticks)}) == 1


def test_axis_labels_are_pounds():
    assert [whole_pounds(p) for p in (0, 2_000_000, 50, 123_456, -100)] == [
        "£0",
        "£20,000",
        "£0.50",
        "£1,234.56",
        "-£1",
    ]


def test_a_line_chart_is_one_image_named_and_described():
    svg = parsed(months_chart())
    assert svg.tag == f"{SVG}svg"
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "over-year-title over-year-desc"
    assert svg.find(f"{SVG}title").text == "The budget over 2026-27"  # type: ignore[union-attr]
    assert svg.find(f"{SVG}desc").text == "Allocated £60,000.00 by November."  # type: ignore[union-attr]
    (marks,) = svg.findall(f"{SVG}g")
    assert marks.get("aria-hidden") == "true"


def test_each_line_has_its_own_dash_and_marker_and_a_legend():
    svg = parsed(months_chart())
    lines = svg.findall(f".//{SVG}polyline")
    assert len(lines) == 2
    assert [line.get("stroke") for line in lines] == [LINE_STYLES[0][0], LINE_STYLES[1][0]]
    assert lines[0].get("stroke-dasharray") is None and lines[1].get("stroke-dasharray") == LINE_STYLES[1][1]
    assert len(svg.findall(f".//{SVG}rect")) == 3  # allocated's square markers: two points and the legend's
    assert len(svg.findall(f".//{SVG}circle")) == 3  # paid's round ones
    texts = [text.text for text in svg.iter(f"{SVG}text")]
    assert {"Allocated", "Paid", "Apr", "May", "Jun", "£0", "£60,000"} <= set(texts)


def test_points_sit_at_their_values():
    svg = parsed(months_chart(series=[Series("Paid", [0, 3_000_000, 6_000_000])]))
    (line,) = svg.findall(f".//{SVG}polyline")
    ys = [float(point.split(",")[1]) for point in (line.get("points") or "").split()]
    top, bottom = 48, 380 - 40
    assert ys == [bottom, (top + bottom) / 2, top]
    xs = [float(point.split(",")[0]) for point in (line.get("points") or "").split()]
    assert xs[0] < xs[1] < xs[2]


def test_a_series_may_stop_before_the_labels_do_but_not_run_past_them():
    svg = parsed(months_chart(series=[Series("Allocated", [100])]))
    assert svg.findall(f".//{SVG}polyline") == []  # one point: a marker, no line
    assert len(svg.findall(f".//{SVG}rect")) == 2
    with pytest.raises(ValueError, match="more values"):
        months_chart(series=[Series("Allocated", [1, 2, 3, 4])])
    with pytest.raises(ValueError, match="told apart"):
        months_chart(series=[Series(str(i), [1]) for i in range(5)])


def test_text_is_escaped():
    svg = months_chart(title="<script>alert(1)</script>", series=[Series('A & "B"', [1])])
    assert "<script>" not in svg
    tree = parsed(svg)
    assert tree.find(f"{SVG}title").text == "<script>alert(1)</script>"  # type: ignore[union-attr]
    assert 'A & "B"' in [text.text for text in tree.iter(f"{SVG}text")]


def test_a_bar_chart_draws_each_bar_to_scale_with_its_value():
    svg = parsed(
        bar_chart(
            chart_id="spend",
            title="Spend by category",
            description="Therapies £8,000.00; Personal care £2,000.00.",
            bars=[("Therapies", 800_000), ("Personal care", 200_000), ("Other", 0)],
            value_text=money,
        )
    )
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "spend-title spend-desc"
    bars = svg.findall(f".//{SVG}rect")
    widths = [float(bar.get("width") or 0) for bar in bars]
    assert widths[0] == pytest.approx(4 * widths[1]) and widths[2] == 0
    texts = [text.text for text in svg.iter(f"{SVG}text")]
    assert texts == ["Therapies", "£8,000.00", "Personal care", "£2,000.00", "Other", "£0.00"]


def test_a_bar_chart_needs_bars_from_zero():
    with pytest.raises(ValueError, match="at least one"):
        bar_chart(chart_id="x", title="t", description="d", bars=[], value_text=money)
    with pytest.raises(ValueError, match="negative"):
        bar_chart(chart_id="x", title="t", description="d", bars=[("a", -1)], value_text=money)


def test_a_suppressed_bar_is_left_undrawn_and_labelled_never_drawn_as_zero():
    svg = parsed(
        bar_chart(
            chart_id="places",
            title="Pupil places by tier",
            description="Universal: 120 places; Targeted: suppressed; Specialist: 0 places.",
            bars=[("Universal", 120), ("Targeted", None), ("Specialist", 0), ("Other", 60)],
            value_text=str,
        )
    )
    widths = [float(bar.get("width") or 0) for bar in svg.findall(f".//{SVG}rect")]
    assert len(widths) == 3  # Universal, Specialist (a bar of 0 is a figure shown) and Other: none for Targeted
    assert widths[0] == pytest.approx(2 * widths[2]) and widths[1] == 0
    texts = [(text.text, text.get("font-style")) for text in svg.iter(f"{SVG}text")]
    assert texts == [
        ("Universal", None),
        ("120", None),
        ("Targeted", None),
        ("Suppressed", "italic"),
        ("Specialist", None),
        ("0", None),
        ("Other", None),
        ("60", None),
    ]


def test_a_chart_of_suppressed_bars_only_draws_none():
    svg = parsed(
        bar_chart(
            chart_id="places",
            title="t",
            description="d",
            bars=[("A", None), ("B", None)],
            value_text=str,
            suppressed_text="Fewer than 5",
        )
    )
    assert svg.findall(f".//{SVG}rect") == []
    assert [text.text for text in svg.iter(f"{SVG}text")] == ["A", "Fewer than 5", "B", "Fewer than 5"]
