"""Each role's menu: short enough for one line, the council's school pages gathered behind one
"Schools" landing page, and every page still at its own address, lit in the menu and in the
breadcrumbs as under its landing page. On both stores."""

from __future__ import annotations

import re

import pytest

from domain.values import Role
from funding_engine.application import FundingApplication
from tests.web.pages import signed_in
from web.kit import HUBS, NAVIGATION, menu_item_of

COUNCIL_HUB = "/council/schools-hub"
GATHERED = ["/council/schools", "/council/provision-maps", "/council/local-offer", "/council/needs-overview"]


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def lit(page: str) -> list[str]:
    """The menu items marked as where the person is."""
    return re.findall(r'href="([^"]+)"\s+aria-current="(?:page|true)"', page)


def crumbs(page: str) -> list[str]:
    found = re.search(r'<nav class="govuk-breadcrumbs[^>]*>(.*?)</nav>', page, re.DOTALL)
    return re.findall(r'href="([^"]+)"', found.group(1)) if found else []


@pytest.mark.parametrize("role", list(Role))
def test_no_role_has_more_than_six_menu_items_so_the_menu_fits_one_line_with_sign_out(role):
    assert len(NAVIGATION[role]) <= 6


def test_the_councils_school_pages_are_gathered_behind_its_schools_landing_page():
    assert ("/council/schools-hub", "Schools") in NAVIGATION[Role.COUNCIL]
    assert [link.href for link in HUBS[COUNCIL_HUB]] == GATHERED
    for path in GATHERED:
        assert not any(href == path for href, _ in NAVIGATION[Role.COUNCIL])


@pytest.mark.parametrize(
    "path, item",
    [
        ("/council/schools", COUNCIL_HUB),
        ("/council/schools/990001", COUNCIL_HUB),
        ("/council/local-offer/990001/audit", COUNCIL_HUB),
        ("/council/schools-hub", COUNCIL_HUB),
        ("/council/clusters/northmere-coast", "/council/clusters"),
        ("/council/elsewhere", None),
    ],
)
def test_a_page_lights_the_menu_item_that_leads_to_it(path, item):
    found = menu_item_of(NAVIGATION[Role.COUNCIL], path)
    assert (found[0] if found else None) == item


def test_the_schools_landing_page_links_every_page_it_gathers(loaded):
    page = signed_in(loaded, "council officer").get(COUNCIL_HUB)
    assert page.status_code == 200
    assert '<h1 class="govuk-heading-l">Schools</h1>' in page.text
    assert lit(page.text) == [COUNCIL_HUB]
    assert crumbs(page.text) == ["/council/escalations"]
    for path in GATHERED:
        assert f'href="{path}"' in page.text


@pytest.mark.parametrize("path", [*GATHERED, "/council/schools/990001", "/council/local-offer/990001"])
def test_a_gathered_page_keeps_its_address_and_sits_under_schools(loaded, path):
    page = signed_in(loaded, "council officer").get(path)
    assert page.status_code == 200, path
    assert lit(page.text) == [COUNCIL_HUB]
    assert crumbs(page.text)[:2] == ["/council/escalations", COUNCIL_HUB]


@pytest.mark.parametrize("visitor", ["lead, northmere-coast", "school 990001 (northmere-coast)", "finance officer"])
def test_only_the_council_opens_its_landing_page(loaded, visitor):
    assert signed_in(loaded, visitor).get(COUNCIL_HUB).status_code == 403
