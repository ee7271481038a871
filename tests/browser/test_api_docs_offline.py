"""``/docs`` and ``/redoc`` render their operations in a real browser with no network beyond the server.

A real ``funding-engine serve`` process, and Debian's Chromium driven by Playwright, with every
request that is not for the server's own origin refused (as a council network refusing a CDN
would), and recorded: a page that asked for anything elsewhere fails the test even if it rendered.
A screenshot of each page is left in the test's folder.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.api.test_server import Server, sqlite_url

# ReDoc's "API docs by Redocly" credit always asks for this image and hides it when it does not
# load; nothing else on either page may come from outside the server.
REDOC_CREDIT_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("docs-server")
    started = Server(folder, sqlite_url(folder)).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def offline_page(browser: Browser, server: Server) -> Iterator[tuple[Page, list[str]]]:
    """A page that may reach the server's origin only; the list collects every other URL it asked for."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    refused: list[str] = []

    def only_the_server(route: Route) -> None:
        url = route.request.url
        if url == server.url or url.startswith(server.url + "/"):
            route.continue_()
        else:
            refused.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", only_the_server)
    page = context.new_page()
    try:
        yield page, refused
    finally:
        context.close()


def test_swagger_ui_at_docs_renders_the_operations_offline(offline_page, server, tmp_path):
    page, refused = offline_page

    page.goto(f"{server.url}/docs")

    submit = page.locator('.opblock-post .opblock-summary-path[data-path="/requests"]')
    expect(submit).to_be_visible(timeout=30_000)
    expect(
        page.locator('.opblock-get .opblock-summary-path[data-path="/clusters/{cluster_id}/budgets/{fy}"]')
    ).to_be_visible()
    expect(page.locator(".title")).to_contain_text("SEND top-up funding engine")
    submit.scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "docs.png", full_page=False)
    assert refused == [], f"/docs asked for files outside the server: {refused}"


def test_redoc_renders_the_operations_offline(offline_page, server, tmp_path):
    page, refused = offline_page

    page.goto(f"{server.url}/redoc")

    # ReDoc lists each operation in its menu and shows its method and path beside the description.
    expect(page.get_by_role("heading", name="SEND top-up funding engine")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("/requests", exact=True).first).to_be_attached()
    submit = page.get_by_text("A school asks its cluster for top-up funding.").first
    expect(submit).to_be_visible()
    submit.scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "redoc.png", full_page=False)
    assert [url for url in refused if url != REDOC_CREDIT_LOGO] == [], f"/redoc asked outside the server: {refused}"


def test_the_documentation_files_are_served_by_the_server_itself(server):
    with server.client() as client:
        for name, kind in [
            ("swagger-ui-bundle.js", "javascript"),
            ("swagger-ui.css", "text/css"),
            ("redoc.standalone.js", "javascript"),
        ]:
            answer = client.get(f"/docs/assets/{name}")
            assert answer.status_code == 200, name
            assert kind in answer.headers["content-type"], (name, answer.headers["content-type"])
        assert "/docs/assets/" not in client.get("/openapi.json").text, "the files are not API operations"
