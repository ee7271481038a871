"""The web pages in process, on SQLite and on PostgreSQL: the demo sign-in, its CSRF check, the
school's requests from the read models, and what a server outside development offers."""

from __future__ import annotations

import pytest

from funding_engine import demo
from funding_engine.application import FundingApplication
from tests.web.pages import client_for, csrf_from
from web.app import money
from web.session import CSRF_COOKIE, SESSION_COOKIE

SCHOOL_990001 = 4  # its place in demo.demo_actors()


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def test_money_is_pounds_with_thousands():
    shown = [money(pence) for pence in (0, 5, 123456, 100000000, -4200)]
    assert shown == ["£0.00", "£0.05", "£1,234.56", "£1,000,000.00", "-£42.00"]


def test_a_school_signs_in_and_sees_its_own_requests(loaded):
    client = client_for(loaded, dev=True)
    assert client.get("/").headers["location"] == "/sign-in"
    page = client.get("/sign-in")
    assert page.status_code == 200
    assert "<title>Sign in - SEND top-up funding</title>" in page.text
    for label, _ in demo.demo_actors():
        assert f"Sign in as {label}" in page.text

    signed_in = client.post("/sign-in", data={"csrf_token": csrf_from(page.text), "user": str(SCHOOL_990001)})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/school/requests"
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # development only

    assert client.get("/").headers["location"] == "/school/requests"
    home = client.get("/school/requests")
    assert home.status_code == 200, home.text
    assert "Your requests" in home.text
    own = loaded.read_models.list_requests(demo.school("990001")).items
    assert len(own) == 2
    for row in own:
        assert row.request_id[:8].upper() in home.text
        assert money(row.amount_requested) in home.text
    assert "£4,200.00" in home.text and "£8,000.00" in home.text
    assert "govuk-tag" in home.text and "Submitted" in home.text
    assert "990201" not in home.text and "£9,500.00" not in home.text  # another school's request


def test_each_role_goes_home_to_its_own_first_page(loaded):
    for user, home in ((0, "/council/escalations"), (1, "/finance/balances"), (2, "/cluster/queue")):
        client = client_for(loaded, dev=True)
        page = client.get("/sign-in")
        client.post("/sign-in", data={"csrf_token": csrf_from(page.text), "user": str(user)})
        assert client.get("/").headers["location"] == home
        assert client.get(home).status_code == 200
        assert client.get("/school/requests").status_code == 403  # another role's page


def test_a_sign_in_without_a_valid_csrf_token_changes_nothing(loaded):
    client = client_for(loaded, dev=True)
    client.get("/sign-in")  # the browser holds a CSRF cookie
    for data in ({"user": "4"}, {"user": "4", "csrf_token": "forged"}):
        answer = client.post("/sign-in", data=data)
        assert answer.status_code == 403
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
        assert client.get("/school/requests").status_code == 303  # still signed out
    stranger = client_for(loaded, dev=True)  # a token from another browser's page does not fit this one's cookie
    token = csrf_from(client.get("/sign-in").text)
    stranger.cookies.clear()
    assert stranger.post("/sign-in", data={"csrf_token": token, "user": "4"}).status_code == 403


def test_sign_out_needs_the_token_and_ends_the_session(loaded):
    client = client_for(loaded, dev=True)
    client.post("/sign-in", data={"csrf_token": csrf_from(client.get("/sign-in").text), "user": "4"})
    assert client.get("/school/requests").status_code == 200
    assert client.post("/sign-out", data={}).status_code == 403
    assert client.get("/school/requests").status_code == 200
    out = client.post("/sign-out", data={"csrf_token": csrf_from(client.get("/sign-out").text)})
    assert out.status_code == 303
    assert client.get("/school/requests").headers["location"] == "/sign-in?next=%2Fschool%2Frequests"


def test_a_tampered_session_cookie_is_ignored(loaded):
    client = client_for(loaded, dev=True)
    client.post("/sign-in", data={"csrf_token": csrf_from(client.get("/sign-in").text), "user": "4"})
    value = client.cookies[SESSION_COOKIE]
    body, mac = value.split(".")
    client.cookies.set(SESSION_COOKIE, body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac)
    assert client.get("/school/requests").status_code == 303


def test_outside_development_there_is_no_sign_in(loaded):
    client = client_for(loaded, dev=False)
    assert client.get("/sign-in").status_code == 404
    assert client.post("/sign-in", data={"user": "4"}).status_code == 404
    assert client.get("/").status_code == 401
    assert CSRF_COOKIE in client.get("/sign-out").headers["set-cookie"]
    assert "Secure" in client.get("/sign-out").headers.get("set-cookie", "Secure")


def test_the_api_document_has_no_web_page(loaded):
    paths = client_for(loaded, dev=True).get("/openapi.json").json()["paths"]
    assert not {"/", "/sign-in", "/sign-out"} & set(paths)
    assert not any(path.startswith("/assets") for path in paths)
