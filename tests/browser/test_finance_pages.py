"""Finance's pages in Chromium on both stores, over the demo year: allocating and taking back a
budget, recording a payment, reconciling (clean, then with a planted difference) and downloading
the ledger; axe-core on every page and every error state, and a screenshot of each."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from uuid import UUID

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


YEAR = str(DEV_YEAR)
TITLE = " - SEND top-up funding"


def check(page: Page, folder: Path, name: str) -> None:
    """A screenshot to look at, and no serious or critical accessibility violation."""
    page.screenshot(path=folder / f"{name}.png", full_page=True)
    assert serious_violations(page) == [], name


def signed_in_finance(page: Page, server: LiveServer) -> None:
    sign_in_as(page, server, "finance officer")
    expect(page).to_have_url(f"{server.url}/finance/balances")


def test_finance_reads_every_balance_and_a_clusters_year(web_page, live_server, tmp_path):
    signed_in_finance(web_page, live_server)
    expect(web_page).to_have_title(f"Balances for {YEAR}{TITLE}")
    expect(web_page.get_by_role("heading", name="Balances", level=1)).to_be_visible()
    totals = web_page.locator("#cluster-balances tr").last
    expect(totals).to_contain_text("Total, all clusters")
    expect(totals).to_contain_text("£113,000.00")
    expect(web_page.locator("#council-fund")).to_contain_text("£100,000.00")
    check(web_page, tmp_path, "balances")

    web_page.get_by_role("link", name="Northmere Coast (fictional)").click()
    expect(web_page.get_by_role("heading", name="Northmere Coast (fictional)", level=1)).to_be_visible()
    expect(web_page.locator("#cluster-requests tbody tr")).to_have_count(5)
    check(web_page, tmp_path, "cluster")

    web_page.goto(f"{live_server.url}/finance/balances?financial_year=twenty")
    expect(web_page.locator(".govuk-error-summary")).to_contain_text("Enter a financial year like 2026-27")
    check(web_page, tmp_path, "balances-bad-year")


def test_finance_allocates_and_takes_back_a_budget(web_page, live_server, tmp_path):
    signed_in_finance(web_page, live_server)
    web_page.get_by_role("link", name="Allocations").click()
    expect(web_page).to_have_title(f"Allocations for {YEAR}{TITLE}")
    check(web_page, tmp_path, "allocations")

    web_page.get_by_role("button", name="Record allocation", exact=True).click()
    summary = web_page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Select a cluster")
    expect(summary).to_contain_text("Enter the amount")
    check(web_page, tmp_path, "allocations-errors")

    web_page.get_by_label("Cluster", exact=True).select_option("marshfield-vale")
    web_page.get_by_role("group", name="Add or take back").first.get_by_label("Add money").check()
    web_page.locator("#amount").fill("2,000")
    web_page.locator("#note").fill("in-year top-up")
    web_page.get_by_role("button", name="Record allocation", exact=True).click()
    expect(web_page.locator(".govuk-notification-banner--success")).to_contain_text(
        f"£2,000.00 added to the marshfield-vale budget for {YEAR}"
    )
    assert live_server.app.read_models.balance(demo.FINANCE, "marshfield-vale", YEAR).figures.allocated == 10_000_00
    check(web_page, tmp_path, "allocations-done")

    web_page.get_by_label("Cluster", exact=True).select_option("northmere-coast")
    web_page.locator("#direction-2").check()
    web_page.locator("#amount").fill("60000")
    web_page.get_by_role("button", name="Record allocation", exact=True).click()
    expect(web_page.locator(".govuk-error-summary")).to_contain_text("You can take back at most")
    expect(web_page.locator("#amount")).to_have_value("60000")
    check(web_page, tmp_path, "allocations-refused")

    web_page.locator("#fund_direction").check()
    web_page.locator("#fund_amount").fill("500")
    web_page.get_by_role("button", name="Record council fund allocation").click()
    expect(web_page.locator(".govuk-notification-banner--success")).to_contain_text("£500.00 added to the council fund")


def test_finance_records_a_payment(web_page, live_server, tmp_path):
    signed_in_finance(web_page, live_server)
    (row,) = live_server.app.read_models.list_requests(
        demo.FINANCE, status=RequestStatus.COUNCIL_APPROVED, financial_year=YEAR
    ).items
    reference = row.request_id[:8].upper()
    web_page.get_by_role("link", name="Payments").click()
    expect(web_page.locator("#awaiting-payment tbody tr")).to_have_count(2)
    check(web_page, tmp_path, "payments")

    web_page.get_by_role("link", name=f"Record a payment for request {reference}").click()
    expect(web_page).to_have_title(f"Record a payment for request {reference}{TITLE}")
    # What is unpaid on the first instalment, checked first: 5/12 of the year's £12,000.00.
    expect(web_page.get_by_label("Amount paid")).to_have_value("5000.00")
    check(web_page, tmp_path, "payment")

    web_page.get_by_label("Whatever is due next, in date order").check()  # the whole award at once
    web_page.get_by_label("Amount paid").fill("12000.01")
    web_page.get_by_label("Payment reference").fill("BACS-990202-01")
    web_page.get_by_role("button", name="Record payment").click()
    expect(web_page.locator(".govuk-error-summary")).to_contain_text("at most £12,000.00")
    check(web_page, tmp_path, "payment-refused")

    web_page.get_by_label("Amount paid").fill("12000")
    web_page.get_by_role("button", name="Record payment").click()
    expect(web_page.locator(".govuk-notification-banner--success")).to_contain_text("Payment of £12,000.00 recorded")
    expect(web_page.locator("#awaiting-payment tbody tr")).to_have_count(1)
    paid = live_server.app.get_request(demo.FINANCE, UUID(row.request_id))
    assert paid.status is RequestStatus.PAID

    web_page.goto(f"{live_server.url}/funding-requests/{row.request_id}")
    expect(web_page.locator("#payments-so-far")).to_contain_text("BACS-990202-01")
    expect(web_page.get_by_role("link", name="Record a payment")).to_have_count(0)
    check(web_page, tmp_path, "request-paid")


def test_finance_reconciles_and_sees_a_planted_difference(web_page, live_server, tmp_path):
    signed_in_finance(web_page, live_server)
    web_page.get_by_role("link", name="Reconciliation").click()
    expect(web_page).to_have_title(f"Reconciliation for {YEAR}{TITLE}")
    expect(web_page.locator("#reconciliation-result")).to_contain_text("All clear.")
    check(web_page, tmp_path, "reconcile-clear")

    app = live_server.app
    app.read_side.make_fresh()
    with app.read_side.database.transaction() as cursor:
        cursor.execute(
            "UPDATE council_fund_balances SET paid = paid + 250 WHERE financial_year = ?",
            (YEAR,),
        )
    web_page.reload()
    expect(web_page.locator("#reconciliation-result")).to_contain_text("Differences found")
    cell = web_page.locator('#reconciled-fund [data-differs="paid"]')
    expect(cell).to_contain_text("Read model: £2.50")
    expect(cell).to_contain_text("Event log: £0.00")
    expect(web_page.locator('[data-difference="council_fund_balances"]')).to_contain_text("£2.50")
    check(web_page, tmp_path, "reconcile-difference")


def test_finance_downloads_the_ledger(web_page, live_server, tmp_path):
    signed_in_finance(web_page, live_server)
    web_page.get_by_role("link", name="Reports").click()
    web_page.get_by_role("link", name="Finance ledger").click()
    expect(web_page).to_have_title(f"Ledger for {YEAR}{TITLE}")
    check(web_page, tmp_path, "ledger")

    with web_page.expect_download() as downloading:
        web_page.get_by_role("button", name=f"Download the {YEAR} ledger (CSV)").click()
    download = downloading.value
    assert download.suggested_filename == f"ledger-{YEAR}.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    expected = io.StringIO()
    live_server.app.read_models.write_ledger_csv(demo.FINANCE, YEAR, expected)
    assert saved.read_text(encoding="utf-8") == expected.getvalue()
    movements = Counter(row["movement"] for row in csv.DictReader(io.StringIO(expected.getvalue())))
    # Last year's close carried money in (nothing for Marshfield Vale, which carried £0.00), each fund's
    # allocation, the commissioned service, four commitments, the autumn term, the recovered award and three
    # months in a run, the recovery and the release.
    assert movements == {
        "carry_forward_in": 3, "allocation": 4, "commission": 1, "commitment": 4, "payment": 5, "recovery": 1,
        "release": 1,
    }  # fmt: skip
    assert expected.getvalue().count("\n") == 20  # a header and the demo year's nineteen money movements
