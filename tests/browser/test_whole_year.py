"""A whole year through the browser, on SQLite and on PostgreSQL: every role signs in in turn and
does its part on the pages alone, from an empty store to a reconciled year.

The council registers the cluster and its schools; finance allocates the cluster's budget and
the council fund; a school submits three requests and shows its spend; the lead asks for
information, the school answers; the lead approves one, declines one with a coded reason,
commissions a service and escalates the one the cluster cannot afford; the council decides it;
finance pays both awards, reconciles, and downloads the ledger; the council downloads the
decision log and verifies the audit chain. Every figure is then checked against the read models
to the penny, and axe-core runs on each page the year passes through.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import Page, expect

from funding_engine import demo
from funding_engine.application.calendar import current_financial_year
from tests.browser.conftest import LiveServer, serious_violations, sign_in_as

YEAR = str(current_financial_year())
SCHOOL = "school 990001 (northmere-coast)"
LEAD = "lead, northmere-coast"


def checked(page: Page, folder: Path, name: str) -> None:
    """A screenshot to look at, and no serious or critical accessibility violation."""
    page.screenshot(path=folder / f"{name}.png", full_page=True)
    assert serious_violations(page) == [], name


def success(page: Page, text: str) -> None:
    expect(page.get_by_role("alert", name="Success")).to_contain_text(text)


def submit_request(page: Page, server: LiveServer, folder: Path, amount: str, needs: str, category: str) -> str:
    """The school's four questions and check-your-answers; returns the new request's id."""
    page.goto(f"{server.url}/school/requests")
    page.get_by_role("button", name="Start a request").click()
    page.get_by_role("radio", name=YEAR, exact=False).first.check()
    page.get_by_role("radio", name="Pupils with complex needs").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("How many pupils is it for?").fill("1")
    page.get_by_label("Summarise their needs").fill(needs)
    page.get_by_role("button", name="Continue").click()
    page.locator("#category-1").select_option(category)
    page.locator("#amount-1").fill(amount)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("How much top-up funding are you asking for?")).to_have_value(amount)
    page.get_by_role("button", name="Continue").click()
    checked(page, folder, f"check-answers-{amount}")
    page.get_by_role("button", name="Submit request").click()
    expect(page.get_by_role("heading", name="Request submitted")).to_be_visible()
    return page.url.split("/school/requests/")[1].split("/")[0]


def add_evidence(page: Page, server: LiveServer, request_id: str, button: str = "Save spend evidence") -> None:
    page.goto(f"{server.url}/school/requests/{request_id}/evidence")
    page.get_by_label("Your notional SEN budget for the year").fill("18,500")
    page.locator("#category-1").select_option("one_to_one_and_small_group_support")
    page.locator("#amount-1").fill("12,400")
    page.locator("#note-1").fill("three teaching assistants")
    page.get_by_role("button", name=button).click()


def lead_decides(page: Page, server: LiveServer, request_id: str, decision: str) -> None:
    page.goto(f"{server.url}/funding-requests/{request_id}")
    page.get_by_role("button", name=decision, exact=True).click()


def test_a_whole_year_through_the_browser(web_page: Page, live_server: LiveServer, tmp_path: Path):
    page, server, app = web_page, live_server, live_server.app

    # The council sets up the cluster and its schools.
    sign_in_as(page, server, "council officer")
    page.get_by_role("link", name="Clusters").click()
    page.get_by_label("Short name").fill("northmere-coast")
    page.get_by_label("Name", exact=True).fill("Northmere Coast")
    page.get_by_role("button", name="Register cluster").click()
    success(page, "Cluster Northmere Coast registered")
    for urn in ("990001", "990002"):
        page.get_by_label("School URN").fill(urn)
        page.get_by_role("button", name="Add school").click()
        success(page, f"School {urn} added to the cluster")
    checked(page, tmp_path, "council-cluster")

    # Finance allocates the cluster's budget and the council fund.
    sign_in_as(page, server, "finance officer")
    page.get_by_role("link", name="Allocations").click()
    page.get_by_label("Cluster", exact=True).select_option("northmere-coast")
    page.locator("#financial_year").select_option(YEAR)
    page.locator("#direction").check()
    page.locator("#amount").fill("10,000")
    page.locator("#note").fill("delegated SEN funding for the year")
    page.get_by_role("button", name="Record allocation", exact=True).click()
    page.locator("#fund_financial_year").select_option(YEAR)
    page.locator("#fund_direction").check()
    page.locator("#fund_amount").fill("50,000")
    page.get_by_role("button", name="Record council fund allocation").click()
    checked(page, tmp_path, "finance-allocations")
    assert app.read_models.balance(demo.FINANCE, "northmere-coast", YEAR).figures.allocated == 10_000_00
    assert app.read_models.council_fund_balance(demo.FINANCE, YEAR).figures.allocated == 50_000_00

    # The school asks for three top-ups and shows its own spend on two.
    sign_in_as(page, server, SCHOOL)
    interpreters = submit_request(page, server, tmp_path, "3,000.00", "One pupil needs an interpreter.", "interpreters")
    residential = submit_request(page, server, tmp_path, "20,000.00", "Exceptional needs this year.", "therapies")
    tuition = submit_request(page, server, tmp_path, "1,000.00", "Extra tuition in maths.", "specialist_tuition")
    add_evidence(page, server, interpreters)
    success(page, "Spend evidence added")
    add_evidence(page, server, residential)
    checked(page, tmp_path, "school-requests")

    # The lead asks about one; the school answers.
    sign_in_as(page, server, LEAD)
    queue = page.get_by_role("table", name="Requests to decide, oldest first")
    expect(queue.locator("tbody tr")).to_have_count(3)
    checked(page, tmp_path, "lead-queue")
    lead_decides(page, server, interpreters, "Request information")
    page.get_by_label("What you need the school to tell you").fill("How many hours a week of interpreting?")
    page.get_by_role("button", name="Send the question to the school").click()

    sign_in_as(page, server, SCHOOL)
    page.goto(f"{server.url}/funding-requests/{interpreters}")
    expect(page.get_by_role("region", name="Important")).to_contain_text("How many hours a week of interpreting?")
    page.get_by_role("button", name="Answer the information request").click()
    page.locator("#note-1").fill("three teaching assistants; 10 hours a week of interpreting")
    page.get_by_role("button", name="Send your answer").click()
    success(page, "Your answer was sent to the cluster lead")

    # The lead approves, declines, commissions and escalates.
    sign_in_as(page, server, LEAD)
    lead_decides(page, server, interpreters, "Approve")
    page.get_by_label("Amount to approve").fill("3,000")
    page.get_by_label("Single payment").check()  # one instalment, so finance pays it whole below
    page.get_by_label("Why you are approving it").fill("The school's own spend is shown.")
    page.get_by_role("button", name="Approve the request").click()
    success(page, "You approved £3,000.00")

    lead_decides(page, server, tuition, "Decline")
    page.get_by_label("Needs can be met within the school's resources").check()
    page.get_by_label("Explain the decision to the school").fill("Within the school's own resources.")
    page.get_by_role("button", name="Decline the request").click()
    success(page, "You declined request")

    page.get_by_role("link", name="Commissions").click()
    page.get_by_label("Service", exact=True).select_option("educational_psychology")
    page.get_by_label("Provider").fill("Coastline Educational Psychology (fictional)")
    page.get_by_label("Cost").fill("2,000")
    page.get_by_label("School 990002").check()
    page.get_by_label("What the service will do").fill("Assessments for the cluster's schools.")
    page.get_by_role("button", name="Commission the service").click()
    success(page, "You commissioned Educational psychology")
    checked(page, tmp_path, "lead-commissions")

    page.goto(f"{server.url}/funding-requests/{residential}")
    expect(page.get_by_text("The cluster cannot afford the full amount requested")).to_be_visible()
    checked(page, tmp_path, "lead-request-page")
    page.get_by_role("button", name="Escalate to the council").click()
    page.get_by_label("The exceptional circumstances").fill("Needs far beyond the cluster's means this year.")
    page.get_by_role("button", name="Escalate to the council").click()
    page.get_by_role("link", name="Budget").click()
    checked(page, tmp_path, "lead-budget")

    # The council decides the escalation.
    sign_in_as(page, server, "council officer")
    checked(page, tmp_path, "council-escalations")
    page.get_by_role("link", name=f"Decide on request {residential[:8].upper()}").click()
    page.get_by_label("Approve from the council fund").check()
    page.get_by_label("Amount to approve, in pounds").fill("15,000")
    page.get_by_label("Single payment").check()
    page.get_by_label("Reason for the decision").fill("Exceptional circumstances are shown.")
    page.get_by_role("button", name="Record the decision").click()
    success(page, "£15,000.00 from the council fund")

    # Finance pays both awards, reconciles and downloads the ledger.
    sign_in_as(page, server, "finance officer")
    for request_id, amount in ((interpreters, "3000.00"), (residential, "15000.00")):
        page.get_by_role("link", name="Payments").click()
        page.get_by_role("link", name=f"Record a payment for request {request_id[:8].upper()}").click()
        expect(page.get_by_label("Amount paid")).to_have_value(amount)
        page.get_by_label("Payment reference").fill(f"BACS-{request_id[:6]}")
        page.get_by_role("button", name="Record payment").click()
    checked(page, tmp_path, "finance-payments")
    page.get_by_role("link", name="Reconciliation").click()
    expect(page.get_by_text("All clear.")).to_be_visible()
    checked(page, tmp_path, "finance-reconcile")
    page.get_by_role("link", name="Reports").click()
    page.get_by_role("link", name="Finance ledger").click()
    with page.expect_download() as downloading:
        page.get_by_role("button", name=f"Download the {YEAR} ledger (CSV)").click()
    ledger = list(csv.DictReader(io.StringIO(Path(downloading.value.path()).read_text())))
    payments = sorted(row["amount"] for row in ledger if row["movement"] == "payment")
    assert payments == ["15000.00", "3000.00"], ledger

    # The council reads the decision log, downloads it, and checks the audit chain.
    sign_in_as(page, server, "council officer")
    page.get_by_role("link", name="Decision log").click()
    checked(page, tmp_path, "council-decision-log")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download all decisions as a spreadsheet (CSV)").click()
    decisions = list(csv.DictReader(io.StringIO(Path(downloading.value.path()).read_text())))
    kinds = sorted(row["kind"] for row in decisions)
    assert kinds == sorted(
        ["information_request", "cluster_approval", "cluster_decline", "commission", "escalation", "council_approval"]
    ), kinds
    page.get_by_role("link", name="Audit").click()
    page.get_by_role("button", name="Check the audit chain now").click()
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()

    # Every figure, to the penny, as the read models and the log have it.
    budget = app.read_models.balance(demo.FINANCE, "northmere-coast", YEAR).figures
    assert (budget.allocated, budget.committed, budget.commissioned, budget.paid) == (
        10_000_00,
        3_000_00,
        2_000_00,
        3_000_00,
    )
    assert budget.available == 5_000_00
    fund = app.read_models.council_fund_balance(demo.FINANCE, YEAR).figures
    assert (fund.allocated, fund.committed, fund.paid, fund.available) == (50_000_00, 15_000_00, 15_000_00, 35_000_00)
    statuses = {row.request_id: row.status for row in app.read_models.list_requests(demo.COUNCIL).items}
    assert statuses == {interpreters: "paid", residential: "paid", tuition: "cluster_declined"}
    assert app.read_models.reconcile(demo.FINANCE, YEAR).consistent
