"""The web pages in Chromium, served by a real ``funding-engine serve --dev``: a school signs in from
the demo list and sees its requests; a forged sign-in changes nothing; axe-core finds no serious or
critical accessibility violation. Screenshots are left in the test's folder.

Development mode serves its own SQLite file (it refuses a configured database), so this runs on
SQLite; tests/web/test_pages.py runs the same pages in process on both stores.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api.test_server import Server
from tests.browser.conftest import serious_violations


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("web-dev-server")
    started = Server(folder, None, dev=True, secret=None).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    outside: list[str] = []
    context.on("request", lambda request: None if request.url.startswith(server.url) else outside.append(request.url))
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()
    assert outside == [], f"the pages asked for files outside the server: {outside}"


def test_a_school_signs_in_and_sees_its_requests(page, server, tmp_path):
    page.goto(f"{server.url}/")
    expect(page).to_have_url(f"{server.url}/sign-in")
    expect(page).to_have_title("Sign in - SEND top-up funding")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Skip to main content")).to_be_attached()
    page.screenshot(path=tmp_path / "sign-in.png", full_page=True)
    assert serious_violations(page) == []

    page.get_by_role("button", name="Sign in as school 990001 (northmere-coast)").click()

    expect(page).to_have_url(f"{server.url}/school/requests")
    expect(page).to_have_title("Your requests - SEND top-up funding")
    expect(page.get_by_role("heading", name="Your requests")).to_be_visible()
    table = page.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(3)  # the header and the school's two requests
    expect(table).to_contain_text("£4,200.00")
    expect(table).to_contain_text("£8,000.00")
    expect(table.locator(".govuk-tag")).to_have_count(2)
    expect(table).to_contain_text("Submitted")
    expect(table).to_contain_text("Approved by cluster")
    expect(table).not_to_contain_text("£9,500.00")  # another school's
    page.screenshot(path=tmp_path / "home-school.png", full_page=True)
    assert serious_violations(page) == []

    page.get_by_role("link", name="Sign out").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/sign-in")
    page.goto(f"{server.url}/")
    expect(page).to_have_url(f"{server.url}/sign-in")


def test_a_sign_in_posted_without_a_valid_csrf_token_changes_nothing(page, server, tmp_path):
    page.goto(f"{server.url}/sign-in")
    page.locator('input[name="csrf_token"]').evaluate("input => { input.value = 'forged' }")
    page.get_by_role("button", name="Sign in as school 990001 (northmere-coast)").click()

    expect(page.get_by_role("heading", name="The form had expired")).to_be_visible()
    assert not [cookie for cookie in page.context.cookies() if cookie["name"] == "fe_session"]
    page.screenshot(path=tmp_path / "forged-sign-in.png", full_page=True)
    page.goto(f"{server.url}/")
    expect(page).to_have_url(f"{server.url}/sign-in")

    with server.client() as client:  # no cookie and no token at all
        answer = client.post("/sign-in", data={"user": "4"})
        assert answer.status_code == 403
        assert "fe_session" not in answer.headers.get("set-cookie", "")


def test_the_session_cookie_is_http_only_and_same_site_lax(page, server):
    page.goto(f"{server.url}/sign-in")
    page.get_by_role("button", name="Sign in as council officer").click()
    expect(page.get_by_role("heading", name="Escalations awaiting decision")).to_be_visible()
    (session,) = [cookie for cookie in page.context.cookies() if cookie["name"] == "fe_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert not session["secure"]  # development serves plain HTTP; outside dev it is Secure
