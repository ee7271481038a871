"""The council's school register in Chromium, on both stores: a CSV with one bad row is reported by
line and imports nothing; corrected, it imports; axe-core on each state of the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from funding_engine import demo
from tests.browser.conftest import LiveServer, serious_violations, sign_in_as


@pytest.fixture
def live_server(demo_server: LiveServer) -> LiveServer:
    """Every test here starts from the demo year: the server is over a copy of it."""
    return demo_server


TITLE = " - SEND top-up funding"
GOOD_ROW = "990301,Saltings Church Primary (fictional),Primary,northmere-coast\n"


def looked_at(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=folder / f"{name}.png", full_page=True)
    assert serious_violations(page) == [], name


def test_the_council_uploads_a_school_file_fixes_the_bad_row_and_imports_it(
    web_page: Page, live_server: LiveServer, tmp_path: Path
):
    app = live_server.app
    bad_file = tmp_path / "schools.csv"
    bad_file.write_text("urn,name,phase,cluster_id\n" + GOOD_ROW + "99030,Short URN School,Primary,northmere-coast\n")
    sign_in_as(web_page, live_server, "council officer")
    before = app.recorder.max_notification_id()  # after the sign-in, which is recorded

    web_page.get_by_role("navigation", name="Menu").get_by_role("link", name="Schools", exact=True).click()
    expect(web_page).to_have_title("Schools" + TITLE)
    looked_at(web_page, tmp_path, "council-schools-hub")
    web_page.get_by_role("link", name="School register").click()
    expect(web_page).to_have_title("School register" + TITLE)
    expect(web_page.get_by_role("table")).to_contain_text("Northmere Primary School (fictional)")
    looked_at(web_page, tmp_path, "council-schools")

    web_page.get_by_label("Schools", exact=True).check()
    web_page.get_by_label("CSV file").set_input_files(str(bad_file))
    web_page.get_by_role("button", name="Upload and import").click()

    expect(web_page).to_have_title("Error: School register" + TITLE)
    expect(web_page.get_by_role("alert")).to_contain_text("Line 3: school URN must be 6 digits")
    report = web_page.get_by_role("table", name="Problems in schools.csv: nothing was imported")
    expect(report.get_by_role("row")).to_have_count(2)
    expect(report).to_contain_text("3")
    looked_at(web_page, tmp_path, "council-schools-bad-file")
    assert app.recorder.max_notification_id() == before

    bad_file.write_text("urn,name,phase,cluster_id\n" + GOOD_ROW + "990302,Short URN School,Primary,northmere-coast\n")
    web_page.get_by_label("Schools", exact=True).check()
    web_page.get_by_label("CSV file").set_input_files(str(bad_file))
    web_page.get_by_role("button", name="Upload and import").click()

    expect(web_page).to_have_title("School register" + TITLE)
    expect(web_page.get_by_text("schools.csv imported: 2 registered, 0 updated, 0 moved, 0 unchanged")).to_be_visible()
    web_page.get_by_label("Search by name or URN").fill("saltings church")
    web_page.get_by_role("button", name="Search").click()
    expect(web_page.get_by_role("table")).to_contain_text("Saltings Church Primary (fictional)")
    looked_at(web_page, tmp_path, "council-schools-imported")
    assert app.read_models.school(demo.COUNCIL, "990302").cluster_id == "northmere-coast"
