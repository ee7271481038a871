"""Finance pays what is due in a payment run, in Chromium on both stores, over the demo year: the
instalments due by a date, a run of them, its file downloaded, the bank's remittance built from that
file and imported, and the run paid; axe-core and a screenshot on every page of the journey.

The demo is loaded as on 30 November 2026 (its own open run takes what is due on the day it is loaded),
so by 31 March 2027 two instalments (£5,000.00) are due in no run, and the run made here is the third."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from funding_engine import demo
from funding_engine.application import FundingApplication
from tests.browser.conftest import LiveServer
from tests.browser.test_finance_pages import check, signed_in_finance

TITLE = " - SEND top-up funding"
DEMO_DAY = date(2026, 11, 30)  # after the demo's run of September to November, before the spring term is due


@pytest.fixture
def demo_day(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before the demo is copied: its copy is of a demo loaded as of this day (tests/demo_copies.py).
    monkeypatch.setattr(FundingApplication, "today", staticmethod(lambda: DEMO_DAY))


@pytest.fixture
def live_server(demo_day: None, demo_server: LiveServer) -> LiveServer:
    return demo_server


def test_finance_pays_a_run_and_records_the_banks_remittance(web_page: Page, live_server, tmp_path: Path):
    signed_in_finance(web_page, live_server)
    demo_runs = live_server.app.payment_runs(demo.FINANCE).items
    assert sorted(run.reference for run in demo_runs) == ["PR-000001", "PR-000002"]  # so the run made here is PR-000003
    web_page.get_by_role("link", name="Payment runs").click()
    expect(web_page).to_have_title(f"Payment runs{TITLE}")
    check(web_page, tmp_path, "runs")

    web_page.get_by_role("button", name="See instalments due and create a run").click()
    web_page.get_by_label("Day").fill("31")
    web_page.get_by_label("Month").fill("3")
    web_page.get_by_label("Year", exact=True).fill("2027")
    web_page.get_by_role("button", name="Show instalments due").click()
    expect(web_page.locator("#instalments-due tbody tr")).to_have_count(2)
    expect(web_page.locator("#total-due")).to_have_text("£5,000.00")
    check(web_page, tmp_path, "due")

    web_page.get_by_role("button", name="Create payment run").click()
    expect(web_page.locator(".govuk-notification-banner")).to_contain_text(
        "Payment run PR-000003 created: 2 lines, £5,000.00"
    )
    expect(web_page.get_by_role("heading", level=1)).to_contain_text("PR-000003")
    check(web_page, tmp_path, "run")

    with web_page.expect_download() as downloading:
        web_page.get_by_role("button", name="Download the run's file (CSV)").click()
    downloaded = downloading.value
    assert downloaded.suggested_filename == "payment-run-PR-000003.csv"
    rows = list(csv.DictReader(io.StringIO(Path(downloaded.path()).read_text(encoding="utf-8"))))
    assert sorted(row["amount"] for row in rows) == ["2000.00", "3000.00"]
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
        "remittance.csv imported: 2 payments of £5,000.00 recorded"
    )
    expect(web_page.locator("#paid-lines tbody tr")).to_have_count(2)
    check(web_page, tmp_path, "report")

    web_page.get_by_role("link", name="PR-000003-0001").click()
    expect(web_page.get_by_role("heading", level=1)).to_contain_text("Paid")
    expect(web_page.locator("#cancel-run")).to_have_count(0)
    check(web_page, tmp_path, "run-paid")
