"""The main journey by keyboard alone, on both stores: a school submits a request and shows its
spend, then the lead approves it, with nothing but Tab, arrow keys, Space, Enter and typing.

Each control is reached by pressing Tab (never by a click or a locator's focus), so the test fails
if a control cannot be reached in order, and every focused control must show a visible focus
indicator (WCAG 2.2, 2.4.7).
"""

from __future__ import annotations

from uuid import UUID

import pytest
from playwright.sync_api import Page, expect

from funding_engine import demo
from funding_engine.application.calendar import current_financial_year
from tests.browser.conftest import LiveServer


@pytest.fixture
def live_server(demo_server: LiveServer) -> LiveServer:
    """Every test here starts from the demo year: the server is over a copy of it."""
    return demo_server


MAX_TABS = 80
# The accessible name of the focused element, near enough: its label, its text or its value.
FOCUSED_NAME = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return '';
  const label = e.labels && e.labels.length ? e.labels[0].innerText : '';
  return (e.getAttribute('aria-label') || label || e.innerText || e.value || '').trim();
}"""
FOCUS_VISIBLE = """() => {
  const s = getComputedStyle(document.activeElement);
  return (s.outlineStyle !== 'none' && s.outlineWidth !== '0px') || s.boxShadow !== 'none'
    || s.backgroundColor === 'rgb(255, 221, 0)';
}"""


def tab_to(page: Page, name: str) -> None:
    """Press Tab until the focused control's name starts with ``name``; it must show its focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED_NAME).startswith(name):
            assert page.evaluate(FOCUS_VISIBLE), f"{name!r} has focus but shows no focus indicator"
            return
    raise AssertionError(f"{name!r} was not reached in {MAX_TABS} presses of Tab")


def arrow_to(page: Page, name: str) -> None:
    """Inside a group of radios, move with the arrow keys (which also choose) until ``name``."""
    for _ in range(12):
        if page.evaluate(FOCUSED_NAME).startswith(name):
            page.keyboard.press("Space")
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"radio {name!r} was not reached with the arrow keys")


def follow(page: Page) -> None:
    """Press Enter on the focused link or button, and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def type_into(page: Page, name: str, text: str) -> None:
    tab_to(page, name)
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(text)


def sign_in(page: Page, server: LiveServer, label: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{server.url}/sign-in")  # typed into the address bar
    tab_to(page, f"Sign in as {label}")
    follow(page)


def test_submit_then_approve_by_keyboard_alone(web_page: Page, live_server: LiveServer):
    page, server, app = web_page, live_server, live_server.app
    year = str(current_financial_year())

    sign_in(page, server, "school 990001 (northmere-coast)")
    tab_to(page, "Start a request")
    follow(page)
    expect(page.get_by_role("heading", name="What is the request for?")).to_be_visible()
    tab_to(page, year)
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # into the reasons
    arrow_to(page, "Pupils with complex needs")
    tab_to(page, "Continue")
    follow(page)

    type_into(page, "How many pupils is it for?", "1")
    type_into(page, "Summarise their needs", "One pupil needs an interpreter in lessons.")
    tab_to(page, "Continue")
    follow(page)

    expect(page.get_by_role("heading", name="What will the funding pay for?")).to_be_visible()
    tab_to(page, "Category")
    page.keyboard.type("Interpreters")
    type_into(page, "Amount", "2,750")
    tab_to(page, "Continue")
    follow(page)
    tab_to(page, "Continue")  # the amount asked for: the lines' total, already filled in
    follow(page)

    expect(page.get_by_text("Check your answers")).to_be_visible()
    tab_to(page, "Submit request")
    follow(page)
    expect(page.get_by_role("heading", name="Request submitted")).to_be_visible()
    request_id = page.url.split("/school/requests/")[1].split("/")[0]

    tab_to(page, "Add spend evidence")
    follow(page)
    type_into(page, "Your notional SEN budget for the year", "18,500")
    tab_to(page, "Category")
    page.keyboard.type("One-to-one")
    type_into(page, "Amount", "12,400")
    tab_to(page, "Save spend evidence")
    follow(page)
    expect(page.get_by_role("alert", name="Success")).to_contain_text("Spend evidence added")

    sign_in(page, server, "lead, northmere-coast")
    tab_to(page, request_id[:8].upper())
    follow(page)
    expect(page.get_by_role("heading", name=f"Request {request_id[:8].upper()}")).to_be_visible()
    tab_to(page, "Approve")
    follow(page)
    expect(page.get_by_label("Amount to approve")).to_have_value("2750.00")
    type_into(page, "Why you are approving it", "Spend evidence shows the school's own funds are used.")
    tab_to(page, "Approve the request")
    follow(page)
    expect(page.get_by_role("alert", name="Success")).to_contain_text("You approved £2,750.00")

    approved = app.get_request(demo.COUNCIL, UUID(request_id))
    assert approved.status.value == "cluster_approved" and approved.amount_approved.pence == 2_750_00
