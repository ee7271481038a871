"""What the in-process page tests share: a TestClient over the API and the pages, the CSRF token
a page carries, and signing in as a demo user."""

from __future__ import annotations

import re
import warnings

import httpx

with warnings.catch_warnings():
    # Starlette nudges towards httpx2; the TestClient still works with httpx.
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from api.app import create_app
from funding_engine import demo
from funding_engine.application import FundingApplication
from web.app import install

SECRET = "web-pages-test-secret-" + "x" * 32
DEMO_LABELS = [label for label, _ in demo.demo_actors()]


def client_for(app: FundingApplication, *, dev: bool = True) -> TestClient:
    api = create_app(app, jwt_secret=SECRET)
    install(api, app, secret=SECRET, dev_users=demo.demo_actors() if dev else None, secure_cookies=not dev)
    return TestClient(api, base_url="http://127.0.0.1", follow_redirects=False)


def csrf_from(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def signed_in(app: FundingApplication, label: str) -> TestClient:
    """A client signed in as the demo user ``label`` (``"council officer"``, ``"lead, northmere-coast"``)."""
    client = client_for(app)
    token = csrf_from(client.get("/sign-in").text)
    answer = client.post("/sign-in", data={"csrf_token": token, "user": str(DEMO_LABELS.index(label))})
    assert answer.status_code == 303, answer.text
    return client


def post_form(client: TestClient, page_url: str, action: str, data: dict[str, str]) -> httpx.Response:
    """Open ``page_url`` (for its CSRF token), then post ``data`` to ``action`` as its form would."""
    token = csrf_from(client.get(page_url).text)
    return client.post(action, data={"csrf_token": token, **data})
