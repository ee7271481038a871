"""The request page in Chromium on both stores: what a school sees of its own request, and that
another school's request is a page that does not exist for it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from funding_engine import demo
from tests.browser.conftest import LiveServer, serious_violations, sign_in_as


@pytest.fixture
def live_server(demo_server: LiveServer) -> LiveServer:
    """Every test here starts from the demo year: the server is over a copy of it."""
    return demo_server


def test_a_school_reads_its_request_and_not_another_schools(web_page, live_server, tmp_path):
    own = live_server.app.read_models.list_requests(demo.school("990001")).items[0]
    other = live_server.app.read_models.list_requests(demo.school("990201")).items[0]
    sign_in_as(web_page, live_server, "school 990001 (northmere-coast)")

    web_page.get_by_role("link", name=own.request_id[:8].upper()).click()
    expect(web_page).to_have_title(f"Request {own.request_id[:8].upper()} - SEND top-up funding")
    expect(web_page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(web_page.get_by_text("Request submitted")).to_be_visible()
    expect(web_page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Home")).to_be_visible()
    web_page.screenshot(path=tmp_path / "request-page.png", full_page=True)
    assert serious_violations(web_page) == []

    answer = web_page.goto(f"{live_server.url}/funding-requests/{other.request_id}")
    assert answer is not None and answer.status == 404
    expect(web_page.get_by_role("heading", name="Page not found")).to_be_visible()
