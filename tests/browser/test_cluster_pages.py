"""The cluster lead's pages in Chromium, on both stores, over the demo year: the lead works the
queue, approves one request and declines another with a coded reason; and axe-core finds no serious
or critical violation on any of the lead's pages, error states included. Screenshots are left in
each test's folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from domain.values import RequestStatus
from funding_engine import demo
from funding_engine.dev_mode import DEV_YEAR
from tests.browser.conftest import LiveServer, serious_violations, sign_in_as


@pytest.fixture
def live_server(demo_server: LiveServer) -> LiveServer:
    """Every test here starts from the demo year: the server is over a copy of it."""
    return demo_server


LEAD = "lead, northmere-coast"
YEAR = str(DEV_YEAR)


def checked(page: Page, folder: Path, name: str) -> None:
    """A full-page screenshot, then axe-core on the page as it is."""
    page.screenshot(path=folder / f"{name}.png", full_page=True)
    assert serious_violations(page) == [], name


def status_of(server: LiveServer, reference: str) -> RequestStatus:
    rows = server.app.read_models.list_requests(demo.lead("northmere-coast"), limit=100).items
    (row,) = [row for row in rows if row.request_id[:8].upper() == reference]
    return RequestStatus(row.status)


def test_lead_works_the_queue_approving_one_and_declining_one(web_page, live_server, tmp_path):
    page = web_page
    sign_in_as(page, live_server, LEAD)
    expect(page).to_have_title("Work queue - SEND top-up funding")
    queue = page.get_by_role("table", name="Requests to decide, oldest first")
    expect(queue.get_by_role("row")).to_have_count(4)  # a header and three open requests
    checked(page, tmp_path, "queue")

    page.get_by_label("Status").select_option("evidenced")
    page.get_by_role("button", name="Apply filters").click()
    expect(queue.get_by_role("row")).to_have_count(2)
    evidenced = queue.get_by_role("link").first.inner_text()
    page.get_by_role("link", name=evidenced).click()
    expect(page).to_have_title(f"Request {evidenced} - SEND top-up funding")
    expect(page.get_by_role("row", name="Available after approving the amount requested £40,047.63")).to_be_visible()
    checked(page, tmp_path, "request-page")

    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name=f"Approve request {evidenced}")).to_be_visible()
    expect(page.get_by_label("Amount to approve")).to_have_value("6500.00")
    checked(page, tmp_path, "approve-form")
    page.get_by_label("Amount to approve").fill("")
    page.get_by_role("button", name="Approve the request").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Enter the amount to approve")
    expect(summary).to_contain_text("Enter why you are approving the request")
    expect(page).to_have_title(f"Error: Approve request {evidenced} - SEND top-up funding")
    checked(page, tmp_path, "approve-form-errors")
    assert status_of(live_server, evidenced) is RequestStatus.EVIDENCED

    page.get_by_label("Amount to approve").fill("6,000.00")
    page.get_by_label("Why you are approving it").fill("Spend evidence shows the school's own funds are used.")
    page.get_by_role("button", name="Approve the request").click()
    expect(page).to_have_title("Work queue - SEND top-up funding")
    expect(page.get_by_text(f"You approved £6,000.00 for request {evidenced}")).to_be_visible()
    checked(page, tmp_path, "queue-after-approval")
    assert status_of(live_server, evidenced) is RequestStatus.CLUSTER_APPROVED

    submitted = queue.get_by_role("link").first.inner_text()
    page.get_by_role("link", name=submitted).click()
    page.get_by_role("button", name="Decline").click()
    page.get_by_role("button", name="Decline the request").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose why you are declining the request")
    checked(page, tmp_path, "decline-form-errors")
    page.get_by_label("Not eligible").check()
    page.get_by_label("Explain the decision to the school").fill("Outside the scheme's criteria.")
    page.get_by_role("button", name="Decline the request").click()
    expect(page.get_by_text(f"You declined request {submitted}: Not eligible")).to_be_visible()
    assert status_of(live_server, submitted) is RequestStatus.CLUSTER_DECLINED
    budget = live_server.app.read_models.balance(demo.lead("northmere-coast"), "northmere-coast", YEAR)
    assert budget.figures.available == 4_654_763 - 600_000  # the demo's £46,547.63 less the £6,000.00 approved


def test_every_lead_page_passes_axe(web_page, live_server, tmp_path):
    app = live_server.app
    head = demo.school("990202")
    request = app.submit_request(
        head,
        school_urn="990202",
        financial_year=YEAR,
        amount_requested="9000.00",
        reason="complex_needs",
        pupil_count=1,
        needs_summary="A pupil with complex needs.",
        planned_provision=[{"category": "therapies", "amount": "9000.00"}],
    )
    app.provide_evidence(head, request.id, **demo.EVIDENCE)
    page = web_page
    sign_in_as(page, live_server, "lead, marshfield-vale")
    page.goto(f"{live_server.url}/funding-requests/{request.id.hex}")
    expect(page.get_by_text("The cluster cannot afford the full amount requested")).to_be_visible()
    checked(page, tmp_path, "request-page-short")
    page.get_by_role("button", name="Escalate to the council").click()
    checked(page, tmp_path, "escalate-form")
    page.goto(f"{live_server.url}/cluster/requests/{request.id.hex}/request-information")
    page.get_by_role("button", name="Send the question to the school").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter what you need the school to tell you")
    checked(page, tmp_path, "information-form-errors")

    sign_in_as(page, live_server, LEAD)
    page.goto(f"{live_server.url}/cluster/commissions?year={YEAR}")
    expect(page.get_by_role("cell", name="Coastline Educational Psychology (fictional)")).to_be_visible()
    checked(page, tmp_path, "commissions")
    page.get_by_role("button", name="Commission the service").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose the service you are commissioning")
    checked(page, tmp_path, "commissions-errors")
    page.get_by_label("Service", exact=True).select_option("camhs")
    page.get_by_label("Provider").fill("Harbour CAMHS (fictional)")
    page.get_by_label("Cost").fill("2000")
    page.get_by_label("School 990002").check()
    page.get_by_label("What the service will do").fill("Drop-in clinics each fortnight.")
    page.get_by_role("button", name="Commission the service").click()
    expect(page.get_by_text("You commissioned CAMHS from Harbour CAMHS (fictional) for £2,000.00")).to_be_visible()

    page.goto(f"{live_server.url}/cluster/budget?year={YEAR}")
    expect(page.get_by_role("img", name=f"northmere-coast's budget over {YEAR}, month by month")).to_be_visible()
    expect(page.get_by_role("img", name=f"northmere-coast's committed spend by category, {YEAR}")).to_be_visible()
    page.get_by_text("Show the budget over the year as a table").click()
    page.get_by_text("Show the spend by category as a table").click()
    expect(page.get_by_role("rowheader", name="CAMHS (commissioned)")).to_be_visible()
    checked(page, tmp_path, "budget")
    page.goto(f"{live_server.url}/cluster/queue?status=any&year=1999")
    checked(page, tmp_path, "queue-errors")
