"""The money after a decision in Chromium, on both stores, over the demo year: a lead approves an
award for the academic year (two financial years), paid termly, with its first instalment held
until a reviewed plan arrives; lifts the hold; finance pays that instalment; the lead releases the
rest when the pupil leaves. axe-core on every page and error state, and a screenshot of each."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from playwright.sync_api import Locator, Page, expect

from domain.values import FinancialYear, RequestStatus
from funding_engine import demo
from funding_engine.dev_mode import DEV_YEAR
from tests.browser.conftest import LiveServer, serious_violations, sign_in_as


@pytest.fixture
def live_server(demo_server: LiveServer) -> LiveServer:
    """Every test here starts from the demo year: the server is over a copy of it."""
    return demo_server


YEAR, NEXT_YEAR = str(DEV_YEAR), str(FinancialYear(DEV_YEAR.start_year + 1))
NORTHMERE = "northmere-coast"


def check(page: Page, folder: Path, name: str) -> None:
    """A screenshot to look at, and no serious or critical accessibility violation."""
    page.screenshot(path=folder / f"{name}.png", full_page=True)
    assert serious_violations(page) == [], name


def banner(page: Page) -> Locator:
    return page.locator(".govuk-notification-banner--success")


def fill_date(page: Page, name: str, day: int, month: int, year: int) -> None:
    page.locator(f"#{name}-day").fill(str(day))
    page.locator(f"#{name}-month").fill(str(month))
    page.locator(f"#{name}-year").fill(str(year))


def test_a_lead_approves_an_academic_year_award_held_then_paid_then_released(
    web_page: Page, live_server: LiveServer, tmp_path: Path
):
    app = live_server.app
    (row,) = app.read_models.list_requests(demo.lead(NORTHMERE), status="evidenced").items
    request_page = f"{live_server.url}/funding-requests/{row.request_id}"
    available_before = app.budget_year_end(demo.FINANCE, NORTHMERE, YEAR).available.pence
    # The demo's own academic-year award already commits its summer share ahead on next year.
    forward_before = app.budget_year_end(demo.FINANCE, NORTHMERE, NEXT_YEAR).forward.pence

    # The lead approves £6,500 for September to August, termly, the first term held.
    sign_in_as(web_page, live_server, f"lead, {NORTHMERE}")
    web_page.goto(request_page)
    web_page.get_by_role("button", name="Approve", exact=True).click()
    expect(web_page.get_by_role("heading", name="When and how the award is paid")).to_be_visible()
    check(web_page, tmp_path, "approve")
    web_page.get_by_label("Why you are approving it").fill("The evidence shows the school's own funds are used.")
    fill_date(web_page, "starts_on", 1, 9, DEV_YEAR.start_year)
    fill_date(web_page, "ends_on", 31, 8, DEV_YEAR.start_year + 1)
    web_page.get_by_label("Number of the instalment to hold").fill("1")
    web_page.get_by_role("button", name="Approve the request").click()
    expect(web_page.locator(".govuk-error-summary")).to_contain_text("Enter what the held instalment waits for")
    check(web_page, tmp_path, "approve-errors")
    web_page.get_by_label("Hold it until").fill("the reviewed provision plan arrives")
    web_page.get_by_role("button", name="Approve the request").click()
    expect(banner(web_page)).to_contain_text("You approved £6,500.00 for request")

    web_page.goto(request_page)
    instalments = web_page.locator("#instalments tbody tr")
    expect(instalments).to_have_count(4)
    expect(instalments.nth(0)).to_contain_text("the reviewed provision plan arrives")
    expect(instalments.nth(2)).to_contain_text(NEXT_YEAR)
    expect(instalments.nth(3)).to_contain_text("£2,166.66 held")
    check(web_page, tmp_path, "request-held")

    # The reviewed plan arrives: the lead lifts the hold.
    web_page.get_by_role("button", name="Lift a hold").click()
    check(web_page, tmp_path, "lift-hold")
    web_page.get_by_role("button", name="Lift the hold").click()
    expect(web_page.locator(".govuk-error-summary")).to_contain_text("Choose the held instalment to pay")
    check(web_page, tmp_path, "lift-hold-errors")
    web_page.get_by_label("Instalment 1, due 1 September").check()
    web_page.get_by_label("What met the condition (optional)").fill("The reviewed plan arrived.")
    web_page.get_by_role("button", name="Lift the hold").click()
    expect(banner(web_page)).to_contain_text("The hold on instalment 1 of request")
    expect(web_page.locator("#instalments tbody tr").nth(3)).not_to_contain_text("held")
    check(web_page, tmp_path, "request-lifted")

    # Finance pays the first instalment, on the day the money left.
    sign_in_as(web_page, live_server, "finance officer")
    web_page.goto(request_page)
    web_page.get_by_role("button", name="Record a payment").click()
    expect(web_page.get_by_label("Instalment 1, due 1 September")).to_be_checked()
    expect(web_page.locator("#amount")).to_have_value("2166.66")
    check(web_page, tmp_path, "payment")
    fill_date(web_page, "paid_on", 2, 9, DEV_YEAR.start_year)
    web_page.get_by_label("Payment reference").fill("BACS-990002-01")
    web_page.get_by_role("button", name="Record payment").click()
    expect(banner(web_page)).to_contain_text("Payment of £2,166.66 recorded for instalment 1 of request")
    check(web_page, tmp_path, "payments")

    # The pupil leaves: the lead releases what is still unpaid.
    sign_in_as(web_page, live_server, f"lead, {NORTHMERE}")
    web_page.goto(request_page)
    web_page.get_by_role("button", name="Release the unpaid part").click()
    check(web_page, tmp_path, "release")
    web_page.get_by_label("The pupil left").check()
    web_page.get_by_label("Explain the release").fill("The pupil moved to a school in another county.")
    web_page.get_by_role("button", name="Release the money").click()
    expect(banner(web_page)).to_contain_text("£4,333.34 of request")
    expect(web_page.locator("#instalments tbody tr").nth(3)).to_contain_text("£4,333.34")  # the total released
    expect(web_page.get_by_role("button", name="Release the unpaid part")).to_have_count(0)
    check(web_page, tmp_path, "request-released")

    released = app.get_request(demo.FINANCE, UUID(row.request_id))
    assert released.status is RequestStatus.RELEASED
    award = released.current_award()
    assert award.paid.pence == 2_166_66 and award.released.pence == 4_333_34
    after = app.budget_year_end(demo.FINANCE, NORTHMERE, YEAR).available.pence
    assert after == available_before - 2_166_66  # only what was paid stays spent
    # This award's share of next year came back whole: only the demo's own is still committed ahead.
    assert app.budget_year_end(demo.FINANCE, NORTHMERE, NEXT_YEAR).forward.pence == forward_before
