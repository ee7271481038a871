"""A SENCo uses the school's published provision map as spend evidence, in Chromium on both stores;
the cluster lead then sees the cited version and the warnings beside the evidence, and reads the
cluster's needs overview. axe-core on every page."""

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
LEAD = "lead, northmere-coast"
YEAR = AcademicYear(DEV_YEAR.start_year)


def looked_at(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=shots / f"{name}.png", full_page=True)
    assert serious_violations(page) == [], name


def test_a_senco_cites_the_published_map_and_the_lead_sees_it_with_warnings(
    web_page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("MAP_EVIDENCE_SHOTS", tmp_path))
    app = live_server.app
    head = demo.school("990001")
    rows = app.read_models.list_requests(head, school_urn="990001").items
    request_id = next(row.request_id for row in rows if row.status == "submitted")
    published = app.published_provision_map(head, "990001", YEAR, 1)
    page = web_page

    sign_in_as(page, live_server, SCHOOL)
    page.goto(f"{live_server.url}/school/requests/{request_id}/evidence")
    expect(page.get_by_role("heading", name="Add spend evidence")).to_be_visible()
    page.get_by_label("Your notional SEN budget for the year").fill("18,500")
    page.get_by_role("radio", name="Use your published provision map").check()
    page.get_by_role("button", name="Save spend evidence").click()  # no version chosen: a mistake
    expect(page.get_by_role("alert")).to_contain_text("Choose the published version of your provision map")
    looked_at(page, shots, "01-evidence-error")
    page.get_by_role("radio", name=f"{YEAR} provision map, version 1").check()
    looked_at(page, shots, "02-evidence-map-chosen")
    page.get_by_role("button", name="Save spend evidence").click()
    expect(page.get_by_role("alert", name="Success")).to_contain_text("Spend evidence added")
    expect(page.get_by_text(published.sha256)).to_be_visible()
    looked_at(page, shots, "03-school-request")

    sign_in_as(page, live_server, LEAD)
    page.goto(f"{live_server.url}/funding-requests/{request_id}")
    expect(page.get_by_text("The school's spend comes from its published provision map")).to_be_visible()
    expect(page.get_by_text("The top-up asks for interpreters").first).to_be_visible()
    looked_at(page, shots, "04-lead-request")
    page.get_by_role("link", name="See the whole published provision map, version 1").click()
    expect(page.get_by_role("heading", name="Provision map, version 1")).to_be_visible()
    expect(page.get_by_text(published.sha256).first).to_be_visible()

    page.get_by_role("link", name="Needs overview").click()
    expect(page.get_by_role("heading", name="Needs overview")).to_be_visible()
    expect(page.get_by_role("table", name="By broad area of need")).to_be_visible()
    looked_at(page, shots, "05-needs-overview")
