"""The school's pages in Chromium on both stores: a request started through every question to the
confirmation, spend evidence with a real file chosen (hashed, never kept), another request
withdrawn; axe-core on every page on the way, the error summary included."""

from __future__ import annotations

import hashlib
from pathlib import Path
from uuid import UUID

import pytest
from playwright.sync_api import Page, expect

from domain.values import RequestStatus
from funding_engine import demo
from funding_engine.application.calendar import current_financial_year
from tests.browser.conftest import LiveServer, serious_violations, sign_in_as


@pytest.fixture
def live_server(demo_server: LiveServer) -> LiveServer:
    """Every test here starts from the demo year: the server is over a copy of it."""
    return demo_server


SCHOOL = "school 990001 (northmere-coast)"


def looked_at(page: Page, shots: Path, name: str) -> None:
    """A screenshot to look at, and axe-core's check of the page as it is."""
    page.screenshot(path=shots / f"{name}.png", full_page=True)
    assert serious_violations(page) == [], name


def test_a_school_starts_a_request_and_adds_evidence(web_page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    app = live_server.app
    page = web_page
    sign_in_as(page, live_server, SCHOOL)
    expect(page).to_have_title("Your requests - SEND top-up funding")
    looked_at(page, tmp_path, "01-your-requests")

    page.get_by_role("button", name="Start a request").click()
    expect(page.get_by_role("heading", name="What is the request for?")).to_be_visible()
    page.get_by_role("button", name="Continue").click()  # nothing chosen: the error summary
    expect(page).to_have_title("Error: What is the request for? - SEND top-up funding")
    expect(page.get_by_role("alert")).to_contain_text("Select why your school needs top-up funding")
    looked_at(page, tmp_path, "02-about-error")
    page.get_by_role("radio", name=str(current_financial_year()), exact=False).first.check()
    page.get_by_role("radio", name="Pupils with complex needs").check()
    looked_at(page, tmp_path, "03-about")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Which pupils is the funding for?")).to_be_visible()
    page.get_by_label("How many pupils is it for?").fill("2")
    page.get_by_label("Summarise their needs").fill("Two pupils with hearing loss need interpreters in lessons.")
    looked_at(page, tmp_path, "04-pupils")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="What will the funding pay for?")).to_be_visible()
    page.locator("#category-1").select_option("interpreters")
    page.locator("#amount-1").fill("2,500")
    page.locator("#category-2").select_option("therapies")
    page.locator("#amount-2").fill("1000.50")
    page.get_by_role("button", name="Add another line").click()
    expect(page.locator("#category-4")).to_be_visible()
    expect(page.locator("#amount-1")).to_have_value("2,500")
    page.locator("#amount-3").fill("abc")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose a category for line 3")
    looked_at(page, tmp_path, "05-provision-error")
    page.locator("#amount-3").fill("")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_label("How much top-up funding are you asking for?")).to_have_value("3,500.50")
    looked_at(page, tmp_path, "06-amount")
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_title("Check your answers before submitting your request - SEND top-up funding")
    looked_at(page, tmp_path, "07-check")
    page.get_by_role("link", name="Change number of pupils").click()
    page.get_by_label("How many pupils is it for?").fill("3")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Check your answers")).to_be_visible()
    expect(page.locator(".govuk-summary-list")).to_contain_text("3")
    page.get_by_role("button", name="Submit request").click()

    expect(page.get_by_role("heading", name="Request submitted")).to_be_visible()
    looked_at(page, tmp_path, "08-submitted")
    request_id = UUID(page.url.split("/")[-2])
    made = app.get_request(demo.school("990001"), request_id)
    assert made.pupil_count == 3 and made.amount_requested.pence == 350050

    # Back to the check page: it is not kept (no-store) and the draft was forgotten, so there is
    # nothing to submit twice (tests/web covers a repeated post of the same draft).
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/school/requests/new")
    assert len(app.read_models.list_requests(demo.school("990001")).items) == 3

    page.goto(f"{live_server.url}/school/requests/{request_id.hex}/submitted")
    page.get_by_role("button", name="Add spend evidence").click()
    expect(page.get_by_role("heading", name="Add spend evidence")).to_be_visible()
    page.get_by_label("Your notional SEN budget for the year").fill("18,500")
    page.locator("#category-1").select_option("one_to_one_and_small_group_support")
    page.locator("#amount-1").fill("12400")
    page.locator("#note-1").fill("three teaching assistants")
    document = tmp_path / "sen-spend-summary.pdf"
    document.write_bytes(b"%PDF-1.4 a fictional spend summary\n")
    page.set_input_files("#documents", str(document))
    page.locator("#amount-2").fill("300")  # no category: the error summary, the file already hashed
    page.get_by_role("button", name="Save spend evidence").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose a category for line 2")
    expect(page.get_by_role("checkbox", name="sen-spend-summary.pdf")).to_be_checked()
    looked_at(page, tmp_path, "09-evidence-error")
    page.locator("#amount-2").fill("")
    page.get_by_role("button", name="Save spend evidence").click()

    expect(page.get_by_role("alert", name="Success")).to_contain_text("Spend evidence added")
    looked_at(page, tmp_path, "10-request-evidenced")
    evidence = app.get_request(demo.school("990001"), request_id).evidence
    assert evidence is not None
    assert [(d.name, d.sha256) for d in evidence.documents] == [
        ("sen-spend-summary.pdf", hashlib.sha256(document.read_bytes()).hexdigest())
    ]

    app.request_information(demo.lead("northmere-coast"), request_id, "How many hours a week of interpreting?")
    page.reload()
    expect(page.get_by_role("region", name="Important")).to_contain_text("How many hours a week of interpreting?")
    looked_at(page, tmp_path, "11-request-information-requested")
    page.get_by_role("button", name="Answer the information request").click()
    expect(page).to_have_title("Answer the information request - SEND top-up funding")
    looked_at(page, tmp_path, "12-answer")
    page.locator("#note-1").fill("three teaching assistants; 10 hours a week of interpreting")
    page.get_by_role("button", name="Send your answer").click()
    expect(page.get_by_role("alert", name="Success")).to_contain_text("Your answer was sent to the cluster lead")
    assert app.get_request(demo.school("990001"), request_id).status is RequestStatus.EVIDENCED


def test_a_school_withdraws_a_request(web_page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    app = live_server.app
    own = next(row for row in app.read_models.list_requests(demo.school("990001")).items if row.status == "submitted")
    page = web_page
    sign_in_as(page, live_server, SCHOOL)
    page.get_by_role("link", name=f"Request {own.request_id[:8].upper()}", exact=True).click()
    page.get_by_role("button", name="Withdraw request").click()
    expect(page.get_by_role("heading", name="Withdraw the request")).to_be_visible()
    looked_at(page, tmp_path, "20-withdraw")
    page.get_by_role("button", name="Withdraw request").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter why you are withdrawing the request")
    looked_at(page, tmp_path, "21-withdraw-error")
    page.get_by_label("Why are you withdrawing it?").fill("The pupil moved to another school.")
    page.get_by_role("button", name="Withdraw request").click()
    expect(page.get_by_role("alert", name="Success")).to_contain_text("You withdrew the request")
    expect(page.locator(".govuk-tag").first).to_have_text("Withdrawn")
    looked_at(page, tmp_path, "22-withdrawn")
    assert app.get_request(demo.school("990001"), UUID(own.request_id)).status is RequestStatus.WITHDRAWN
