"""Each role's menu in Chromium at desktop width (1280 pixels wide) is one line, on both stores."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import LiveServer, sign_in_as
from tests.web.test_authorisation_matrix import ROLE_PREFIXES


@pytest.fixture
def live_server(demo_server: LiveServer) -> LiveServer:
    """Every test here starts from the demo year: the server is over a copy of it."""
    return demo_server


@pytest.mark.parametrize("visitor", list(ROLE_PREFIXES.values()))
def test_a_roles_menu_fits_on_one_line_at_desktop_width(web_page: Page, live_server: LiveServer, visitor, tmp_path):
    sign_in_as(web_page, live_server, visitor)
    items = web_page.locator(".govuk-service-navigation__item")
    tops = {round(box["y"]) for box in (items.nth(i).bounding_box() for i in range(items.count())) if box}
    web_page.screenshot(path=tmp_path / "menu.png")
    assert items.count() >= 4 and len(tops) == 1, (visitor, tops)
