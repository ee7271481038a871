"""Sign-in in Chromium through a real OpenID Provider's own login and consent pages (``oidc-provider``
run with Node), against a live server on SQLite and on PostgreSQL: a cluster lead signs in, works,
and signs out; a member of staff with no role in the service is refused with a clear page. axe-core
checks the sign-in pages; screenshots are left in the test's folder.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Route, expect

from api.app import create_app
from domain.values import Actor, ClusterId, Role
from funding_engine import demo
from funding_engine.application import FundingApplication
from tests.browser.conftest import SECRET, serious_violations
from tests.oidc.provider import OpenIDProvider, free_port, running_provider
from web.app import install
from web.kit import Kit

LEE = Actor("lee.lead", Role.CLUSTER_LEAD, cluster_id=ClusterId.parse("northmere-coast"))  # provider.mjs's


@dataclass
class Site:
    url: str
    app: FundingApplication
    provider: OpenIDProvider
    kit: Kit


@pytest.fixture
def site(demo_app: FundingApplication, tmp_path: Path) -> Iterator[Site]:
    """The engine, over a copy of the demo year, on a port chosen first (the provider must know where
    to send people back), signing people in with the provider only: no demo list."""
    app = demo_app
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running_provider([f"{url}/sign-in/callback"], tmp_path) as provider:
        api = create_app(app, jwt_secret=SECRET)
        kit = install(api, app, secret=SECRET, oidc=provider.settings(url), secure_cookies=False)
        server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the live server did not start"
            time.sleep(0.02)
        try:
            yield Site(url, app, provider, kit)
        finally:
            server.should_exit = True
            thread.join(timeout=20)


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    elsewhere: list[str] = []
    allowed = (site.url, site.provider.issuer)

    def only_here(route: Route) -> None:
        # The provider's development login page asks for a web font; nothing is fetched from outside.
        request = route.request
        if request.url.startswith(allowed):
            route.continue_()
            return
        if request.frame.url.startswith(site.url):
            elsewhere.append(request.url)  # our own pages must never ask
        route.abort()

    context.route("**/*", only_here)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()
    assert elsewhere == [], f"our pages asked for files elsewhere: {elsewhere}"


def through_the_provider(page: Page, site: Site, login: str) -> None:
    """On the provider's own pages: type the account and a password, then agree to share the claims."""
    page.wait_for_url(f"{site.provider.issuer}/interaction/**")
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("any password will do")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(f"{site.provider.issuer}/interaction/**")
    page.get_by_role("button", name="Continue").click()


def test_a_cluster_lead_signs_in_through_the_provider_works_and_signs_out(page, site, tmp_path):
    page.goto(f"{site.url}/cluster/queue")
    expect(page).to_have_url(f"{site.url}/sign-in?next=%2Fcluster%2Fqueue")
    expect(page).to_have_title("Sign in - SEND top-up funding")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    page.screenshot(path=tmp_path / "oidc-sign-in-start.png", full_page=True)
    assert serious_violations(page) == []

    page.get_by_role("button", name="Sign in", exact=True).click()
    through_the_provider(page, site, "lee.lead")

    expect(page).to_have_url(f"{site.url}/cluster/queue")
    expect(page).to_have_title("Work queue - SEND top-up funding")
    page.screenshot(path=tmp_path / "oidc-signed-in-lead.png", full_page=True)
    signed_in = site.app.sign_ins(demo.COUNCIL)
    assert [(e.event, e.actor, e.method) for e in signed_in] == [("signed in", LEE, "oidc")]

    page.get_by_role("link", name="Sign out").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{site.url}/sign-in")
    expect(page.get_by_text("You have signed out")).to_be_visible()
    page.goto(f"{site.url}/cluster/queue")
    expect(page).to_have_url(f"{site.url}/sign-in?next=%2Fcluster%2Fqueue")
    newest = site.app.sign_ins(demo.COUNCIL)[0]
    assert (newest.event, newest.actor, newest.reason) == ("signed out", LEE, "signed out")


def test_staff_with_no_role_in_the_service_are_refused_with_a_clear_page(page, site, tmp_path):
    page.goto(f"{site.url}/")
    expect(page).to_have_url(f"{site.url}/sign-in")
    page.get_by_role("button", name="Sign in", exact=True).click()
    through_the_provider(page, site, "nora.norole")

    assert page.url.startswith(f"{site.url}/sign-in/callback?")
    expect(page).to_have_title("You could not be signed in - SEND top-up funding")
    expect(page.get_by_role("heading", name="You could not be signed in")).to_be_visible()
    expect(page.get_by_text("Your account is not set up for this service")).to_be_visible()
    page.screenshot(path=tmp_path / "oidc-refused.png", full_page=True)
    assert serious_violations(page) == []
    page.goto(f"{site.url}/")
    expect(page).to_have_url(f"{site.url}/sign-in")
    assert site.app.sign_ins(demo.COUNCIL) == []


def test_a_session_left_idle_ends_and_the_sign_in_page_says_so(page, site, tmp_path):
    page.goto(f"{site.url}/sign-in")
    page.get_by_role("button", name="Sign in", exact=True).click()
    through_the_provider(page, site, "fin.finance")
    expect(page).to_have_url(f"{site.url}/finance/balances")

    site.kit.signer.idle_seconds = 1  # the setting, turned down so the test need not wait half an hour
    time.sleep(2)
    page.reload()
    expect(page).to_have_url(f"{site.url}/sign-in?next=%2Ffinance%2Fbalances")
    expect(page.get_by_text("Your session timed out after 1 second without activity")).to_be_visible()
    page.screenshot(path=tmp_path / "oidc-timed-out.png", full_page=True)
    assert serious_violations(page) == []
    newest = site.app.sign_ins(demo.COUNCIL)[0]
    assert (newest.event, newest.actor.sub, newest.reason) == ("signed out", "fin.finance", "idle timeout")


def test_the_council_reads_who_signed_in(page, site, tmp_path):
    page.goto(f"{site.url}/council/sign-ins")
    page.get_by_role("button", name="Sign in", exact=True).click()
    through_the_provider(page, site, "cass.council")

    expect(page).to_have_url(f"{site.url}/council/sign-ins")
    expect(page).to_have_title("Sign-ins and sign-outs - SEND top-up funding")
    expect(page.get_by_role("heading", name="Sign-ins and sign-outs")).to_be_visible()
    row = page.get_by_role("row").nth(1)
    expect(row).to_contain_text("Signed in")
    expect(row).to_contain_text("cass.council")
    expect(row).to_contain_text("Identity provider")
    expect(page.get_by_role("link", name="Home")).to_have_attribute("href", "/council/escalations")
    page.screenshot(path=tmp_path / "council-sign-ins.png", full_page=True)
    assert serious_violations(page) == []
