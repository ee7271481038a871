"""A policy change in Chromium on both stores (issue 14): a council officer lowers the largest single
award, which waits for a second person; finance approves it from their own menu, and it is in force.
axe-core and a screenshot on every page of the journey."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from domain.money import Money
from funding_engine import demo
from tests.browser.conftest import LiveServer, sign_in_as
from tests.browser.test_finance_pages import check

TITLE = " - SEND top-up funding"


def test_a_policy_change_waits_for_a_second_person_and_then_counts(
    web_page: Page, live_server: LiveServer, tmp_path: Path
):
    live_server.app.register_cluster(demo.COUNCIL, "northmere-coast", "Northmere Coast")
    sign_in_as(web_page, live_server, "council officer")
    web_page.get_by_role("link", name="Policy", exact=True).click()
    expect(web_page).to_have_title(f"Funding policy{TITLE}")
    check(web_page, tmp_path, "policy")

    web_page.get_by_label("Parameter", exact=True).select_option(label="Largest single award")
    web_page.get_by_label("New value").fill("8000")
    web_page.get_by_label("Reason").fill("Cabinet, 12 November 2026, minute 14")
    web_page.get_by_role("button", name="Make the change").click()
    expect(web_page.locator(".govuk-notification-banner")).to_contain_text(
        "Change 1 proposed: Largest single award waits for a second person to approve it"
    )
    expect(web_page.get_by_role("button", name="Approve change 1")).to_have_count(0)
    check(web_page, tmp_path, "proposed")

    sign_in_as(web_page, live_server, "finance officer")
    web_page.get_by_role("link", name="Reports", exact=True).click()
    web_page.get_by_role("link", name="Funding policy").click()
    web_page.get_by_role("button", name="Approve change 1").click()
    expect(web_page.locator(".govuk-notification-banner")).to_contain_text("Change 1 approved")
    row = web_page.locator("#in-force tr", has_text="Largest single award")
    expect(row).to_contain_text("£8,000.00")
    expect(row).to_contain_text("Council change 1")
    check(web_page, tmp_path, "approved")
    assert live_server.app.policy_in_force().award_cap == Money.parse("8000.00")

    web_page.locator("#as_of-day").fill("1")
    web_page.locator("#as_of-month").fill("1")
    web_page.locator("#as_of-year").fill("2026")
    web_page.get_by_role("button", name="Show the policy then").click()
    expect(web_page.get_by_role("heading", name="In force at the end of 1 January 2026")).to_be_visible()
    expect(web_page.locator("#in-force tr", has_text="Largest single award")).to_contain_text("£10,000,000.00")
    check(web_page, tmp_path, "then")
