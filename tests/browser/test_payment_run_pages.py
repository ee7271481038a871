"""Finance pays what is due in a payment run, in Chromium on both stores, over the demo year: the
instalments due by a date, a run of them, its file downloaded, the bank's remittance built from that
file and imported, and the run paid; axe-core and a screenshot on every page of the journey."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.test_finance_pages import check, signed_in_finance

TITLE = " - SEND top-up funding"


def test_finance_pays_a_run_and_records_the_banks_remittance(web_page: Page, live_server, tmp_path: Path):
    signed_in_finance(web_page, live_server)
    web_page.get_by_role("link", name="Payment runs").click()
    expect(web_page).to_have_title(f"Payment runs{TITLE}")
    check(web_page, tmp_path, "runs")

    web_page.get_by_role("button", name="See instalments due and create a run").click()
    web_page.get_by_label("Day").fill("31")
    web_page.get_by_label("Month").fill("3")
    web_page.get_by_label("Year", exact=True).fill("2027")
    web_page.get_by_role("button", name="Show instalments due").click()
    expect(web_page.locator("#instalments-due tbody tr")).to_have_count(5)
    expect(web_page.locator("#total-due")).to_have_text("£16,000.00")
    check(web_page, tmp_path, "due")

    web_page.get_by_role("button", name="Create payment run").click()
    expect(web_page.locator(".govuk-notification-banner")).to_contain_text(
        "Payment run PR-000001 created: 5 lines, £16,000.00"
    )
    expect(web_page.get_by_role("heading", level=1)).to_contain_text("PR-000001")
    check(web_page, tmp_path, "run")

    with web_page.expect_download() as downloading:
        web_page.get_by_role("button", name="Download the run's file (CSV)").click()
    downloaded = downloading.value
    assert downloaded.suggested_filename == "payment-run-PR-000001.csv"
    rows = list(csv.DictReader(io.StringIO(Path(downloaded.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 5
    remittance = tmp_path / "remittance.csv"
    remittance.write_text(
        "reference,amount,date\n" + "".join(f"{row['line_reference']},{row['amount']},07/12/2026\n" for row in rows),
        encoding="utf-8",
    )

    web_page.get_by_role("link", name="Payment runs", exact=True).first.click()
    web_page.get_by_role("button", name="Import a remittance").click()
    check(web_page, tmp_path, "remittance")
    web_page.get_by_label("Remittance file (CSV)").set_input_files(str(remittance))
    web_page.get_by_role("button", name="Upload and import").click()
    expect(web_page.locator(".govuk-notification-banner")).to_contain_text(
        "remittance.csv imported: 5 payments of £16,000.00 recorded"
    )
    expect(web_page.locator("#paid-lines tbody tr")).to_have_count(5)
    check(web_page, tmp_path, "report")

    web_page.get_by_role("link", name="PR-000001-0001").click()
    expect(web_page.get_by_role("heading", level=1)).to_contain_text("Paid")
    expect(web_page.locator("#cancel-run")).to_have_count(0)
    check(web_page, tmp_path, "run-paid")
