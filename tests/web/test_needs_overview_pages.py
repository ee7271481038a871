"""The needs overview's charts, in process, on SQLite and on PostgreSQL, over the demo year: one bar
chart per breakdown, named and described, whose bars carry exactly the table's pupil places, and
whose suppressed cells are labelled bars left undrawn, never bars of zero."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import pytest

from funding_engine.application import FundingApplication
from tests.web.pages import signed_in

SVG = "{http://www.w3.org/2000/svg}"
CHARTS = {
    "places-by-area-of-need": "Broad area of need",
    "places-by-tier": "Tier",
    "places-by-category": "Provision category",
}


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def chart(page: str, chart_id: str) -> ET.Element:
    found = re.search(rf'<svg class="app-chart"[^>]*id="{chart_id}".*?</svg>', page, re.DOTALL)
    assert found, chart_id
    return ET.fromstring(found.group(0))


def table_places(page: str, heading: str) -> list[tuple[str, str]]:
    """(label, pupil places as shown) of each row of the table headed ``heading``, without the total."""
    start = page.index(f'<th scope="col" class="govuk-table__header">{heading}</th>')
    body = page[start : page.index("</table>", start)]
    rows = re.findall(
        r'<th scope="row" class="govuk-table__header">([^<]+)</th>\s*<td class="[^"]*">([^<]+)</td>', body
    )
    return [(html.unescape(label).strip(), places.strip()) for label, places in rows if label.strip() != "Total"]


def chart_bars(svg: ET.Element) -> list[tuple[str, str, str | None]]:
    """(label, value text, font style) of each bar, in order: label and value texts alternate."""
    texts = [(text.text or "", text.get("font-style")) for text in svg.iter(f"{SVG}text")]
    return [(label, value, style) for (label, _), (value, style) in zip(texts[::2], texts[1::2], strict=True)]


@pytest.mark.parametrize(
    "visitor, path, params",
    [
        ("lead, northmere-coast", "/cluster/needs-overview", {}),
        ("council officer", "/council/needs-overview", {"cluster_id": "northmere-coast"}),
    ],
)
def test_each_breakdown_has_a_chart_of_the_tables_places_with_suppressed_cells_undrawn(loaded, visitor, path, params):
    page = signed_in(loaded, visitor).get(path, params=params).text
    suppressed_somewhere = False
    for chart_id, heading in CHARTS.items():
        svg = chart(page, chart_id)
        assert svg.get("role") == "img"
        title = svg.find(f"{SVG}title").text or ""  # type: ignore[union-attr]
        assert title.startswith(f"Pupil places by {heading.lower()}, Northmere Coast (fictional), ")
        rows = table_places(page, heading)
        bars = chart_bars(svg)
        assert [label for label, _, _ in bars] == [label for label, _ in rows]
        drawn = svg.findall(f".//{SVG}rect")
        shown = [(label, places) for label, places in rows if places != "Suppressed"]
        assert len(drawn) == len(shown)
        for (label, places), (_, value, style) in zip(rows, bars, strict=True):
            if places == "Suppressed":
                suppressed_somewhere = True
                assert (value, style) == ("Suppressed", "italic"), label
            else:
                assert (value, style) == (places, None), label
        description = svg.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
        for label, places in rows:
            assert f"{label}: " + ("suppressed" if places == "Suppressed" else f"{places} place") in description
    assert suppressed_somewhere  # the demo year has small counts: the test saw suppression at work


def test_a_suppressed_figure_is_never_shown_as_zero(loaded):
    page = signed_in(loaded, "lead, northmere-coast").get("/cluster/needs-overview").text
    rows = dict(table_places(page, "Broad area of need"))
    hidden = [label for label, places in rows.items() if places == "Suppressed"]
    assert hidden
    bars = {label: value for label, value, _ in chart_bars(chart(page, "places-by-area-of-need"))}
    for label in hidden:
        assert bars[label] == "Suppressed"
