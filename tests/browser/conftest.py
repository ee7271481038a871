"""What every browser test stands on: Debian's Chromium, launched once per module by Playwright;
a live server on the test's own store (SQLite and PostgreSQL) with the demo sign-in; axe-core."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from api.app import create_app
from funding_engine import demo
from funding_engine.application import FundingApplication
from web.app import install

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; .ci/run installs it. Playwright's own download is not used.
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # npm ci, as package-lock.json pins it
SECRET = "browser-tests-secret-" + "x" * 32


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install chromium (as .ci/run does)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class LiveServer:
    """A real HTTP server (uvicorn, in a thread of this process) serving the API and the pages."""

    url: str
    app: FundingApplication


@pytest.fixture
def live_server(app: FundingApplication) -> Iterator[LiveServer]:
    """The pages and the API over ``app`` (parametrised over both stores), with the demo sign-in."""
    with serving(app) as server:
        yield server


@pytest.fixture
def demo_server(demo_app: FundingApplication) -> Iterator[LiveServer]:
    """The same over the test's own copy of the demo year (tests/demo_copies.py).

    A module whose every test starts from the demo makes it its ``live_server`` (and so ``web_page``'s).
    """
    with serving(demo_app) as server:
        yield server


@contextmanager
def serving(app: FundingApplication) -> Iterator[LiveServer]:
    api = create_app(app, jwt_secret=SECRET)
    install(api, app, secret=SECRET, dev_users=demo.demo_actors(), secure_cookies=False)
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the live server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def web_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh browser context on the live server; fails if a page asks for anything elsewhere."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    outside: list[str] = []
    context.on(
        "request",
        lambda request: None if request.url.startswith(live_server.url) else outside.append(request.url),
    )
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()
    assert outside == [], f"the pages asked for files outside the server: {outside}"


def sign_in_as(page: Page, server: LiveServer, label: str) -> None:
    """Sign in from the demo list (``"council officer"``, ``"lead, northmere-coast"``, ...)."""
    page.context.clear_cookies()
    page.goto(f"{server.url}/sign-in")
    page.get_by_role("button", name=f"Sign in as {label}", exact=True).click()


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.2 AA rules)."""
    assert AXE.is_file(), f"{AXE} is missing: run `npm ci` (make test does)"
    page.add_script_tag(path=str(AXE))
    results: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    assert results["passes"], "axe-core checked nothing"
    return [
        {"id": found["id"], "impact": found["impact"], "nodes": [node["target"] for node in found["nodes"]]}
        for found in results["violations"]
        if found["impact"] in ("serious", "critical")
    ]
