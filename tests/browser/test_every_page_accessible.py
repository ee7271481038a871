"""axe-core on every page, in every role, on both stores.

The pages are found from the app itself (every GET page route the web adapter serves), so a page
added tomorrow is checked without anyone remembering to. Each role opens every page it may open
(its own section and the request page), with the demo year loaded; a page about one request is
opened for a request on which it shows its form where one exists. The other roles' pages are
refusals, and those are checked once too. No serious or critical violation is allowed anywhere,
and every page has one h1, a title that says where the person is, and breadcrumbs back home.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page

from domain.values import Role
from funding_engine import demo
from tests.browser.conftest import LiveServer, serious_violations, sign_in_as
from tests.web.test_authorisation_matrix import ROLE_PREFIXES, page_routes, role_of
from web.kit import NAVIGATION


@pytest.fixture
def live_server(demo_server: LiveServer) -> LiveServer:
    """Every test here starts from the demo year: the server is over a copy of it."""
    return demo_server


PARAMETER = re.compile(r"\{([a-z_]+)\}")
VISITORS = list(ROLE_PREFIXES.values())
ROLES = {"school": Role.SCHOOL, "lead": Role.CLUSTER_LEAD, "council": Role.COUNCIL, "finance": Role.FINANCE}


def pages_of(server: LiveServer, visitor: str) -> list[str]:
    """The GET page paths ``visitor`` may open: their own section's and the request page."""
    paths = []
    for method, path in page_routes(server.app):
        # Not pages: the home redirects, sign-in's steps go to the provider, a CSV is a download.
        if method != "GET" or path in ("/", "/sign-in/start", "/sign-in/callback") or path.endswith(".csv"):
            continue
        owner = next((label for prefix, label in ROLE_PREFIXES.items() if path.startswith(prefix)), None)
        if owner is None or role_of(owner) == role_of(visitor):
            paths.append(path)
    return paths


def payment_run_with_a_remittance(server: LiveServer) -> dict[str, list[str]]:
    """Issue 13: a payment run of what the demo has due, one line of it paid by a remittance, so the
    run (still open, so its cancel form shows) and the remittance's report have pages to open."""
    app = server.app
    run = app.create_payment_run(demo.FINANCE, "2027-03-31")
    line = run.lines[0]
    remittance = f"reference,amount,date\n{run.line_reference(line.line)},{line.amount},2026-12-07\n"
    report = app.import_remittance(demo.FINANCE, remittance.encode())
    assert report.remittance_id is not None
    return {"number": [str(run.number)], "remittance_id": [report.remittance_id.hex]}


def candidates(server: LiveServer, path: str, visitor: str, made: dict[str, list[str]] | None = None) -> list[str]:
    """Every way to fill the path's parameters with the demo year's values (and ``made``), most useful first."""
    names = PARAMETER.findall(path)
    if not names:
        return [path]
    requests = server.app.read_models.list_requests(demo.COUNCIL).items
    values = {
        "request_id": [row.request_id for row in requests],
        "cluster_id": ["northmere-coast"],
        "school_urn": ["990001"],
        # issue 12: the demo schools' provision maps (2026/27), their lines and published versions
        "academic_year": ["2026-27"],
        "line_number": ["1"],
        "version": ["1"],
        # issue 14: a decision in its context, the demo's council approval first (its page has the most)
        "position": [str(d.position) for d in server.app.replay_decisions(demo.COUNCIL).decisions][::-1][:3]
        if "position" in names
        else [],
        **(made or {}),
    }
    filled = [path]
    for name in names:
        filled = [re.sub(rf"\{{{name}\}}", value, one, count=1) for one in filled for value in values[name]]
    return filled


def check_bearings(page: Page, server: LiveServer, visitor: str) -> None:
    """One h1; a title that names the page and the service; breadcrumbs home, except at home."""
    where = page.url.removeprefix(server.url)
    assert page.locator("h1").count() == 1, where
    heading = page.locator("h1").inner_text().strip()
    title = page.title()
    assert title.endswith(" - SEND top-up funding") and len(title) > len(" - SEND top-up funding") + 3, (where, title)
    home = NAVIGATION[ROLES[role_of(visitor)]][0][0]
    if not where.startswith(home) and not where.startswith("/sign-"):
        crumbs = page.get_by_role("navigation", name="Breadcrumb")
        assert crumbs.get_by_role("link", name="Home").get_attribute("href") == home, (where, heading)


@pytest.mark.parametrize("visitor", VISITORS)
def test_every_page_a_role_opens_has_no_serious_violation(web_page: Page, live_server: LiveServer, visitor, tmp_path):
    made = payment_run_with_a_remittance(live_server) if role_of(visitor) == "finance" else {}
    sign_in_as(web_page, live_server, visitor)
    found: dict[str, list[dict[str, Any]]] = {}
    opened = 0
    for path in pages_of(live_server, visitor):
        urls = candidates(live_server, path, visitor, made)
        # The first fill on which the page answers 200 (its form shown), else the last tried.
        for url in urls:
            answer = web_page.goto(f"{live_server.url}{url}")
            assert answer is not None and answer.status < 500, (visitor, url)
            if answer.status == 200:
                break
        opened += 1
        check_bearings(web_page, live_server, visitor)
        violations = serious_violations(web_page)
        if violations:
            web_page.screenshot(path=tmp_path / f"{opened}.png", full_page=True)
            found[web_page.url] = violations
    assert opened >= 5, f"only {opened} pages found for {visitor}"
    assert found == {}, found


def test_refusal_and_error_pages_have_no_serious_violation(web_page: Page, live_server: LiveServer):
    other = live_server.app.read_models.list_requests(demo.school("990201")).items[0].request_id
    sign_in_as(web_page, live_server, "school 990001 (northmere-coast)")
    for url, status in (
        (f"/funding-requests/{other}", 404),
        ("/council/decisions", 403),
        ("/funding-requests/not-a-request", 404),
    ):
        answer = web_page.goto(f"{live_server.url}{url}")
        assert answer is not None and answer.status == status, url
        assert serious_violations(web_page) == [], url
