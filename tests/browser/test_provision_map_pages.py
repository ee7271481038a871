"""A SENCo's provision map in Chromium on both stores: a line added (with a mistake corrected on
the way), a line reviewed, the map published after checking it, and the confirmation with the
version and its SHA-256; then the cluster lead reads the published version. axe-core on every page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from domain.academic_year import AcademicYear
from funding_engine import demo
from funding_engine.dev_mode import DEV_YEAR
from tests.browser.conftest import LiveServer, serious_violations, sign_in_as


@pytest.fixture
def live_server(demo_server: LiveServer) -> LiveServer:
    """Every test here starts from the demo year: the server is over a copy of it."""
    return demo_server


SCHOOL = "school 990001 (northmere-coast)"
YEAR = AcademicYear(DEV_YEAR.start_year)


def looked_at(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=shots / f"{name}.png", full_page=True)
    assert serious_violations(page) == [], name


def test_a_senco_builds_reviews_and_publishes_a_provision_map(
    web_page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("PROVISION_MAP_SHOTS", tmp_path))
    app = live_server.app
    page = web_page
    sign_in_as(page, live_server, SCHOOL)

    page.get_by_role("link", name="Provision map").click()
    expect(page.get_by_role("heading", name="Your provision maps")).to_be_visible()
    looked_at(page, shots, "01-maps")
    page.get_by_role("link", name=f"{YEAR} provision map").click()
    expect(page.get_by_role("heading", name=f"Provision map {YEAR}")).to_be_visible()
    looked_at(page, shots, "02-map")

    page.get_by_role("button", name="Add a line").click()
    page.get_by_label("What is the provision?").fill("Lego therapy group")
    page.get_by_label("Provision category").select_option("therapies")
    page.get_by_role("radio", name="Communication and interaction").check()
    page.get_by_role("radio", name="Targeted").check()
    page.get_by_label("Number of pupils").fill("4")
    page.get_by_label("Hours a week (optional)").fill("1.5")
    page.get_by_label("Staff role or provider").fill("Teaching assistant")
    page.get_by_role("radio", name="For each pupil").check()
    page.get_by_label("Cost", exact=True).fill("12.345")  # a mistake: three decimal places
    page.get_by_role("radio", name="School's notional SEN budget").check()
    page.get_by_role("radio", name="In place").check()
    page.get_by_role("button", name="Save line").click()
    expect(page.get_by_role("alert")).to_contain_text("The cost must be an amount in pounds")
    expect(page.get_by_label("What is the provision?")).to_have_value("Lego therapy group")
    looked_at(page, shots, "03-line-error")
    page.get_by_label("Cost", exact=True).fill("£1,250.50")
    page.get_by_role("button", name="Save line").click()
    expect(page.get_by_text("You added a line")).to_be_visible()
    expect(page.get_by_text("Lego therapy group", exact=True)).to_be_visible()

    page.get_by_role("link", name="Review line 8, Lego therapy group").click()
    expect(page.get_by_role("heading", name="Review line 8")).to_be_visible()
    page.get_by_role("radio", name="Good impact").check()
    page.get_by_label("Note (optional)").fill("Most of the group met their targets.")
    looked_at(page, shots, "04-review")
    page.get_by_role("button", name="Save review").click()
    expect(page.get_by_text("You recorded a review of line 8")).to_be_visible()
    looked_at(page, shots, "05-map-after-review")

    page.get_by_role("button", name="Publish version 2").click()
    expect(page.get_by_role("heading", name="Check before you publish version 2")).to_be_visible()
    looked_at(page, shots, "06-check")
    page.get_by_role("button", name="Publish version 2").click()
    expect(page.get_by_role("heading", name="Version 2 published")).to_be_visible()
    published = app.published_provision_map(demo.school("990001"), "990001", YEAR, 2)
    expect(page.locator(".govuk-panel")).to_contain_text(published.sha256)
    looked_at(page, shots, "07-published")
    page.get_by_role("link", name="View version 2").click()
    expect(page.get_by_text(published.sha256).first).to_be_visible()
    looked_at(page, shots, "08-version")

    page.context.clear_cookies()
    sign_in_as(page, live_server, "lead, northmere-coast")
    page.get_by_role("link", name="Provision maps").click()
    looked_at(page, shots, "09-lead-maps")
    page.get_by_role("link", name=f"{YEAR} provision map of school 990001").click()
    expect(page.get_by_role("heading", name="Provision map, version 2")).to_be_visible()
    expect(page.get_by_text("Lego therapy group", exact=True)).to_be_visible()
    looked_at(page, shots, "10-lead-version")
