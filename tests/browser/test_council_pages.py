"""The council's pages in Chromium, on both stores, over the demo year: deciding an escalation,
filtering the decision log and downloading it, a request as it was, and the audit check; axe-core
on every page, its error states included."""

from __future__ import annotations

import csv
import io
from uuid import UUID

import pytest
from playwright.sync_api import Page, expect

from domain.values import RequestStatus
from funding_engine import demo
from tests.browser.conftest import LiveServer, serious_violations, sign_in_as
from tests.integration.tampering import Intruder


@pytest.fixture
def live_server(demo_server: LiveServer) -> LiveServer:
    """Every test here starts from the demo year: the server is over a copy of it."""
    return demo_server


TITLE = " - SEND top-up funding"


def looked_at(page: Page, folder, name: str) -> None:
    """A screenshot to look at, and axe-core's verdict on the page as it is."""
    page.screenshot(path=folder / f"{name}.png", full_page=True)
    assert serious_violations(page) == [], name


def test_the_council_decides_an_escalation(web_page, live_server: LiveServer, tmp_path):
    app = live_server.app
    (row,) = app.read_models.list_requests(demo.COUNCIL, status="escalated").items
    reference = row.request_id[:8].upper()
    sign_in_as(web_page, live_server, "council officer")

    expect(web_page).to_have_title("Escalations awaiting decision" + TITLE)
    table = web_page.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).to_contain_text("£9,500.00")
    expect(table).to_contain_text("£8,000.00")
    looked_at(web_page, tmp_path, "council-escalations")

    web_page.get_by_role("link", name=f"Decide on request {reference}").click()
    expect(web_page).to_have_title(f"Decide on request {reference}" + TITLE)
    expect(web_page.get_by_text("£88,000.00")).to_be_visible()
    looked_at(web_page, tmp_path, "council-decision-form")

    web_page.get_by_role("button", name="Record the decision").click()
    expect(web_page).to_have_title(f"Error: Decide on request {reference}" + TITLE)
    expect(web_page.get_by_role("alert")).to_contain_text("Select whether the council approves or declines")
    looked_at(web_page, tmp_path, "council-decision-errors")

    web_page.get_by_label("Approve from the council fund").check()
    web_page.get_by_label("Amount to approve, in pounds").fill("9,000")
    web_page.get_by_label("Reason for the decision").fill("Exceptional circumstances are shown.")
    web_page.get_by_role("button", name="Record the decision").click()

    expect(web_page).to_have_title("Escalations awaiting decision" + TITLE)
    expect(web_page.get_by_text(f"Request {reference} approved: £9,000.00 from the council fund")).to_be_visible()
    expect(web_page.get_by_text("No request is waiting for the council's decision.")).to_be_visible()
    looked_at(web_page, tmp_path, "council-escalations-after")
    decided = app.get_request(demo.COUNCIL, UUID(row.request_id))
    assert decided.status is RequestStatus.COUNCIL_APPROVED and decided.amount_approved.pence == 900_000

    answer = web_page.goto(f"{live_server.url}/council/requests/{row.request_id}/decision")
    assert answer is not None and answer.status == 409
    expect(web_page.get_by_role("alert")).to_contain_text("it is approved by council")
    expect(web_page.get_by_role("button", name="Record the decision")).to_have_count(0)
    looked_at(web_page, tmp_path, "council-decision-not-awaiting")

    answer = web_page.goto(f"{live_server.url}/council/escalations?cursor=not-ours")
    assert answer is not None and answer.status == 400
    expect(web_page.get_by_role("heading", name="That link does not work")).to_be_visible()
    looked_at(web_page, tmp_path, "council-escalations-bad-link")


