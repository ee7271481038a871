"""The pages' authorisation matrix, as the API has one: every page route the web adapter serves,
found from the app itself (so a new page is covered the day it is added), against every kind of
visitor. On both stores.

- Signed out: every page sends the visitor to sign in and changes nothing.
- A role's pages (``/school/``, ``/cluster/``, ``/council/``, ``/finance/``) answer 403 to the
  other roles, for a GET and for a form post with a valid CSRF token, and change nothing.
- A page about one request answers 404 to a school or a lead it does not belong to (another
  school's request does not exist for them), and changes nothing when posted to.
- A form post without a valid CSRF token changes nothing, whoever posts it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute

from funding_engine import demo
from funding_engine.application import FundingApplication
from tests.web.pages import DEMO_LABELS, client_for, csrf_from, signed_in
from web.kit import PageRoute

ROLE_PREFIXES = {
    "/school/": "school 990001 (northmere-coast)",
    "/cluster/": "lead, northmere-coast",
    "/council/": "council officer",
    "/finance/": "finance officer",
}
# Pages anyone may open without signing in: signing in, and the public Local Offer (issue 12).
OPEN_PAGES = {
    "/sign-in",
    "/sign-in/start",
    "/sign-in/callback",
    "/sign-out",
    "/local-offer",
    "/local-offer/report-a-broken-link/{school_urn}",
    "/local-offer/report-a-broken-link/{school_urn}/sent",
}


def page_routes(app: FundingApplication) -> Iterator[tuple[str, str]]:
    """(method, path template) of every page route, from the app the server builds."""
    routes = list(client_for(app).app.routes)  # type: ignore[attr-defined]
    while routes:
        route = routes.pop(0)
        # FastAPI keeps an included router whole (its routes under ``original_router``).
        included = getattr(route, "original_router", None)
        if included is not None:
            routes.extend(included.routes)
        elif isinstance(route, APIRoute) and isinstance(route, PageRoute):
            for method in sorted(route.methods or ()):
                yield method, route.path


def filled(path: str, request_id: str) -> str:
    """The path with its parameters filled: any ``{..._id}`` is the request under test."""
    return re.sub(r"\{[a-z_]+\}", request_id, path)


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def head(app: FundingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def role_of(label: str) -> str:
    """The demo user's role, from its label (``"lead, northmere-coast"`` is a lead)."""
    return label.split(" ")[0].rstrip(",")


def owner_of(path: str) -> str | None:
    return next((label for prefix, label in ROLE_PREFIXES.items() if path.startswith(prefix)), None)


def test_every_page_route_is_covered_by_a_rule(loaded):
    routes = list(page_routes(loaded))
    assert ("GET", "/funding-requests/{request_id}") in routes
    for _, path in routes:
        assert path in OPEN_PAGES or path == "/" or owner_of(path) or path.startswith("/funding-requests/"), path


def test_signed_out_visitors_are_sent_to_sign_in_and_change_nothing(loaded):
    client = client_for(loaded)
    token = csrf_from(client.get("/sign-in").text)
    request_id = loaded.read_models.list_requests(demo.COUNCIL).items[0].request_id
    before = head(loaded)
    for method, path in page_routes(loaded):
        if path in OPEN_PAGES or path == "/":
            continue
        url = filled(path, request_id)
        answer = client.request(method, url, data={"csrf_token": token} if method == "POST" else None)
        assert answer.status_code == 303, (method, url, answer.status_code)
        assert answer.headers["location"].startswith("/sign-in?next="), (method, url)
    assert head(loaded) == before


@pytest.mark.parametrize("visitor", DEMO_LABELS)
def test_each_role_reaches_only_its_own_pages(loaded, visitor):
    client = signed_in(loaded, visitor)
    # A request of school 990201 (marshfield-vale): outside the scope of school 990001 and of the
    # northmere-coast lead, inside the council's and finance's.
    other = loaded.read_models.list_requests(demo.school("990201")).items[0].request_id
    out_of_scope = visitor in ("school 990001 (northmere-coast)", "lead, northmere-coast")
    token = csrf_from(client.get("/sign-out").text)
    before = head(loaded)
    for method, path in page_routes(loaded):
        if path in OPEN_PAGES or path == "/":
            continue
        url = filled(path, other)
        answer = client.request(method, url, data={"csrf_token": token} if method == "POST" else None)
        assert answer.status_code < 500, (visitor, method, url, answer.status_code)
        owner = owner_of(path)
        if owner is not None and role_of(owner) != role_of(visitor):
            assert answer.status_code == 403, (visitor, method, url, answer.status_code)
        elif "{" in path and out_of_scope:
            assert answer.status_code == 404, (visitor, method, url, answer.status_code)
    assert head(loaded) == before, "a visitor changed something where they may not"


@pytest.mark.parametrize("visitor", DEMO_LABELS)
def test_a_form_post_without_a_valid_csrf_token_changes_nothing(loaded, visitor):
    client = signed_in(loaded, visitor)
    own = loaded.read_models.list_requests(demo.COUNCIL).items
    before = head(loaded)
    for method, path in page_routes(loaded):
        if method != "POST" or path == "/sign-in":
            continue
        for request_id in {row.request_id for row in own}:
            url = filled(path, request_id)
            for data in ({}, {"csrf_token": "forged"}):
                answer = client.post(url, data=data)
                assert answer.status_code == 403, (visitor, url, data, answer.status_code)
            if "{" not in path:
                break
    assert head(loaded) == before