def test_the_council_filters_the_log_and_downloads_it(web_page, live_server: LiveServer, tmp_path):
    sign_in_as(web_page, live_server, "council officer")

    web_page.get_by_role("link", name="Decision log").click()
    expect(web_page).to_have_title("Decision log" + TITLE)
    expect(web_page.get_by_role("table").locator("tbody tr")).to_have_count(12)  # the demo year's and last year's
    looked_at(web_page, tmp_path, "council-decision-log")

    web_page.get_by_label("Kind of decision").select_option(label="Escalated to council")
    web_page.get_by_label("School URN").fill("990201")
    web_page.get_by_role("button", name="Filter the log").click()
    expect(web_page).to_have_url(
        f"{live_server.url}/council/decisions?from=&to=&cluster=&school=990201&kind=escalation&decider="
    )
    rows = web_page.get_by_role("table").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Escalated to council")
    looked_at(web_page, tmp_path, "council-decision-log-filtered")

    with web_page.expect_download() as info:
        web_page.get_by_role("link", name="Download these decisions as a spreadsheet (CSV)").click()
    download = info.value
    assert download.suggested_filename.startswith("decision-log-") and download.suggested_filename.endswith(".csv")
    saved = tmp_path / "decisions.csv"
    download.save_as(saved)
    lines = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"), newline="")))
    assert lines[0][:4] == ["position", "kind", "request_id", "school_urn"]
    assert [(line[1], line[3], line[9]) for line in lines[1:]] == [
        ("escalation", "990201", "15000.00"),
        ("escalation", "990201", "9500.00"),
    ]

    web_page.get_by_label("School URN").fill("99020")
    web_page.get_by_label("Decided on or after").fill("2027-03-02")
    web_page.get_by_label("Decided on or before").fill("2027-03-01")
    web_page.get_by_role("button", name="Filter the log").click()
    expect(web_page).to_have_title("Error: Decision log" + TITLE)
    summary = web_page.get_by_role("alert")
    expect(summary).to_contain_text("Enter a school URN of 6 digits")
    expect(summary).to_contain_text("The to date must be the same as or after the from date")
    looked_at(web_page, tmp_path, "council-decision-log-errors")
    summary.get_by_role("link", name="Enter a school URN of 6 digits, like 990001").click()
    expect(web_page.get_by_label("School URN")).to_be_focused()


def test_the_council_sees_a_request_as_it_was_and_checks_the_audit_chain(
    web_page, live_server: LiveServer, database_url, tmp_path
):
    app = live_server.app
    row = app.read_models.list_requests(demo.COUNCIL, status="council_approved").items[0]
    history = app.request_history(demo.COUNCIL, UUID(row.request_id))
    escalated_at = next(entry.timestamp for entry in history if entry.type == "Escalated")
    sign_in_as(web_page, live_server, "council officer")

    web_page.goto(f"{live_server.url}/funding-requests/{row.request_id}")
    expect(web_page.get_by_role("button", name="Decide on this escalation")).to_have_count(0)
    looked_at(web_page, tmp_path, "council-request-page")

    web_page.get_by_label("See this request as it was at").fill("2001-01-01T09:00")
    web_page.get_by_role("button", name="Show it as it was").click()
    expect(web_page.get_by_role("alert")).to_contain_text("The request did not exist yet at 1 January 2001, 9:00am")
    looked_at(web_page, tmp_path, "council-request-as-of-error")

    # A date-time input stops at the minute; the demo's escalation and decision are milliseconds apart.
    web_page.goto(
        f"{live_server.url}/funding-requests/{row.request_id}?as_of={escalated_at.isoformat()}".replace("+", "%2B")
    )
    expect(web_page.get_by_text("This is the request as it was at")).to_be_visible()
    expect(web_page.locator(".govuk-tag").first).to_have_text("Escalated to council")
    expect(web_page.get_by_role("heading", name="Approved by the council")).to_have_count(0)
    looked_at(web_page, tmp_path, "council-request-as-of")

    web_page.get_by_role("link", name="Audit").click()
    expect(web_page).to_have_title("Audit check" + TITLE)
    web_page.get_by_role("button", name="Check the audit chain now").click()
    expect(web_page).to_have_title("Audit check: passed" + TITLE)
    expect(web_page.get_by_text("Passed", exact=True)).to_be_visible()
    looked_at(web_page, tmp_path, "council-audit")

    live_server.app.read_side.make_fresh()  # chained, as the follower does within moments
    [(state,)] = Intruder(database_url).execute("SELECT state FROM {events} WHERE {position} = 7")
    with Intruder(database_url).cursor() as cursor:
        cursor.execute("UPDATE {events} SET state = ? WHERE {position} = 7", (b"{ " + bytes(state)[1:],))
    web_page.get_by_role("button", name="Check again").click()
    expect(web_page).to_have_title("Audit check: failed" + TITLE)
    expect(web_page.get_by_text("Failed", exact=True)).to_be_visible()
    expect(web_page.locator(".govuk-summary-list")).to_contain_text("First bad position in the log\n7")
    looked_at(web_page, tmp_path, "council-audit-failed")
